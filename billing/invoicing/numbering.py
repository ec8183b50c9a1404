"""Gapless, correlative document numbers, one sequence per series.

A number is taken only when a document is issued, inside the transaction that flips its
status, in three steps:

1. ``take_number`` locks the series' counter row (creating it, if missing, at the highest
   number its documents hold) and returns the next number. On PostgreSQL the row stays locked
   until the issuing transaction ends, so concurrent issuers in one series queue behind each
   other; on SQLite every write transaction starts with ``BEGIN IMMEDIATE``.
2. The caller gives that number to the document (the database checks it is the next one of
   the series and that the issue date does not go back: migration 0009).
3. ``confirm_number`` advances the counter by one, to the number the document now holds: the
   database refuses any other move of a counter (back, by more than one, to a number no issued
   document holds, a delete).

A rollback gives the number back, so the series never has a gap.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import exists, literal, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from billing.storage.models import Document, SeriesCounter

DIGITS = 8


def format_number(series: str, number: int) -> str:
    """``F001`` and 7 -> ``F001-00000007``."""
    return f"{series}-{number:0{DIGITS}d}"


def take_number(session: Session, series: str) -> tuple[int, str]:
    """The next number of ``series`` and its text; the series stays locked until the caller's
    transaction ends. The number is the caller's once a document holds it and
    ``confirm_number`` has advanced the counter."""
    highest = select(func.coalesce(func.max(Document.number), 0)).where(col(Document.series) == series)
    locked = select(col(SeriesCounter.last_number)).where(col(SeriesCounter.series) == series).with_for_update()
    last = session.execute(locked).scalar()
    if last is None:  # the series' first number: create its counter
        _create_counter(session, series, highest)
        last = session.execute(locked).scalar_one()
    # Numbers given outside this path (direct SQL, which the database still holds to the
    # series' order) are caught up with, one at a time, as the database allows.
    top = session.execute(highest).scalar_one()
    while last < top:
        last += 1
        confirm_number(session, series, last)
    return last + 1, format_number(series, last + 1)


def _create_counter(session: Session, series: str, highest: Any) -> None:
    """Create the counter of ``series`` at the highest number its documents hold. Two first
    issuers in a new series may race (PostgreSQL): the loser's insert does nothing, or is
    refused by the counter's guard once the winner has committed; either way the counter exists
    afterwards, so the refusal is rolled back alone (a savepoint) and ignored."""
    missing = ~exists().where(col(SeriesCounter.series) == series)
    try:
        with session.begin_nested():
            session.execute(
                dialect_insert(session, SeriesCounter)
                .from_select(
                    ["series", "last_number"], select(literal(series), highest.scalar_subquery()).where(missing)
                )
                .on_conflict_do_nothing()
            )
    except IntegrityError:
        pass


def confirm_number(session: Session, series: str, number: int) -> None:
    """Advance the counter of ``series`` to ``number``, which an issued document now holds."""
    session.flush()
    session.execute(
        update(SeriesCounter)
        .where(col(SeriesCounter.series) == series, col(SeriesCounter.last_number) == number - 1)
        .values(last_number=number)
    )


def last_issue_date(session: Session, series: str, number: int) -> date | None:
    """The issue date of the document numbered just before ``number`` in ``series``: the date
    the next document of the series may not precede."""
    if number <= 1:
        return None
    found: date | None = session.execute(
        select(col(Document.issue_date)).where(col(Document.series) == series, col(Document.number) == number - 1)
    ).scalar()
    return found


def dialect_insert(session: Session, model: Any) -> Any:
    """An INSERT that knows ``ON CONFLICT`` on the session's engine (SQLite or PostgreSQL)."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(model)
    return sqlite.insert(model)
