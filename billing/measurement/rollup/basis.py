"""The basis of a contract's rollup: the thresholds and repeat windows it counts against, kept
in step with every version of the contract's terms (a new basis rebuilds the contract's days)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import text
from sqlmodel import Session

from billing.contracts.store import terms_from_source, versions_of
from billing.contracts.terms import DEFAULT_THRESHOLD_SECONDS, ContractTerms
from billing.core.periods import LocalCalendar, day_of_number, day_start
from billing.measurement.purged import PeriodPurged, purges
from billing.measurement.rollup.common import WRITER_LOCK
from billing.measurement.rollup.fold import fold
from billing.storage.db import is_sqlite
from billing.storage.models import THRESHOLD_SLOTS, WINDOW_SLOTS, OutcomeBasis


@dataclass(frozen=True)
class Basis:
    """The thresholds (seconds) and repeat windows (days) a contract's rollup counts against."""

    timezone: str
    thresholds: tuple[int, ...]
    windows: tuple[int, ...]

    def covers(self, timezone: str, thresholds: Iterable[int], window: int) -> bool:
        return timezone == self.timezone and window in self.windows and all(t in self.thresholds for t in thresholds)

    def includes(self, other: Basis) -> bool:
        """Everything ``other`` counts is counted here (same zone, its thresholds and windows)."""
        return (
            other.timezone == self.timezone
            and set(other.thresholds) <= set(self.thresholds)
            and set(other.windows) <= set(self.windows)
        )


def basis_of(terms: Sequence[ContractTerms]) -> Basis:
    """The basis for a contract's versions (oldest first). The newest version's thresholds and
    window take the slots first, so when the versions use more than the slots hold, what is
    billed now reads the rollup and the rest reads the rows."""
    newest_first = list(reversed(terms))
    thresholds = [DEFAULT_THRESHOLD_SECONDS]
    windows: list[int] = []
    for version in newest_first:
        if version.service_levels:
            thresholds += [level.threshold_seconds for level in version.service_levels.levels]
        windows.append(version.resolution.repeat_window_days)
    return Basis(
        newest_first[0].timezone,
        tuple(dict.fromkeys(thresholds))[:THRESHOLD_SLOTS],
        tuple(dict.fromkeys(windows))[:WINDOW_SLOTS],
    )


def stored_bases(session: Session, contract_ids: Iterable[int] | None = None) -> dict[int, Basis]:
    slots = [*(f"threshold_{k}" for k in range(THRESHOLD_SLOTS)), *(f"window_{k}" for k in range(WINDOW_SLOTS))]
    query = f"SELECT contract_id, timezone, {', '.join(slots)} FROM outcome_basis"
    if contract_ids is not None:
        wanted = sorted({int(c) for c in contract_ids})
        if not wanted:
            return {}
        query += f" WHERE contract_id IN ({', '.join(map(str, wanted))})"
    out: dict[int, Basis] = {}
    for row in session.connection().exec_driver_sql(query):
        out[int(row[0])] = Basis(
            str(row[1]),
            tuple(int(t) for t in row[2 : 2 + THRESHOLD_SLOTS] if t is not None),
            tuple(int(w) for w in row[2 + THRESHOLD_SLOTS :] if w is not None),
        )
    return out


def lock_writers(session: Session) -> None:
    """Serialize with every other writer of interactions and rollups (PostgreSQL; on SQLite
    the writing transaction's ``BEGIN IMMEDIATE`` already does)."""
    if not is_sqlite(session):
        session.connection().exec_driver_sql(f"SELECT pg_advisory_xact_lock({WRITER_LOCK})")


# -- keeping the basis ---------------------------------------------------------------------


def ensure_basis(session: Session, contract_id: int) -> bool:
    """Give the contract the basis its versions need; rebuild its days when that basis is new
    or not covered by the stored one. Returns whether it rebuilt."""
    versions = versions_of(session, contract_id)
    if not versions:
        return False
    wanted = basis_of([terms_from_source(v.source_text, v.source_name) for v in versions])
    stored = stored_bases(session, [contract_id]).get(contract_id)
    if stored is not None and stored.includes(wanted):
        return False
    lock_writers(session)
    _keeps_purged_slots(session, contract_id, stored, wanted)
    if stored is not None and stored.timezone != wanted.timezone:  # local days were filed by the old zone
        session.connection().exec_driver_sql(
            f"UPDATE interaction SET local_day = NULL WHERE contract_id = {int(contract_id)}"
        )
    row = session.get(OutcomeBasis, contract_id) or OutcomeBasis(contract_id=contract_id, timezone=wanted.timezone)
    row.timezone = wanted.timezone
    for k in range(THRESHOLD_SLOTS):
        setattr(row, f"threshold_{k}", wanted.thresholds[k] if k < len(wanted.thresholds) else None)
    for k in range(WINDOW_SLOTS):
        setattr(row, f"window_{k}", wanted.windows[k] if k < len(wanted.windows) else None)
    session.add(row)
    session.flush()
    rebuild(session, contract_id)
    return True


def ensure_all(session: Session) -> list[int]:
    """Every contract gets its basis and rollup (``billing init``: databases from before the
    rollup, and contracts whose basis went missing). Returns the contracts rebuilt."""
    ids = [int(cid) for (cid,) in session.connection().exec_driver_sql("SELECT id FROM contract ORDER BY id")]
    return [cid for cid in ids if ensure_basis(session, cid)]


def rebuild(session: Session, contract_id: int) -> None:
    """The contract's days computed again from all its interactions, under its stored basis."""
    lock_writers(session)
    run = session.connection().exec_driver_sql
    basis = stored_bases(session, [contract_id])[contract_id]
    _fill_local_days(session, contract_id, basis.timezone)
    # Days of periods whose rows retention deleted keep their sums: nothing could count them again.
    kept = " ".join(
        f"AND NOT (local_day BETWEEN {first} AND {last})"
        for first, last in (p.day_numbers() for (_, p) in purges(session, [contract_id]))
    )
    run(f"DELETE FROM outcome_day WHERE contract_id = {int(contract_id)} {kept}")
    fold(session, "interaction AS r", f"r.contract_id = {int(contract_id)}")


def _fill_local_days(session: Session, contract_id: int, timezone: str) -> None:
    """Rows stored before the rollup existed get their local day, through a table of the
    days' bounds in the contract's time zone (SQLite has no time zones)."""
    run = session.connection().exec_driver_sql
    low, high = run(
        "SELECT min(started_at), max(started_at) FROM interaction "
        f"WHERE contract_id = {int(contract_id)} AND local_day IS NULL"
    ).one()
    if low is None:
        return
    calendar = LocalCalendar(timezone)
    first, last = calendar.day_of(int(low)), calendar.day_of(int(high))
    bounds = []
    for number in range(first, last + 1):
        day = day_of_number(number)
        bounds.append((number, day_start(timezone, day), day_start(timezone, day + timedelta(days=1))))
    run("CREATE TEMP TABLE IF NOT EXISTS day_bounds (day INTEGER, lo BIGINT, hi BIGINT)")
    run("DELETE FROM day_bounds")
    session.execute(
        text("INSERT INTO day_bounds (day, lo, hi) VALUES (:d, :lo, :hi)"),
        [{"d": d, "lo": lo, "hi": hi} for d, lo, hi in bounds],
    )
    run(
        "UPDATE interaction SET local_day = (SELECT d.day FROM day_bounds d "
        "WHERE d.lo <= interaction.started_at AND interaction.started_at < d.hi) "
        f"WHERE contract_id = {int(contract_id)} AND local_day IS NULL"
    )
    run("DELETE FROM day_bounds")


def _keeps_purged_slots(session: Session, contract_id: int, stored: Basis | None, wanted: Basis) -> None:
    """A contract some of whose periods' rows were deleted keeps what their days count where it
    is: a new basis may add thresholds and windows, never move or drop one (it would need rows
    that are gone)."""
    found = purges(session, [contract_id])
    if not found or stored is None:
        return
    same_zone = stored.timezone == wanted.timezone
    kept = wanted.thresholds[: len(stored.thresholds)] == stored.thresholds
    windows = wanted.windows[: len(stored.windows)] == stored.windows
    if not (same_zone and kept and windows):
        periods = ", ".join(sorted(str(p) for (_, p) in found))
        raise PeriodPurged(
            f"these terms would count the daily rollup again ({wanted.thresholds} s, {wanted.windows} days, "
            f"{wanted.timezone}), but the interactions of {periods} were deleted by retention"
        )
