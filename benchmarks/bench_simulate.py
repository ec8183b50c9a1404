"""Simulation benchmark: 12 months of one contract, 1 million interactions a month, priced
under 5 scenarios (the current terms and four alternatives), against one rating of the same
12 months (``rate_contract`` month by month, as a close would).

Measure once, price many times: the simulation makes one ``measure`` call for every month
(plus the earnback look-back) and re-prices those outcomes purely for each scenario, so it
must take less than 1.5x the rating. Both figures are printed, as medians over ``--repeat``
rounds on the same database. Generating and importing the data is not timed.

    .venv/bin/python benchmarks/bench_simulate.py [--rows-per-month 1000000] [--engines sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.common import (  # noqa: E402
    DATA_DIR,
    Report,
    engine_for,
    fresh_database,
    load,
    load_contracts,
    median,
    say,
    timed,
)
from fixtures.generator import COLUMNS, interaction_values, write_csv  # noqa: E402
from fixtures.profiles import GenerationSpec  # noqa: E402
from fixtures.scenarios import HYBRID_MIX  # noqa: E402

CONTRACT = "BANDINO-2026"
BASE = REPO / "contracts" / "banco-andino.yaml"
ALTERNATIVES = REPO / "contracts" / "alternatives"
COSTS = REPO / "contracts" / "workbench" / "costs.yaml"
TARGET_RATIO = 1.5


def months(year: int = 2026) -> list[str]:
    return [f"{year}-{m:02d}" for m in range(1, 13)]


def data_file(rows_per_month: int, seed: int) -> Path:
    folder = DATA_DIR / f"simulate-{rows_per_month}r-s{seed}"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "interactions.csv"
    if not path.exists():
        spec = GenerationSpec(
            contract=CONTRACT,
            timezone="America/Lima",
            offered=dict.fromkeys(months(), rows_per_month),
            channels=HYBRID_MIX,
        )
        say(f"generating {12 * rows_per_month:,} interactions into {path} (not timed)")
        started = time.perf_counter()
        partial = path.with_suffix(".partial")
        written = write_csv(interaction_values(spec, seed), partial, COLUMNS)
        partial.rename(path)
        say(f"generated {written:,} rows in {time.perf_counter() - started:.0f} s")
    return path


def alternative_files(folder: Path) -> list[Path]:
    """Four alternatives: per resolution, 20% at risk, the November amendment's cheaper AI
    tiers for the whole year, and per resolution one price step lower."""
    files = [
        ALTERNATIVES / "banco-andino-per-resolution.yaml",
        ALTERNATIVES / "banco-andino-higher-at-risk.yaml",
        REPO / "contracts" / "banco-andino-2026-11.yaml",
    ]
    cheaper = folder / "banco-andino-per-resolution-lower.yaml"
    cheaper.write_text(files[0].read_text().replace('"14.00"', '"13.00"').replace('"12.50"', '"11.75"'))
    return [*files, cheaper]


def rate_year(url: str) -> float:
    from billing.core.periods import Period
    from billing.rating.service import rate_contract
    from billing.storage.db import reading

    engine = engine_for(url)
    with reading(engine) as session:
        seconds, invoices = timed(lambda: [rate_contract(session, CONTRACT, Period.parse(m)) for m in months()])
    engine.dispose()
    assert len(invoices) == 12
    return seconds


def simulate_year(url: str, files: list[Path]) -> tuple[float, object]:
    """The simulation as ``billing simulate`` runs it without ``--sweep``: every scenario with
    its margins (the example costs file), months not ended left out (none: "now" is after
    the year), each month checked for an issued invoice (none here)."""
    from datetime import UTC, datetime

    from billing.core.periods import Period
    from billing.simulation.service import read_alternatives, read_costs, simulate_contract

    alternatives = read_alternatives(files)
    costs = read_costs(COSTS)
    engine = engine_for(url)
    first, last = Period.parse(months()[0]), Period.parse(months()[-1])
    now = datetime(2027, 2, 1, tzinfo=UTC)
    seconds, result = timed(
        lambda: simulate_contract(engine, CONTRACT, alternatives, first, last, now=now, costs=costs)
    )
    engine.dispose()
    return seconds, result


def run_engine(engine_name: str, data: Path, files: list[Path], args: argparse.Namespace, report: Report) -> None:
    from billing.measurement.ingest import import_interactions

    with fresh_database(engine_name, "simulate") as url:
        load_contracts(url, [BASE], sorted((REPO / "contracts" / "entities").glob("*.yaml")))
        say(f"{engine_name}: importing {data} (not timed, {load()})")
        engine = engine_for(url)
        summary = import_interactions(engine, data, progress=False)
        engine.dispose()
        say(f"{engine_name}: imported {summary.imported:,} rows")
        ratings, simulations = [], []
        for attempt in range(1, args.repeat + 1):
            rating = rate_year(url)
            simulation, result = simulate_year(url, files)
            ratings.append(rating)
            simulations.append(simulation)
            report.line(
                f"{engine_name} round {attempt}: rating 12 months {rating:.2f} s, "
                f"simulation 12 months x {len(result.scenarios)} scenarios {simulation:.2f} s "  # type: ignore[attr-defined]
                f"({simulation / rating:.2f}x) [{load()}]"
            )
        rating, simulation = median(ratings), median(simulations)
        ratio = simulation / rating
        verdict = "OK" if ratio < TARGET_RATIO else "OVER TARGET"
        report.line(
            f"SUMMARY {engine_name}: {12 * args.rows_per_month:,} interactions; one rating of 12 months "
            f"{rating:.2f} s; simulation of 12 months x 5 scenarios {simulation:.2f} s; "
            f"ratio {ratio:.2f}x (target < {TARGET_RATIO}x: {verdict}), medians of {args.repeat}"
        )
        totals = ", ".join(f"{s.name} {s.total}" for s in result.scenarios)  # type: ignore[attr-defined]
        report.line(f"  scenario totals: {totals}")
        margins = ", ".join(f"{s.name} {s.margin}" for s in result.scenarios)  # type: ignore[attr-defined]
        report.line(f"  scenario margins: {margins}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows-per-month", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--name", default=None, help="results file name (benchmarks/results/NAME.txt)")
    args = parser.parse_args(argv)
    report = Report(args.name or f"simulate-{args.rows_per_month}r", sys.argv[1:] if argv is None else argv)
    data = data_file(args.rows_per_month, args.seed)
    files = alternative_files(data.parent)
    for engine_name in args.engines.split(","):
        run_engine(engine_name.strip(), data, files, args, report)
    report.close()


if __name__ == "__main__":
    main()
