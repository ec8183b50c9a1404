"""Where an interaction import's time goes: the importer's stages measured apart, each on a
fresh database migrated by Alembic with the synthetic contracts loaded.

    .venv/bin/python -m benchmarks.bench_import_floor                      # 1M rows, both engines
    .venv/bin/python -m benchmarks.bench_import_floor --rows 2000000 --engines postgresql

Per engine it prints rows per second for:

- ``parse``: the importer's own CSV reader and row converter over the file, no database;
- ``store``: the converted rows written in 20,000-row transactions by the engine's bulk path
  (SQLite ``executemany``; PostgreSQL ``COPY``) into the interaction table with all its
  indexes, and nothing else (no ``next_contact_at``, no duplicate check);
- ``store, unique index only``: the same with the two secondary indexes dropped, and the time
  to build them afterwards;
- PostgreSQL only, ``server-side``: the raw CSV copied by the server into a text staging table
  (no Python per row) and turned into interactions by one ``INSERT ... SELECT`` with casts,
  ``LEAD`` for the next contact and ``ON CONFLICT``: the least Python an import can do.

The importer runs ``parse`` and ``store`` overlapped on two threads, so its throughput is at
most the slower of the two (less when they fight over the GIL).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import text

from benchmarks.common import (
    Dataset,
    benchmark_arguments,
    dataset,
    engine_for,
    engine_names,
    fresh_database,
    load,
    load_contracts,
    say,
)
from billing.measurement.ingest.files import open_rows
from billing.measurement.ingest.interactions import COLUMNS, REQUIRED, STORED, InteractionKind
from billing.storage.models import ImportBatch

CHUNK = 20_000
SECONDARY = {
    "ix_interaction_contract_started": "(contract_id, started_at)",
    "ix_interaction_customer": "(contract_id, customer_id, started_at)",
}


def new_batch(url: str, batch_id: int | None = None) -> int:
    from sqlmodel import Session

    with Session(engine_for(url)) as session:
        batch = ImportBatch(id=batch_id, kind="interactions", source="floor")
        session.add(batch)
        session.commit()
        assert batch.id is not None
        return batch.id


def parse(url: str, path: Path) -> tuple[float, list[tuple[Any, ...]]]:
    """The importer's reader and converter: seconds, and the rows it would store."""
    from sqlmodel import Session

    batch_id = new_batch(url)
    with Session(engine_for(url)) as session:
        convert = InteractionKind().converter(session, str(path), batch_id)
    rows = open_rows(path, COLUMNS, REQUIRED, "interactions")
    good: list[tuple[Any, ...]] = []
    started = time.perf_counter()
    for line, values, _raw in rows.rows():
        row, _problems = convert(values, line)
        if row is not None:
            good.append(row[: len(STORED)])
    seconds = time.perf_counter() - started
    rows.close()
    return seconds, good


def store(url: str, rows: list[tuple[Any, ...]]) -> float:
    engine = engine_for(url)
    columns = ", ".join(STORED)
    new_batch(url, rows[0][-1])  # the batch the parsed rows name, in this fresh database
    started = time.perf_counter()
    with engine.connect() as conn:
        driver: Any = conn.connection.driver_connection
        if engine.dialect.name == "sqlite":
            marks = ", ".join("?" for _ in STORED)
            for start in range(0, len(rows), CHUNK):
                driver.execute("BEGIN IMMEDIATE")
                driver.executemany(f"INSERT INTO interaction ({columns}) VALUES ({marks})", rows[start : start + CHUNK])
                driver.execute("COMMIT")
        else:
            for start in range(0, len(rows), CHUNK):
                with (
                    driver.transaction(),
                    driver.cursor() as cursor,
                    cursor.copy(f"COPY interaction ({columns}) FROM STDIN") as copy,
                ):
                    for row in rows[start : start + CHUNK]:
                        copy.write_row(row)
    return time.perf_counter() - started


def ddl(url: str, statements: list[str]) -> float:
    engine = engine_for(url)
    started = time.perf_counter()
    with engine.begin() as conn:
        for statement in statements:
            conn.execute(text(statement))
    return time.perf_counter() - started


SERVER_SIDE = """
INSERT INTO interaction (contract_id, interaction_id, channel, customer_id, started_at, wait_seconds,
    abandoned, handle_seconds, handled_by, resolved, escalated, csat, nps, qa_score, batch_id, next_contact_at)
SELECT c.id, s.interaction_id, s.channel, nullif(s.customer_id, ''), e.at, s.wait_seconds::int,
    s.abandoned::boolean, nullif(s.handle_seconds, '')::int, coalesce(nullif(s.handled_by, ''), 'human'),
    coalesce(nullif(s.resolved, '')::boolean, false), coalesce(nullif(s.escalated, '')::boolean, false),
    nullif(s.csat, '')::int, nullif(s.nps, '')::int, nullif(s.qa_score, '')::numeric, :batch,
    CASE WHEN s.customer_id <> '' THEN
        lead(e.at) OVER (PARTITION BY c.id, s.customer_id ORDER BY e.at, s.line) END
FROM stage_raw s
JOIN contract c ON c.code = s.contract
CROSS JOIN LATERAL (SELECT extract(epoch FROM s.started_at::timestamptz)::bigint AS at) e
ON CONFLICT (contract_id, interaction_id) DO NOTHING
"""


def server_side(url: str, path: Path) -> tuple[float, float]:
    """PostgreSQL parses the CSV (COPY into text columns) and converts it in SQL: the seconds
    of the COPY and of the INSERT ... SELECT."""
    engine = engine_for(url)
    names = ", ".join(f"{c} text" for c in COLUMNS)
    batch_id = new_batch(url)
    with engine.begin() as conn:
        conn.execute(text(f"CREATE UNLOGGED TABLE stage_raw ({names}, line bigserial)"))
    with engine.connect() as conn:
        driver: Any = conn.connection.driver_connection
        started = time.perf_counter()
        with (
            driver.transaction(),
            driver.cursor() as cursor,
            cursor.copy(f"COPY stage_raw ({', '.join(COLUMNS)}) FROM STDIN WITH (FORMAT csv, HEADER true)") as copy,
            path.open("rb") as handle,
        ):
            while block := handle.read(1 << 20):
                copy.write(block)
        copied = time.perf_counter() - started
    with engine.begin() as conn:
        conn.execute(text("SET LOCAL work_mem = '256MB'"))
        started = time.perf_counter()
        conn.execute(text(SERVER_SIDE), {"batch": batch_id})
        inserted = time.perf_counter() - started
    return copied, inserted


def run_engine(name: str, data: Dataset, rows_wanted: int) -> None:
    def rate(seconds: float) -> str:
        return f"{rows_wanted / seconds:,.0f} rows/s ({seconds:.1f} s)"

    def fresh(step: Callable[[str], None]) -> None:
        with fresh_database(name, "floor") as url:
            load_contracts(url, data.contracts)
            step(url)

    converted: list[tuple[Any, ...]] = []

    def parse_step(url: str) -> None:
        seconds, rows = parse(url, data.interactions)
        converted.extend(rows)
        say(f"{name}: parse {rate(seconds)} [{load()}]")

    def store_step(url: str) -> None:
        say(f"{name}: store, all indexes {rate(store(url, converted))} [{load()}]")

    def unique_only_step(url: str) -> None:
        ddl(url, [f"DROP INDEX {index}" for index in SECONDARY])
        seconds = store(url, converted)
        build = ddl(url, [f"CREATE INDEX {index} ON interaction {cols}" for index, cols in SECONDARY.items()])
        say(
            f"{name}: store, unique index only {rate(seconds)}; building the two secondary indexes "
            f"after: {build:.1f} s; together {rate(seconds + build)} [{load()}]"
        )

    def server_step(url: str) -> None:
        copied, inserted = server_side(url, data.interactions)
        say(
            f"{name}: server-side COPY of the raw CSV {rate(copied)}; INSERT ... SELECT with casts, LEAD and "
            f"ON CONFLICT into the indexed table {rate(inserted)}; together {rate(copied + inserted)} [{load()}]"
        )

    fresh(parse_step)
    fresh(store_step)
    fresh(unique_only_step)
    if name == "postgresql":
        fresh(server_step)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    benchmark_arguments(parser, rows=1_000_000, contracts=100)
    args = parser.parse_args(argv)
    data = dataset(args.contracts, args.rows, args.month, args.seed)
    for name in engine_names(args):
        run_engine(name, data, data.rows)


if __name__ == "__main__":
    main()
