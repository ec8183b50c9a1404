"""A quick import benchmark for working on the importer: the real importer in a child process,
on a fresh database per run, over the shared generated data set (1 million rows, 100
contracts by default). Prints wall and CPU throughput (CPU includes the PostgreSQL backends)
and the machine's load before and after: on a shared machine the rows per CPU second are the
figure to compare.

    .venv/bin/python -m benchmarks.bench_import_quick --engines sqlite,postgresql --repeat 1
"""

from __future__ import annotations

import argparse
import sys

from benchmarks.common import (
    benchmark_arguments,
    dataset,
    engine_names,
    fresh_database,
    import_in_child,
    load,
    load_contracts,
)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    benchmark_arguments(parser, rows=1_000_000, contracts=100)
    parser.add_argument("--repeat", type=int, default=1, help="imports per engine, each on a fresh database")
    args = parser.parse_args(argv)
    data = dataset(args.contracts, args.rows, args.month, args.seed)
    for engine_name in engine_names(args):
        for _ in range(args.repeat):
            with fresh_database(engine_name, "quick") as url:
                load_contracts(url, data.contracts)
                before = load()
                run = import_in_child(url, data.interactions)
                print(
                    f"{engine_name}: {run.rows_per_second:,.0f} rows/s wall ({run.seconds:.1f} s), "
                    f"{run.rows_per_cpu_second:,.0f} rows per CPU second ({run.cpu_seconds:.1f} s CPU), "
                    f"imported {run.imported:,}, duplicates {run.duplicates:,}, peak {run.peak_rss_mib:.0f} MiB "
                    f"[{before} / {load()}]",
                    flush=True,
                )


if __name__ == "__main__":
    main(sys.argv[1:])
