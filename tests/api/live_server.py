"""The API served by uvicorn on a free loopback port, in a thread, for tests that need a
real HTTP server (the browser test, the load test); and the real ``billing serve`` command
in a subprocess, for tests that read its output or kill it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import uvicorn
from sqlalchemy import Engine

from billing.api import create_app


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def serving(engine: Engine) -> Iterator[str]:
    """Yield the base URL while uvicorn serves the app; stop it afterwards."""
    port = free_port()
    config = uvicorn.Config(create_app(engine), host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:  # start-up, not an assertion: wait until it listens
        if not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join()


@dataclass
class Served:
    """A ``billing serve`` process: its base URL, the process, and the file that receives
    everything it prints (stdout and stderr, uvicorn's access log included)."""

    base: str
    process: subprocess.Popen[bytes]
    output: Path

    def text(self) -> str:
        return self.output.read_text(errors="replace")


BILLING = Path(sys.executable).parent / "billing"


@contextmanager
def billing_serve(db_url: str, output: Path, *options: str) -> Iterator[Served]:
    """Run the real ``billing --db URL serve`` on a free loopback port until the block ends
    (then SIGTERM, SIGKILL after 10 s). ``output`` is appended to, so a restart adds to it."""
    port = free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with output.open("ab") as sink:
        process = subprocess.Popen(
            [str(BILLING), "--db", db_url, "serve", "--host", "127.0.0.1", "--port", str(port), *options],
            stdout=sink,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
        )
    served = Served(f"http://127.0.0.1:{port}", process, output)
    try:
        deadline = time.monotonic() + 60
        while True:  # start-up, not an assertion: wait until it listens
            if process.poll() is not None:
                raise RuntimeError(f"billing serve exited with {process.returncode}: {served.text()[-2000:]}")
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"billing serve did not listen within 60 s: {served.text()[-2000:]}")
            time.sleep(0.05)
        yield served
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
