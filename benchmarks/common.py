"""What the benchmarks share: generated data cached on disk, fresh databases, the import run
in a child process (so its peak memory is the importer's), timing and the machine's load.

Generating and writing the data is never timed; files are cached by their parameters, so a
second run (or the other benchmark, with the same parameters) reuses them.
"""

from __future__ import annotations

import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from billing.measurement.pseudonyms import ensure_key_file  # noqa: E402
from billing.storage.db import make_engine, migrate  # noqa: E402
from fixtures.databases import scratch_postgresql  # noqa: E402
from fixtures.generator import COLUMNS, bulk_specs, interaction_values, write_bulk_contracts, write_csv  # noqa: E402
from fixtures.profiles import GenerationSpec  # noqa: E402

PG_ADMIN_URL = os.environ.get("BILLING_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
DATA_DIR = Path(os.environ.get("BILLING_BENCH_DATA", Path(tempfile.gettempdir()) / "billing-bench"))
#: Where ``Report`` writes ``NAME.txt``: the kept results, unless a run (the smoke test) says otherwise.
RESULTS_DIR = Path(os.environ.get("BILLING_BENCH_RESULTS", REPO / "benchmarks" / "results"))


def load() -> str:
    """The machine's load averages (1, 5, 15 minutes): other people share these two cores."""
    one, five, fifteen = os.getloadavg()
    return f"load {one:.2f} {five:.2f} {fifteen:.2f}"


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


@dataclass(frozen=True)
class Dataset:
    specs: list[GenerationSpec]
    interactions: Path
    contracts: list[Path]
    month: str

    @property
    def rows(self) -> int:
        return sum(sum(spec.offered.values()) for spec in self.specs)


def dataset(contracts: int, rows: int, month: str, seed: int) -> Dataset:
    """The bulk data set, generated once into ``DATA_DIR`` and reused."""
    specs = bulk_specs(contracts=contracts, rows=rows, month=month, seed=seed)
    folder = DATA_DIR / f"{contracts}c-{rows}r-{month}-s{seed}"
    folder.mkdir(parents=True, exist_ok=True)
    paths = write_bulk_contracts(specs, folder / "contracts")
    interactions = folder / "interactions.csv"
    if not interactions.exists():
        say(f"generating {rows:,} interactions over {contracts} contracts into {interactions} (not timed)")
        started = time.perf_counter()
        partial = interactions.with_suffix(".partial")
        written = write_csv((v for spec in specs for v in interaction_values(spec, seed)), partial, COLUMNS)
        partial.rename(interactions)
        say(f"generated {written:,} rows in {time.perf_counter() - started:.0f} s")
    return Dataset(specs, interactions, paths, month)


def benchmark_arguments(parser: Any, rows: int, contracts: int) -> None:
    """The options that choose the generated data set (``dataset``), with this script's
    defaults, and the engines to run on."""
    parser.add_argument("--rows", type=int, default=rows)
    parser.add_argument("--contracts", type=int, default=contracts)
    parser.add_argument("--month", default="2026-10")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--engines", default="sqlite,postgresql")


def engine_names(args: Any) -> list[str]:
    return [name.strip() for name in args.engines.split(",") if name.strip()]


def run_reported(
    args: Any, argv: list[str] | None, default_name: str, run_engine: Callable[[str, Dataset, Any, Report], None]
) -> None:
    """Run ``run_engine`` per engine over the data set, writing ``results/NAME.txt``."""
    report = Report(args.name or default_name, sys.argv[1:] if argv is None else argv)
    data = dataset(args.contracts, args.rows, args.month, args.seed)
    for name in engine_names(args):
        run_engine(name, data, args, report)
    report.close()


@contextmanager
def fresh_database(engine_name: str, label: str) -> Iterator[str]:
    """An empty database migrated by ``billing init``'s path (Alembic), dropped afterwards."""
    if engine_name == "sqlite":
        path = DATA_DIR / f"{label}-{uuid.uuid4().hex[:8]}.db"
        url = f"sqlite:///{path}"
        ensure_key_file(url)  # as billing init does: the key customer ids are pseudonymised with
        migrate(url)
        try:
            yield url
        finally:
            for suffix in ("", "-wal", "-shm", ".pseudonym.key"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    # A PostgreSQL deployment names its key; a benchmark's database gets one of its own.
    os.environ.setdefault("BILLING_PSEUDONYM_KEY", secrets.token_hex(32))
    with scratch_postgresql(PG_ADMIN_URL, f"bench_{label}") as url:
        yield url


def engine_for(url: str) -> Engine:
    return make_engine(url)


def load_contracts(url: str, paths: list[Path], entities: list[Path] | None = None) -> None:
    """Load contract files, after the entity files that issue them (``issuer:``)."""
    from billing.contracts.entities import load_entities
    from billing.measurement.contracts import load_contracts

    engine = make_engine(url)
    if entities:
        load_entities(engine, entities, actor="benchmark")
    load_contracts(engine, paths, actor="benchmark")
    engine.dispose()


@dataclass(frozen=True)
class ImportRun:
    seconds: float
    cpu_seconds: float  # the importing process plus its PostgreSQL backends
    imported: int
    duplicates: int
    rejected: int
    peak_rss_mib: float

    @property
    def rows(self) -> int:
        return self.imported + self.duplicates + self.rejected

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds

    @property
    def rows_per_cpu_second(self) -> float:
        """Throughput per CPU second used: what an idle machine would see, near enough, when
        other people's jobs share the cores (the wall figure then mostly measures them)."""
        return self.rows / self.cpu_seconds


def backend_cpu_seconds(pids: list[int]) -> float:
    """CPU time (user + system) of PostgreSQL backends on this machine, from /proc."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / ticks


def process_cpu_seconds() -> float:
    """This process and its finished children (the importer's reader process)."""
    usage = os.times()
    return usage.user + usage.system + usage.children_user + usage.children_system


def import_in_child(url: str, path: Path, profile: Path | None = None) -> ImportRun:
    """Run the real importer (``billing.measurement.ingest.import_interactions``) in a fresh process and
    report its wall time and peak resident memory (``ru_maxrss``)."""
    command = [sys.executable, "-m", "benchmarks.common", "import", url, str(path)]
    if profile is not None:
        command = ["py-spy", "record", "--subprocesses", "-o", str(profile), "-f", "speedscope", "--", *command]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"import failed:\n{done.stdout}\n{done.stderr}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return ImportRun(**result)


def _child_import(url: str, path: str) -> None:
    import resource

    from billing.measurement.ingest import import_interactions

    engine = make_engine(url)
    cpu_before = process_cpu_seconds()
    started = time.perf_counter()
    summary = import_interactions(engine, Path(path), progress=False)
    seconds = time.perf_counter() - started
    cpu = process_cpu_seconds() - cpu_before
    if engine.dialect.name == "postgresql":  # the pool's backends served this import only
        with engine.connect() as conn:
            pids = conn.exec_driver_sql(
                "SELECT pid FROM pg_stat_activity "
                "WHERE datname = current_database() AND backend_type = 'client backend'"
            ).scalars()
            cpu += backend_cpu_seconds([int(pid) for pid in pids])
    # The larger of the importer and its reader process (a child, waited for by now).
    peak_kib = max(
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    )
    print(
        json.dumps(
            {
                "seconds": seconds,
                "cpu_seconds": cpu,
                "imported": summary.imported,
                "duplicates": summary.duplicates,
                "rejected": summary.rejected,
                "peak_rss_mib": peak_kib / 1024,
            }
        )
    )


def timed(action: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = action()
    return time.perf_counter() - started, result


def median(values: list[float]) -> float:
    return statistics.median(values)


class Report:
    """Lines printed as they come and written to ``RESULTS_DIR/<name>.txt`` (by default
    ``benchmarks/results``; ``BILLING_BENCH_RESULTS`` moves it)."""

    def __init__(self, name: str, argv: list[str]) -> None:
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        self.path = RESULTS_DIR / f"{name}.txt"
        self.handle = self.path.open("w", encoding="utf-8")
        self.line(f"# {name} {' '.join(argv)}")
        self.line(f"# {time.strftime('%Y-%m-%d %H:%M:%S %Z')}, {os.cpu_count()} cores, {load()}")

    def line(self, text_: str) -> None:
        print(text_, flush=True)
        self.handle.write(text_ + "\n")
        self.handle.flush()

    def close(self) -> None:
        self.handle.close()


if __name__ == "__main__" and len(sys.argv) == 4 and sys.argv[1] == "import":
    _child_import(sys.argv[2], sys.argv[3])
