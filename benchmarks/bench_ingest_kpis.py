"""Import and KPI benchmark (issue 3): N interactions over M contracts in one month.

For each engine, on a fresh database (``billing init``'s migrations, the synthetic contracts
loaded), it times:

- the import through the real importer, in a child process: rows per second and the child's
  peak resident memory;
- the KPIs of every contract for the month: ``billing.measurement.queries.measure`` with one
  ``MeasureRequest`` per contract (as rating asks for them), one call: from the daily rollup
  the import keeps (what rating, the close and ``billing kpis`` use), and again with
  ``from_rows=True``, counting the interactions (what an ad-hoc threshold costs); the two
  results must be identical, and the run stops if they are not;
- the bare aggregate over the same table, ``SELECT contract_id, COUNT(*), SUM(wait_seconds),
  AVG(handle_seconds) FROM interaction GROUP BY contract_id``: the physical floor;
- and the ratios. Targets: import >= 70k rows/s on SQLite and >= 60k on PostgreSQL, KPIs
  within 2x the floor, peak memory under 1 GiB.

Each query round is preceded by one untimed round of all three, so every timed query reads
a warm cache (the first read of a freshly loaded PostgreSQL table also sets hint bits).

    .venv/bin/python benchmarks/bench_ingest_kpis.py --rows 1000000 --repeat 1
    .venv/bin/python benchmarks/bench_ingest_kpis.py                   # 10M rows, 100 contracts
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import (
    Dataset,
    Report,
    benchmark_arguments,
    engine_for,
    fresh_database,
    import_in_child,
    load,
    load_contracts,
    median,
    run_reported,
    say,
    timed,
)

BARE = "SELECT contract_id, COUNT(*), SUM(wait_seconds), AVG(handle_seconds) FROM interaction GROUP BY contract_id"
TARGET_IMPORT = {"sqlite": 70_000, "postgresql": 60_000}


def measure_all(url: str, data: Dataset, from_rows: bool = False) -> tuple[float, Any]:
    """Time one ``measure`` call over every contract's month: (seconds, outcomes)."""
    from billing.contracts.store import terms_in_force
    from billing.core.periods import Period
    from billing.measurement.queries import MeasureRequest, measure
    from billing.rating.service import thresholds_of
    from billing.storage.db import reading

    engine = engine_for(url)
    period = Period.parse(data.month)
    with reading(engine) as session:
        requests = []
        for spec in data.specs:
            item = terms_in_force(session, spec.contract, period)
            requests.append(
                MeasureRequest(
                    contract_id=item.contract_id,
                    contract=spec.contract,
                    period=period,
                    timezone=item.terms.timezone,
                    repeat_window_days=item.terms.resolution.repeat_window_days,
                    exclude_escalated=item.terms.resolution.exclude_escalated,
                    thresholds=thresholds_of(item.terms),
                )
            )
        seconds, found = timed(lambda: measure(session, requests, from_rows=from_rows))
    engine.dispose()
    return seconds, found


def offered(found: Any) -> int:
    return sum(cell.offered for outcome in found.values() for cell in outcome.cells)


def bare_aggregate(url: str) -> tuple[float, int]:
    """Time the bare aggregate: (seconds, rows it counted)."""
    from sqlalchemy import text

    engine = engine_for(url)
    with engine.connect() as conn:
        seconds, rows = timed(lambda: conn.execute(text(BARE)).all())
    engine.dispose()
    return seconds, sum(int(row[1]) for row in rows)


def run_engine(engine_name: str, data: Dataset, args: argparse.Namespace, report: Report) -> None:
    imports = []
    kpis: list[float] = []
    rows_kpis: list[float] = []
    bares: list[float] = []
    for attempt in range(1, args.repeat + 1):
        with fresh_database(engine_name, "ingest") as url:
            load_contracts(url, data.contracts)
            say(f"{engine_name} run {attempt}: importing {data.rows:,} rows ({load()})")
            before = load()
            run = import_in_child(url, data.interactions)
            report.line(
                f"{engine_name} run {attempt}: import {run.rows_per_second:,.0f} rows/s "
                f"({run.rows_per_cpu_second:,.0f} per CPU second; {run.seconds:.1f} s wall, "
                f"{run.cpu_seconds:.1f} s CPU, imported {run.imported:,}, duplicates {run.duplicates:,}, "
                f"rejected {run.rejected:,}), peak memory {run.peak_rss_mib:,.0f} MiB [{before} / {load()}]"
            )
            imports.append(run)
            bare_aggregate(url), measure_all(url, data), measure_all(url, data, from_rows=True)  # warm-up
            for query_round in range(1, args.query_repeat + 1):
                before = load()
                bare_s, bare_rows = bare_aggregate(url)
                kpi_s, from_days = measure_all(url, data)
                rows_s, from_rows = measure_all(url, data, from_rows=True)
                if from_days != from_rows:
                    raise SystemExit("the daily rollup and the interactions measured different KPIs")
                report.line(
                    f"{engine_name} run {attempt}.{query_round}: KPIs {kpi_s:.3f} s from the daily rollup, "
                    f"{rows_s:.2f} s from the rows (identical, {offered(from_days):,} offered); bare aggregate "
                    f"{bare_s:.2f} s ({bare_rows:,} rows); ratios {kpi_s / bare_s:.3f} and {rows_s / bare_s:.2f} "
                    f"[{before} / {load()}]"
                )
                kpis.append(kpi_s)
                rows_kpis.append(rows_s)
                bares.append(bare_s)
    rate = median([r.rows_per_second for r in imports])
    cpu_rate = median([r.rows_per_cpu_second for r in imports])
    memory = max(r.peak_rss_mib for r in imports)
    kpi, rows_kpi, bare = median(kpis), median(rows_kpis), median(bares)
    target = TARGET_IMPORT[engine_name]
    report.line(
        f"SUMMARY {engine_name}: import {rate:,.0f} rows/s wall, {cpu_rate:,.0f} rows per CPU second "
        f"(target {target:,}: {'met' if rate >= target else 'MISSED'}); KPIs {kpi:.3f} s from the daily rollup vs "
        f"bare {bare:.2f} s, ratio {kpi / bare:.3f} (target 2.00: {'met' if kpi <= 2 * bare else 'MISSED'}); "
        f"KPIs from the rows {rows_kpi:.2f} s, ratio {rows_kpi / bare:.2f}; peak memory "
        f"{memory:,.0f} MiB (target 1024: {'met' if memory < 1024 else 'MISSED'}); medians of "
        f"{len(imports)} import(s) and {len(kpis)} query round(s) [{load()}]"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    benchmark_arguments(parser, rows=10_000_000, contracts=100)
    parser.add_argument("--repeat", type=int, default=3, help="imports per engine, each on a fresh database")
    parser.add_argument("--query-repeat", type=int, default=3, help="KPI / bare-aggregate rounds per import")
    parser.add_argument("--name", default=None, help="results file name (benchmarks/results/NAME.txt)")
    args = parser.parse_args(argv)
    run_reported(args, argv, f"ingest_kpis-{args.rows}r-{args.contracts}c", run_engine)


if __name__ == "__main__":
    main()
