"""Where an interaction import's time goes: the importer's stages measured apart, each on a
fresh database migrated by Alembic with the synthetic contracts loaded.

    .venv/bin/python -m benchmarks.bench_import_floor                      # 1M rows, both engines
    .venv/bin/python -m benchmarks.bench_import_floor --rows 2000000 --engines postgresql
    .venv/bin/python -m benchmarks.bench_import_floor --rows 2000 --contracts 5   # a smoke run

Per engine it prints rows per second for:

- ``parse``: the importer's own CSV reader and row converter over the file, no database;
- ``store``: the converted rows (``STORED``: ids, values, batch and local day) written in
  20,000-row transactions by the engine's plain bulk path (SQLite ``executemany``; PostgreSQL
  ``COPY``) into the interaction table with all its indexes and foreign-key checks, and nothing
  else (no ``next_contact_at``, no duplicate check, no daily rollup);
- ``store, unique index only``: the same with the table's secondary indexes dropped, and the
  time to build them again (from the statements the migrations created them with);
- PostgreSQL only, ``server-side``: the raw CSV copied by the server into a text staging table
  (no Python per row) and turned into interactions by one ``INSERT ... SELECT`` with casts, the
  local day, ``LEAD`` for the next contact and ``ON CONFLICT``: the least Python an import can do.

``store`` writes the parsed rows into another fresh database: it creates the import batch they
name there and stops if the contracts got other ids than in the parse's database. After each
write (untimed) it checks that every parsed row is stored, on the importer's local days.

The importer runs ``parse`` in a reader process overlapped with the writer, so its throughput
is at most the slower of the two.
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
from billing.measurement.ingest.bulk import contract_ids
from billing.measurement.ingest.files import open_rows
from billing.measurement.ingest.interactions import COLUMNS, REQUIRED, STORED, InteractionKind
from billing.storage.models import ImportBatch

CHUNK = 20_000
#: The interaction table's secondary indexes (not the key's, not the unique constraint's), as
#: the migrations created them: name -> the statement that creates it again.
SECONDARY_INDEXES = {
    "sqlite": "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'interaction' "
    "AND sql IS NOT NULL AND sql NOT LIKE 'CREATE UNIQUE%'",
    "postgresql": "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'interaction' "
    "AND indexdef NOT LIKE 'CREATE UNIQUE%'",
}


def new_batch(url: str, batch_id: int | None = None) -> int:
    from sqlmodel import Session

    with Session(engine_for(url)) as session:
        batch = ImportBatch(id=batch_id, kind="interactions", source="floor")
        session.add(batch)
        session.commit()
        assert batch.id is not None
        return batch.id


def parse(url: str, path: Path) -> tuple[float, list[tuple[Any, ...]], dict[str, int]]:
    """The importer's reader and converter: seconds, the rows it would store (``STORED``) and
    the contract ids (by code) they were converted with."""
    from sqlmodel import Session

    batch_id = new_batch(url)
    with Session(engine_for(url)) as session:
        convert = InteractionKind().converter(session, str(path), batch_id)
        contracts = contract_ids(session)
    rows = open_rows(path, COLUMNS, REQUIRED, "interactions")
    good: list[tuple[Any, ...]] = []
    started = time.perf_counter()
    for line, values, _raw in rows.rows():
        row, _problems = convert(values, line)
        if row is not None:
            good.append(row[: len(STORED)])
    seconds = time.perf_counter() - started
    rows.close()
    return seconds, good, contracts


def parsed_into(url: str, rows: list[tuple[Any, ...]], contracts: dict[str, int]) -> None:
    """Make this fresh database hold what the parsed rows point at: the import batch they
    name (``batch_id``, found by its column name: ``STORED`` no longer ends with it since
    ``local_day`` was added) and the same contract ids the parse's database gave each code."""
    from sqlmodel import Session

    with Session(engine_for(url)) as session:
        here = contract_ids(session)
    if here != contracts:
        raise SystemExit(f"contract ids differ between the parse's database and this one: {contracts} vs {here}")
    new_batch(url, rows[0][STORED.index("batch_id")])


def store(url: str, rows: list[tuple[Any, ...]], contracts: dict[str, int]) -> float:
    engine = engine_for(url)
    columns = ", ".join(STORED)
    parsed_into(url, rows, contracts)
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


def check_stored(url: str, rows: list[tuple[Any, ...]], step: str) -> None:
    """Untimed: the step stored every parsed row, on the same local days as the importer."""
    day = STORED.index("local_day")
    with engine_for(url).connect() as conn:
        count, days = conn.execute(text("SELECT COUNT(*), COALESCE(SUM(local_day), 0) FROM interaction")).one()
    if (int(count), int(days)) != (len(rows), sum(row[day] for row in rows)):
        raise SystemExit(f"{step}: stored {count} rows (local days summing to {days}), parsed {len(rows)}")


def secondary_indexes(url: str) -> dict[str, str]:
    engine = engine_for(url)
    with engine.connect() as conn:
        found = {str(name): str(sql) for name, sql in conn.execute(text(SECONDARY_INDEXES[engine.dialect.name]))}
    if len(found) < 2:
        raise SystemExit(f"expected the interaction table's secondary indexes, found {sorted(found)}")
    return found


def ddl(url: str, statements: list[str]) -> float:
    engine = engine_for(url)
    started = time.perf_counter()
    with engine.begin() as conn:
        for statement in statements:
            conn.execute(text(statement))
    return time.perf_counter() - started


SERVER_SIDE = """
INSERT INTO interaction (contract_id, interaction_id, channel, customer_id, started_at, wait_seconds,
    abandoned, handle_seconds, handled_by, resolved, escalated, csat, nps, qa_score, batch_id, local_day,
    next_contact_at)
SELECT c.id, s.interaction_id, s.channel, nullif(s.customer_id, ''), e.at, s.wait_seconds::int,
    s.abandoned::boolean, nullif(s.handle_seconds, '')::int, coalesce(nullif(s.handled_by, ''), 'human'),
    coalesce(nullif(s.resolved, '')::boolean, false), coalesce(nullif(s.escalated, '')::boolean, false),
    nullif(s.csat, '')::int, nullif(s.nps, '')::int, nullif(s.qa_score, '')::numeric, :batch,
    (s.started_at::timestamptz AT TIME ZONE z.timezone)::date - date '1970-01-01',
    CASE WHEN s.customer_id <> '' THEN
        lead(e.at) OVER (PARTITION BY c.id, s.customer_id ORDER BY e.at, s.line) END
FROM stage_raw s
JOIN contract c ON c.code = s.contract
JOIN stage_zone z ON z.code = s.contract
CROSS JOIN LATERAL (SELECT extract(epoch FROM s.started_at::timestamptz)::bigint AS at) e
ON CONFLICT (contract_id, interaction_id) DO NOTHING
"""


def server_side(url: str, path: Path, zones: dict[str, str]) -> tuple[float, float]:
    """PostgreSQL parses the CSV (COPY into text columns) and converts it in SQL, the local day
    included (each contract's time zone, ``zones`` by code, in a small table): the seconds of
    the COPY and of the INSERT ... SELECT."""
    engine = engine_for(url)
    names = ", ".join(f"{c} text" for c in COLUMNS)
    batch_id = new_batch(url)
    with engine.begin() as conn:
        conn.execute(text(f"CREATE UNLOGGED TABLE stage_raw ({names}, line bigserial)"))
        conn.execute(text("CREATE UNLOGGED TABLE stage_zone (code text PRIMARY KEY, timezone text NOT NULL)"))
        conn.execute(
            text("INSERT INTO stage_zone (code, timezone) VALUES (:code, :timezone)"),
            [{"code": code, "timezone": zone} for code, zone in zones.items()],
        )
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
    contracts: dict[str, int] = {}

    def parse_step(url: str) -> None:
        seconds, rows, ids = parse(url, data.interactions)
        converted.extend(rows)
        contracts.update(ids)
        say(f"{name}: parse {rate(seconds)} [{load()}]")

    def store_step(url: str) -> None:
        seconds = store(url, converted, contracts)
        check_stored(url, converted, "store")
        say(f"{name}: store, all indexes {rate(seconds)} [{load()}]")

    def unique_only_step(url: str) -> None:
        indexes = secondary_indexes(url)
        ddl(url, [f"DROP INDEX {index}" for index in indexes])
        seconds = store(url, converted, contracts)
        check_stored(url, converted, "store, unique index only")
        build = ddl(url, list(indexes.values()))
        say(
            f"{name}: store, unique index only {rate(seconds)}; building the {len(indexes)} secondary indexes "
            f"after: {build:.1f} s; together {rate(seconds + build)} [{load()}]"
        )

    def server_step(url: str) -> None:
        copied, inserted = server_side(url, data.interactions, {spec.contract: spec.timezone for spec in data.specs})
        check_stored(url, converted, "server-side")
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
