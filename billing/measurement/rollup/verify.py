"""Checking the rollup: recount days from their interactions and list every difference."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from billing.measurement.purged import purges
from billing.measurement.rollup.basis import lock_writers, stored_bases
from billing.measurement.rollup.fold import _KEYS, READ_COLUMNS, fold_statement
from billing.storage.db import is_sqlite
from billing.storage.models import THRESHOLD_SLOTS, WINDOW_SLOTS

# -- checking --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Difference:
    """A day whose stored sums differ from a recount of its interactions."""

    contract_id: int
    local_day: int
    channel: str
    handled_by: str
    column: str
    stored: Any
    recounted: Any


def verify(session: Session, contract_ids: Iterable[int] | None = None) -> list[Difference]:
    """Recount the days of the given contracts (default: every one with a basis) from their
    interactions into a temporary table, and list every difference with the stored days."""
    lock_writers(session)  # PostgreSQL: no import may commit between the recount and the read
    bases = stored_bases(session, contract_ids)
    if not bases:
        return []
    run = session.connection().exec_driver_sql
    ids = ", ".join(str(c) for c in sorted(bases))
    run("DROP TABLE IF EXISTS recount")
    run("CREATE TEMP TABLE recount AS SELECT * FROM outcome_day WHERE 1 = 0")
    key = ", ".join(_KEYS)
    if is_sqlite(session):
        run(f"CREATE UNIQUE INDEX temp.recount_key ON recount ({key})")
    else:
        run(f"ALTER TABLE recount ADD PRIMARY KEY ({key})")
    every_slot = (THRESHOLD_SLOTS, WINDOW_SLOTS)
    run(fold_statement(is_sqlite(session), "interaction AS r", f"r.contract_id IN ({ids})", every_slot, "recount"))
    columns = (*READ_COLUMNS, "newest_batch")
    select = f"SELECT {key}, {', '.join(columns)} FROM %s WHERE contract_id IN ({ids})"
    stored = {tuple(row[:4]): row[4:] for row in run(select % "outcome_day")}
    recounted = {tuple(row[:4]): row[4:] for row in run(select % "recount")}
    run("DROP TABLE recount")
    differences = []
    zero = (0,) * len(columns)
    # Days whose rows retention deleted have nothing to recount from: they are kept, not compared.
    gone = [(cid, *p.day_numbers()) for (cid, p) in purges(session, bases)]
    for cell in sorted(stored.keys() | recounted.keys()):
        if any(cell[0] == cid and first <= cell[1] <= last for cid, first, last in gone):
            continue
        mine, theirs = stored.get(cell, zero), recounted.get(cell, zero)
        for column, a, b in zip(columns, mine, theirs, strict=True):
            if a != b:
                contract_id, local_day, channel, handled_by = cell
                differences.append(Difference(contract_id, local_day, channel, handled_by, column, a, b))
    return differences
