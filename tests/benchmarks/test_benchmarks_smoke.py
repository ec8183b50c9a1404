"""Every benchmark script still runs to the end: each at a tiny size, as ``python -m
benchmarks.X`` from the repository root, in a fresh process. A script passes when it exits 0
and printed the figures it exists for; no timing is asserted (these sizes measure nothing).

Data, SQLite files and results files go to the test's temporary folder, never to
``benchmarks/results``. The PostgreSQL variants create and drop their own databases on the
test server (an admin URL), so they follow the ``postgres`` marker's rule: a failure in CI
when the server is unreachable, a skip elsewhere.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import IN_CI, PG_ADMIN_URL, REPO, _pg_reachable

TIMEOUT = 180  # seconds per script: generous, the machine is shared; a run takes a few
ROWS, CONTRACTS = "2000", "5"
DATA = ["--rows", ROWS, "--contracts", CONTRACTS]
NUMBER = r"[\d,]+(?:\.\d+)?"


@dataclass(frozen=True)
class Case:
    script: str
    args: tuple[str, ...]
    expected: tuple[str, ...]  # regular expressions, each must match a line of the output
    results: str | None = None  # the results file it writes (``--name``), if any


def floor(engine: str) -> Case:
    stages = [
        rf"^\[[\d:]+\] {engine}: parse {NUMBER} rows/s",
        rf"^\[[\d:]+\] {engine}: store, all indexes {NUMBER} rows/s",
        rf"^\[[\d:]+\] {engine}: store, unique index only {NUMBER} rows/s .*; building the 2 secondary indexes",
    ]
    if engine == "postgresql":
        stages.append(rf"^\[[\d:]+\] postgresql: server-side COPY of the raw CSV {NUMBER} rows/s .*; INSERT")
    return Case("bench_import_floor", (*DATA, "--engines", engine), tuple(stages))


def quick(engine: str) -> Case:
    return Case(
        "bench_import_quick",
        (*DATA, "--engines", engine),
        (rf"^{engine}: {NUMBER} rows/s wall .* rows per CPU second .* imported 2,000, duplicates 0, peak",),
    )


def ingest(engine: str) -> Case:
    return Case(
        "bench_ingest_kpis",
        (*DATA, "--engines", engine, "--repeat", "1", "--query-repeat", "1", "--name", "ingest"),
        (
            rf"^{engine} run 1: import {NUMBER} rows/s .*imported 2,000, duplicates 0, rejected 0\), peak memory",
            rf"^{engine} run 1\.1: KPIs {NUMBER} s from the daily rollup, .*\(identical, 2,000 offered\); "
            r"bare aggregate .* \(2,000 rows\)",
            rf"^SUMMARY {engine}: import {NUMBER} rows/s wall, .* KPIs .* ratio .* peak memory",
        ),
        results="ingest",
    )


def close(engine: str) -> Case:
    return Case(
        "bench_close",
        (*DATA, "--engines", engine, "--repeat", "1", "--name", "close"),
        (
            rf"^{engine}: setup import {NUMBER} rows/s",
            rf"^{engine} close 1 \(daily rollup\): {NUMBER} s for 5 drafts .*; KPI .* pricing .* storing",
            rf"^{engine} close 1 \(counting rows\): {NUMBER} s for 5 drafts",
            rf"^SUMMARY {engine} \(daily rollup\): close {NUMBER} s = KPI",
            rf"^SUMMARY {engine} \(counting rows\): close {NUMBER} s = KPI",
        ),
        results="close",
    )


def simulate(engine: str) -> Case:
    return Case(
        "bench_simulate",
        ("--rows-per-month", "200", "--engines", engine, "--repeat", "1", "--name", "simulate"),
        (
            rf"^{engine} round 1: rating 12 months {NUMBER} s, simulation 12 months x 5 scenarios {NUMBER} s",
            rf"^SUMMARY {engine}: 2,400 interactions; one rating of 12 months",
            r"^  scenario totals: current \d+\.\d\d(, [\w-]+ \d+\.\d\d){4}$",
        ),
        results="simulate",
    )


CLI_START = Case(
    "bench_cli_start",
    ("--runs", "2", "--name", "cli_start"),
    (
        r"^command +median s +min s +max s +median / floor$",
        rf"^python -c pass +{NUMBER} +{NUMBER} +{NUMBER} +1\.0x$",
        rf"^billing --help +{NUMBER} +{NUMBER} +{NUMBER} +{NUMBER}x$",
        rf"^billing contracts list +{NUMBER} +{NUMBER} +{NUMBER} +{NUMBER}x$",
        r"^top 15 modules by cumulative import time, billing --help",
        rf"^ +{NUMBER} +{NUMBER} +0  billing\.cli$",
    ),
    results="cli_start",
)

SQLITE_CASES = [make("sqlite") for make in (floor, quick, ingest, close, simulate)]
POSTGRES_CASES = [make("postgresql") for make in (floor, quick, ingest, close, simulate)]


def run_case(case: Case, tmp_path: Path) -> str:
    env = {
        **os.environ,
        "BILLING_BENCH_DATA": str(tmp_path / "data"),
        "BILLING_BENCH_RESULTS": str(tmp_path / "results"),
        "BILLING_BENCH_PG_URL": PG_ADMIN_URL,
    }
    command = [sys.executable, "-m", f"benchmarks.{case.script}", *case.args]
    try:
        done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=TIMEOUT)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"{' '.join(command)} ran over {TIMEOUT} s:\n{exc.stdout!r}\n{exc.stderr!r}")
    assert done.returncode == 0, f"{' '.join(command)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    missing = [pattern for pattern in case.expected if not re.search(pattern, done.stdout, re.MULTILINE)]
    assert not missing, f"{case.script} printed no line matching {missing}:\n{done.stdout}"
    if case.results is not None:
        written = (tmp_path / "results" / f"{case.results}.txt").read_text()
        assert written.startswith(f"# {case.results} "), written
        assert all(re.search(pattern, written, re.MULTILINE) for pattern in case.expected), written
    return done.stdout


@pytest.fixture(scope="module")
def postgresql_server() -> None:
    """The admin URL the PostgreSQL variants create their databases with answers."""
    reason = _pg_reachable()
    if reason:
        if IN_CI:
            pytest.fail(f"{reason} (PostgreSQL tests are mandatory in CI)")
        pytest.skip(reason)


@pytest.mark.parametrize("case", SQLITE_CASES, ids=[case.script for case in SQLITE_CASES])
def test_benchmark_runs_on_sqlite(case: Case, tmp_path: Path) -> None:
    run_case(case, tmp_path)


@pytest.mark.postgres
@pytest.mark.parametrize("case", POSTGRES_CASES, ids=[case.script for case in POSTGRES_CASES])
def test_benchmark_runs_on_postgresql(case: Case, tmp_path: Path, postgresql_server: None) -> None:
    run_case(case, tmp_path)


def test_cli_start_benchmark_runs(tmp_path: Path) -> None:
    output = run_case(CLI_START, tmp_path)
    table = output[output.index("cumulative ms") :].splitlines()[1:]
    assert len(table) == 15, output
