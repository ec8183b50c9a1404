"""Reading overlapped with writing, and the progress bar.

A reader thread reads and validates the next chunk while the current one is written:
sqlite3 releases the GIL inside ``sqlite3_step`` and psycopg while PostgreSQL works, so the
Python side and the database share the machine's cores. At most two prepared chunks wait in
the hand-off queue, so memory stays flat whatever the file's size.
"""

from __future__ import annotations

import queue
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from billing.ingest.files import RowSource
from billing.problems import Problem

#: Rows as read: (line number, values in the kind's column order, raw row).
Chunk = list[tuple[int, tuple[str, ...], Any]]
ProgressCallback = Callable[[int], None]


@dataclass
class PreparedChunk:
    """One chunk read and validated: rows ready to store, rejected rows ready to keep."""

    good: list[tuple[Any, ...]]
    bad: list[dict[str, Any]]
    problems: list[Problem]
    position: int


@contextmanager
def prepared_chunks(
    rows: RowSource, prepare: Callable[[Chunk], PreparedChunk], size: int
) -> Iterator[Iterator[PreparedChunk]]:
    """Chunks of ``size`` rows read and prepared by a background thread, handed over through a
    short queue; leaving the block (normally or not) stops and joins the thread."""
    handoff: queue.Queue[PreparedChunk | BaseException | None] = queue.Queue(maxsize=2)
    stop = threading.Event()

    def produce() -> None:
        try:
            for chunk in chunks(rows, size):
                item = prepare(chunk)
                while not stop.is_set():
                    try:
                        handoff.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            handoff.put(None)
        except BaseException as exc:  # handed to the consumer, which raises it
            handoff.put(exc)

    def consume() -> Iterator[PreparedChunk]:
        while True:
            item = handoff.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield item

    worker = threading.Thread(target=produce, name="import-reader", daemon=True)
    worker.start()
    try:
        yield consume()
    finally:
        stop.set()
        while worker.is_alive():
            with suppress(queue.Empty):
                handoff.get(timeout=0.1)
        worker.join()


def chunks(rows: RowSource, size: int) -> Iterator[Chunk]:
    chunk: Chunk = []
    for item in rows.rows():
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


@contextmanager
def progress_bar(path: Path, wanted: bool | None) -> Iterator[ProgressCallback]:
    """A rich progress bar over the file's bytes, only when stderr is a terminal."""
    show = sys.stderr.isatty() if wanted is None else wanted
    if not show:
        yield lambda _done: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn

    total = path.stat().st_size
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task(f"importing {path.name}", total=total)
        yield lambda done: bar.update(task, completed=done)
