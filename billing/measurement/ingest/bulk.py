"""The databases' own bulk paths, used through the raw driver connection.

SQLite: one ``executemany`` of ``INSERT ... ON CONFLICT DO NOTHING`` inside the chunk's
transaction; the driver's change counter says how many rows were new. PostgreSQL: ``COPY``
into a temporary staging table, then one ``INSERT ... SELECT ... ON CONFLICT DO NOTHING``
whose row count says the same. Both skip rows whose natural key is stored already, including
a key repeated inside the same file, which is how imports stay idempotent.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Table, select, tuple_
from sqlmodel import Session

from billing.core.limits import shown
from billing.storage.db import is_sqlite


def write_rows(
    session: Session,
    table: str,
    columns: Sequence[str],
    conflict: Sequence[str],
    rows: list[tuple[Any, ...]],
    update: Sequence[str] = (),
) -> int:
    """Insert ``rows`` (tuples in ``columns`` order); on a key conflict do nothing, or update
    the ``update`` columns. Returns the rows inserted or updated."""
    if not rows:
        return 0
    names = ", ".join(columns)
    keys = ", ".join(conflict)
    action = "DO UPDATE SET " + ", ".join(f"{c} = excluded.{c}" for c in update) if update else "DO NOTHING"
    driver = session.connection().connection.driver_connection
    if is_sqlite(session):
        marks = ", ".join("?" for _ in columns)
        before = driver.total_changes  # type: ignore[union-attr]
        driver.executemany(  # type: ignore[union-attr]
            f"INSERT INTO {table} ({names}) VALUES ({marks}) ON CONFLICT ({keys}) {action}", rows
        )
        return int(driver.total_changes - before)  # type: ignore[union-attr]
    stage = f"stage_{table}"
    with driver.cursor() as cursor:  # type: ignore[union-attr]
        cursor.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {stage} ON COMMIT DELETE ROWS AS SELECT {names} FROM {table} WITH NO DATA"
        )
        with cursor.copy(f"COPY {stage} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        cursor.execute(f"INSERT INTO {table} ({names}) SELECT {names} FROM {stage} ON CONFLICT ({keys}) {action}")
        written = int(cursor.rowcount)
        cursor.execute(f"DELETE FROM {stage}")  # another write in this transaction starts empty
    return written


def contract_ids(session: Session) -> dict[str, int]:
    """Contract code -> id, read once per chunk (a few hundred rows at most)."""
    from billing.storage.models import Contract

    table = Contract.__table__.c  # type: ignore[attr-defined]
    return {str(code): int(cid) for code, cid in session.execute(select(table.code, table.id))}


#: ``bad(column, code, message)``: how a converter records one problem of the current row.
Report = Callable[[str, str, str], None]


def check_contract(code: str, contracts: dict[str, int], bad: Report) -> None:
    """The row's contract code is present and loaded."""
    if not code:
        bad("contract", "missing_value", "is required")
    elif code not in contracts:
        bad("contract", "unknown_contract", f"unknown contract {shown(code)}: load the contract first")


def exact_number(text: str, scale: Decimal) -> Decimal | None:
    """A finite decimal with no more places than ``scale`` allows, or None."""
    try:
        number = Decimal(text)
    except (InvalidOperation, ValueError):
        return None
    if not number.is_finite() or number != number.quantize(scale):
        return None
    return number


def stored_keys(session: Session, table: Table, columns: Sequence[str], wanted: Sequence[tuple[Any, ...]]) -> set[str]:
    """The row keys of ``wanted`` (each ``(*column values, row key)``) whose values of
    ``columns`` are already stored in ``table``: one query per 300 keys."""
    found: set[str] = set()
    cols = [table.c[name] for name in columns]
    width = len(columns)
    for start in range(0, len(wanted), 300):
        part = wanted[start : start + 300]
        stored = set(session.execute(select(*cols).where(tuple_(*cols).in_([p[:width] for p in part]))).all())
        found.update(p[width] for p in part if tuple(p[:width]) in stored)
    return found
