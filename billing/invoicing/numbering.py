"""Gapless, correlative document numbers, one sequence per series.

A number is taken only when a document is issued, inside the transaction that flips its
status: the counter row is created if missing (``ON CONFLICT DO NOTHING``) and then
incremented with ``UPDATE ... RETURNING``. On PostgreSQL that UPDATE locks the row until the
issuing transaction ends, so concurrent issuers in one series queue behind each other; on
SQLite every write transaction starts with ``BEGIN IMMEDIATE``. Either way a rollback gives
the number back, so the series never has a gap.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col

from billing.storage.models import SeriesCounter

DIGITS = 8


def format_number(series: str, number: int) -> str:
    """``F001`` and 7 -> ``F001-00000007``."""
    return f"{series}-{number:0{DIGITS}d}"


def take_number(session: Session, series: str) -> tuple[int, str]:
    """The next number of ``series`` and its text, locked until the caller's transaction ends."""
    session.execute(
        dialect_insert(session, SeriesCounter).values(series=series, last_number=0).on_conflict_do_nothing()
    )
    number = session.execute(
        update(SeriesCounter)
        .where(col(SeriesCounter.series) == series)
        .values(last_number=col(SeriesCounter.last_number) + 1)
        .returning(col(SeriesCounter.last_number))
    ).scalar_one()
    return number, format_number(series, number)


def dialect_insert(session: Session, model: Any) -> Any:
    """An INSERT that knows ``ON CONFLICT`` on the session's engine (SQLite or PostgreSQL)."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(model)
    return sqlite.insert(model)
