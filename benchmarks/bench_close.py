"""Monthly close benchmark (issue 4): the close of M contracts over N interactions.

On a fresh database per engine (contracts loaded, interactions imported: not timed), it runs
``billing.invoicing.invoices.close_period`` for the month, creating one draft per contract, and splits
its time into:

- KPI share: the measurement the close needs (``rating_service.measure_terms``: the month
  and the earnback look-back months of every contract, on the stored facts, in the close's
  read snapshot);
- pricing share: the pure rating of every contract (``billing.rating.engine.rate``);
- storing share: writing the drafts, their lines and audit events (``store_drafts``);
- other: finding active contracts and their terms.

The shares are read by wrapping those functions in this process (their modules are not
changed). Target: the close takes at most 1.5x the KPI computation it needs. For reference
it also times the same measurement on current data (without the as-of-batch rule).

Each close runs twice: as the product does, measuring from the daily rollup of outcomes, and
with the measurement forced to count the interactions (``from_rows``), as the close did before
the rollup existed. With the rollup the KPI share is a few hundredths of a second, so the
close is its pricing and storing; the 1.5x target describes the close counting rows, where the
measurement is most of the work.

    .venv/bin/python benchmarks/bench_close.py --rows 1000000 --repeat 1
    .venv/bin/python benchmarks/bench_close.py                 # 10M rows, 1,000 contracts
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
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
    process_cpu_seconds,
    run_reported,
    say,
)


class Stopwatch:
    """Accumulated wall time of the wrapped calls."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def wrap(self, function: Callable[..., Any]) -> Callable[..., Any]:
        def timed_call(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - started

        return timed_call


def close_once(url: str, data: Dataset, from_rows: bool = False) -> dict[str, float]:
    import billing.invoicing.invoices as invoices
    import billing.rating.service as rating_service
    from billing.core.periods import Period

    engine = engine_for(url)
    kpi, pricing, storing = Stopwatch(), Stopwatch(), Stopwatch()
    originals = (rating_service.measure_terms, rating_service.rate, invoices.store_drafts, rating_service.measure)
    rating_service.measure_terms = kpi.wrap(rating_service.measure_terms)  # type: ignore[assignment]
    rating_service.rate = pricing.wrap(rating_service.rate)  # type: ignore[assignment]
    invoices.store_drafts = storing.wrap(invoices.store_drafts)  # type: ignore[assignment]
    if from_rows:
        counting = originals[3]
        rating_service.measure = lambda session, requests, as_of_batch=None: counting(  # type: ignore[assignment]
            session, requests, as_of_batch, from_rows=True
        )
    try:
        cpu_before = process_cpu_seconds()
        started = time.perf_counter()
        result = invoices.close_period(engine, Period.parse(data.month), "benchmark", datetime.now(UTC))
        total = time.perf_counter() - started
        cpu = process_cpu_seconds() - cpu_before
    finally:
        (rating_service.measure_terms, rating_service.rate, invoices.store_drafts, rating_service.measure) = originals  # type: ignore[assignment]
    engine.dispose()
    drafts = result.count("created") + result.count("refreshed") + result.count("unchanged")
    return {
        "total": total,
        "client_cpu": cpu,
        "kpi": kpi.seconds,
        "pricing": pricing.seconds,
        "storing": storing.seconds,
        "drafts": drafts,
    }


def measure_current(url: str, data: Dataset) -> float:
    """The same measurement on current data (no as-of-batch), for reference."""
    import billing.rating.service as rating_service
    from billing.contracts.store import active_contracts
    from billing.core.periods import Period
    from billing.storage.db import reading

    engine = engine_for(url)
    stopwatch = Stopwatch()
    original = rating_service.measure_terms
    rating_service.measure_terms = stopwatch.wrap(original)  # type: ignore[assignment]
    try:
        with reading(engine) as session:
            items = active_contracts(session, Period.parse(data.month))
            rating_service.histories(session, items, Period.parse(data.month), None)
    finally:
        rating_service.measure_terms = original  # type: ignore[assignment]
    engine.dispose()
    return stopwatch.seconds


def clear_drafts(url: str) -> None:
    """Drafts only (nothing was issued): a repeat closes from scratch again."""
    from sqlalchemy import text

    engine = engine_for(url)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM document_line"))
        conn.execute(text("DELETE FROM document"))
    engine.dispose()


def run_engine(engine_name: str, data: Dataset, args: argparse.Namespace, report: Report) -> None:
    with fresh_database(engine_name, "close") as url:
        say(f"{engine_name}: loading {len(data.contracts)} contracts ({load()})")
        load_contracts(url, data.contracts)
        say(f"{engine_name}: importing {data.rows:,} rows (not timed as part of the close; {load()})")
        run = import_in_child(url, data.interactions)
        report.line(
            f"{engine_name}: setup import {run.rows_per_second:,.0f} rows/s wall, "
            f"{run.rows_per_cpu_second:,.0f} per CPU second ({run.seconds:.0f} s), peak {run.peak_rss_mib:,.0f} MiB"
        )
        closes: dict[bool, list[dict[str, float]]] = {False: [], True: []}
        for attempt in range(1, args.repeat + 1):
            for from_rows in (False, True):
                clear_drafts(url)
                before = load()
                figures = close_once(url, data, from_rows)
                other = figures["total"] - figures["kpi"] - figures["pricing"] - figures["storing"]
                report.line(
                    f"{engine_name} close {attempt} ({'counting rows' if from_rows else 'daily rollup'}): "
                    f"{figures['total']:.2f} s for {figures['drafts']:.0f} drafts "
                    f"(client CPU {figures['client_cpu']:.2f} s); KPI {figures['kpi']:.2f} s, pricing "
                    f"{figures['pricing']:.2f} s, storing {figures['storing']:.2f} s, other {other:.2f} s; "
                    f"close / KPI = {figures['total'] / figures['kpi']:.2f} [{before} / {load()}]"
                )
                closes[from_rows].append(figures)
        before = load()
        current = measure_current(url, data)
        report.line(
            f"{engine_name}: the same measurement on current data (no as-of) {current:.2f} s [{before} / {load()}]"
        )
    for from_rows, label in ((False, "daily rollup"), (True, "counting rows")):
        runs = closes[from_rows]
        total = median([c["total"] for c in runs])
        kpi = median([c["kpi"] for c in runs])
        pricing = median([c["pricing"] for c in runs])
        storing = median([c["storing"] for c in runs])
        ratio = total / kpi
        report.line(
            f"SUMMARY {engine_name} ({label}): close {total:.2f} s = KPI {kpi:.2f} s + pricing {pricing:.2f} s + "
            f"storing {storing:.2f} s + other {total - kpi - pricing - storing:.2f} s; close / KPI {ratio:.2f}; "
            f"medians of {len(runs)} close(s) [{load()}]"
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    benchmark_arguments(parser, rows=10_000_000, contracts=1000)
    parser.add_argument("--repeat", type=int, default=3, help="closes per engine (drafts cleared in between)")
    parser.add_argument("--name", default=None, help="results file name (benchmarks/results/NAME.txt)")
    args = parser.parse_args(argv)
    run_reported(args, argv, f"close-{args.rows}r-{args.contracts}c", run_engine)


if __name__ == "__main__":
    main()
