"""CLI start-up: how long the ``billing`` command takes before it does anything.

Each command runs ``--runs`` times (default 10) as a fresh process, after one untimed run that
warms the file cache and the bytecode: ``billing`` is the entry point next to this
interpreter (the venv's), run with a temporary, empty SQLite database that ``billing init``
has migrated (``BILLING_DATABASE_URL`` points at it, so no other database is touched):

- ``python -c pass``: the interpreter's own start, the floor;
- ``billing --help``: importing the CLI and every command it registers;
- ``billing contracts list``: the same plus opening the database and one read.

It prints the median, min and max wall seconds of each and its median over the floor's, then
the modules that cost ``billing --help`` the most, by cumulative import time, from one more
run with ``python -X importtime`` (``PYTHONPROFILEIMPORTTIME``): a module's cumulative time
includes the modules it imported first, so the list shows which imports are worth making
lazy. Writes ``benchmarks/results/NAME.txt`` like the other scripts.

    .venv/bin/python -m benchmarks.bench_cli_start                 # 10 runs each
    .venv/bin/python -m benchmarks.bench_cli_start --runs 2        # a smoke run
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.common import Report, median


@dataclass(frozen=True)
class Timing:
    label: str
    seconds: list[float]

    @property
    def median(self) -> float:
        return median(self.seconds)


@dataclass(frozen=True)
class ImportCost:
    module: str
    self_us: int
    cumulative_us: int
    depth: int  # 0: imported by the program itself; n: by a module n levels up


def entry_point() -> Path:
    """The ``billing`` script installed beside this interpreter (``.venv/bin/billing``)."""
    beside = Path(sys.executable).parent / "billing"
    if beside.exists():
        return beside
    found = shutil.which("billing")
    if found is None:
        raise SystemExit(f"no billing entry point beside {sys.executable} or on PATH: pip install -e . first")
    return Path(found)


def run(command: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
    return done


def time_runs(label: str, command: list[str], runs: int, env: dict[str, str], cwd: Path) -> Timing:
    run(command, env, cwd)  # untimed: file cache and bytecode warm
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        run(command, env, cwd)
        seconds.append(time.perf_counter() - started)
    return Timing(label, seconds)


def import_costs(stderr: str) -> list[ImportCost]:
    """The lines of ``-X importtime``: ``import time: <self us> | <cumulative us> | <name>``,
    the name indented two spaces per level of nesting."""
    costs = []
    for line in stderr.splitlines():
        if not line.startswith("import time:"):
            continue
        fields = line[len("import time:") :].split("|")
        if len(fields) != 3 or not fields[0].strip().isdigit():
            continue  # the header
        name = fields[2].rstrip()
        indent = len(name) - len(name.lstrip(" "))
        costs.append(ImportCost(name.strip(), int(fields[0]), int(fields[1]), max(indent - 1, 0) // 2))
    return costs


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10, help="timed runs of each command (after one untimed)")
    parser.add_argument("--top", type=int, default=15, help="modules to list by cumulative import time")
    parser.add_argument("--name", default="cli_start", help="results file name (benchmarks/results/NAME.txt)")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    report = Report(args.name, sys.argv[1:] if argv is None else argv)
    billing = str(entry_point())
    report.line(f"# interpreter {sys.executable}, entry point {billing}, {args.runs} timed runs each")
    with tempfile.TemporaryDirectory(prefix="billing-cli-start-") as folder:
        cwd = Path(folder)
        env = {**os.environ, "BILLING_DATABASE_URL": f"sqlite:///{cwd / 'billing.db'}"}
        env.pop("PYTHONPROFILEIMPORTTIME", None)
        run([billing, "init"], env, cwd)
        timings = [
            time_runs("python -c pass", [sys.executable, "-c", "pass"], args.runs, env, cwd),
            time_runs("billing --help", [billing, "--help"], args.runs, env, cwd),
            time_runs("billing contracts list", [billing, "contracts", "list"], args.runs, env, cwd),
        ]
        profiled = run([billing, "--help"], {**env, "PYTHONPROFILEIMPORTTIME": "1"}, cwd)
    floor = timings[0].median
    width = max(len(t.label) for t in timings)
    report.line(f"{'command':<{width}}  median s   min s   max s  median / floor")
    for timing in timings:
        report.line(
            f"{timing.label:<{width}}  {timing.median:8.3f} {min(timing.seconds):7.3f} {max(timing.seconds):7.3f}"
            f"  {timing.median / floor:14.1f}x"
        )
    costs = import_costs(profiled.stderr)
    if not costs:
        raise SystemExit("python -X importtime printed no import times")
    total = sum(cost.self_us for cost in costs)
    report.line(
        f"top {args.top} modules by cumulative import time, billing --help "
        f"(one run with -X importtime; {len(costs)} modules, {total / 1000:.0f} ms of imports in all; "
        f"depth 0 = imported by the program itself):"
    )
    report.line(f"{'cumulative ms':>13} {'self ms':>8} {'depth':>5}  module")
    for cost in sorted(costs, key=lambda c: c.cumulative_us, reverse=True)[: args.top]:
        report.line(f"{cost.cumulative_us / 1000:13.1f} {cost.self_us / 1000:8.1f} {cost.depth:5d}  {cost.module}")
    report.close()


if __name__ == "__main__":
    main()
