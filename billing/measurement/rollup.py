"""The daily outcome rollup: additive sums per (contract, local day, channel, handled_by),
kept in the database by every writer of interactions, in the transaction that writes them.

A period is exactly its local days (``billing.core.periods.LocalCalendar``), so a contract-period's
``OutcomeCell`` sums are a sum of its days' rows: a few hundred rows instead of every
interaction. Everything here is SQL run inside the database; nothing loops over interactions
in Python.

**The invariant.** For every contract with a basis (``OutcomeBasis``), ``outcome_day`` holds
exactly what one grouped query over the contract's interactions would give under that basis.
Three writers keep it, each in the same transaction as the rows it changes:

- ``fold``: new rows are grouped and added (an import chunk, or a rebuild);
- ``apply_next_changes``: when a stored row's next contact changes (a later contact arrives,
  a late one is slotted in), the repeated-resolution counts of its day move by the difference;
- ``rebuild``: when the basis changes (a contract version brings a new threshold or window),
  the contract's days are computed again from its interactions.

**The basis.** Answers and abandons are counted within up to four waits (``threshold_k``:
20 s, the KPI default, and every service level's threshold in any version of the terms), and
repeated resolutions within up to two repeat windows (``window_k``). A measurement whose
thresholds and window are all in the basis reads the rollup; any other (an ad-hoc
``--threshold``, a simulation under other terms, a measurement as of an earlier import) reads
the interactions (``billing.measurement.queries``). Both give the same numbers: the tests compare
them on random data, and ``verify`` compares them on a live database.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import text
from sqlmodel import Session

from billing.contracts.terms import DEFAULT_THRESHOLD_SECONDS, ContractTerms
from billing.core.periods import LocalCalendar, day_of_number, day_start
from billing.storage.db import is_sqlite
from billing.storage.models import THRESHOLD_SLOTS, WINDOW_SLOTS, OutcomeBasis
from billing.storage.types import Exact

DAY_SECONDS = 86400
#: Any constant identifies the interaction writers' advisory lock on PostgreSQL (imports,
#: rollup rebuilds); SQLite writers serialize on ``BEGIN IMMEDIATE``.
WRITER_LOCK = 0x1A7E_C0DE
_QA = Exact(scale=2, precision=18)


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
    from billing.contracts.store import terms_from_source, versions_of

    versions = versions_of(session, contract_id)
    if not versions:
        return False
    wanted = basis_of([terms_from_source(v.source_text, v.source_name) for v in versions])
    stored = stored_bases(session, [contract_id]).get(contract_id)
    if stored is not None and stored.includes(wanted):
        return False
    lock_writers(session)
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
    run(f"DELETE FROM outcome_day WHERE contract_id = {int(contract_id)}")
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


# -- folding rows in -----------------------------------------------------------------------

_KEYS = ("contract_id", "local_day", "channel", "handled_by")


def _repeated(next_at: str, k: int) -> str:
    """The contact's customer came back within window ``k`` (``next_at``: the next contact)."""
    return (
        f"r.customer_id IS NOT NULL AND {next_at} IS NOT NULL "
        f"AND {next_at} - r.started_at <= b.window_{k} * {DAY_SECONDS}"
    )


def _sums(thresholds: int, windows: int) -> list[tuple[str, str]]:
    """(column, aggregate over rows ``r`` joined to their basis ``b``) for every rollup column
    the slots in use need. Booleans are tested as such (SQLite stores them as 0 and 1)."""
    answered, plain, escalated = (
        "NOT r.abandoned",
        "NOT r.abandoned AND r.resolved AND NOT r.escalated",
        "NOT r.abandoned AND r.resolved AND r.escalated",
    )
    sums = [
        ("offered", "count(*)"),
        ("abandoned", "count(*) FILTER (WHERE r.abandoned)"),
        ("answered_wait_sum", f"coalesce(sum(r.wait_seconds) FILTER (WHERE {answered}), 0)"),
        ("handle_sum", f"coalesce(sum(r.handle_seconds) FILTER (WHERE {answered}), 0)"),
    ]
    for k in range(thresholds):
        sums.append(
            (f"answered_within_{k}", f"count(*) FILTER (WHERE {answered} AND r.wait_seconds <= b.threshold_{k})")
        )
        sums.append(
            (f"abandoned_within_{k}", f"count(*) FILTER (WHERE r.abandoned AND r.wait_seconds <= b.threshold_{k})")
        )
    sums += [
        ("resolved_plain", f"count(*) FILTER (WHERE {plain})"),
        ("resolved_escalated", f"count(*) FILTER (WHERE {escalated})"),
    ]
    for k in range(windows):
        sums.append((f"repeated_plain_{k}", f"count(*) FILTER (WHERE {plain} AND {_repeated('r.next_contact_at', k)})"))
        sums.append(
            (f"repeated_escalated_{k}", f"count(*) FILTER (WHERE {escalated} AND {_repeated('r.next_contact_at', k)})")
        )
    sums += [
        ("csat_n", "count(r.csat)"),
        ("csat_good", "count(*) FILTER (WHERE r.csat >= 4)"),
        ("nps_n", "count(r.nps)"),
        ("nps_promoters", "count(*) FILTER (WHERE r.nps >= 9)"),
        ("nps_detractors", "count(*) FILTER (WHERE r.nps <= 6)"),
        ("qa_n", "count(r.qa_score)"),
        ("qa_sum", "coalesce(sum(r.qa_score), 0)"),
        ("newest_batch", "max(r.batch_id)"),
    ]
    return sums


def _upsert(sqlite: bool, columns: Sequence[str], into: str = "outcome_day") -> str:
    added = [
        f"{c} = {into}.{c} + excluded.{c}"
        if c != "newest_batch"
        else f"newest_batch = {'max' if sqlite else 'greatest'}({into}.newest_batch, excluded.newest_batch)"
        for c in columns
    ]
    return f"ON CONFLICT ({', '.join(_KEYS)}) DO UPDATE SET {', '.join(added)}"


def slots_in_use(session: Session) -> tuple[int, int]:
    """How many threshold and window slots any basis uses (the statements skip the rest)."""
    row = (
        session.connection()
        .exec_driver_sql(
            "SELECT max(CASE WHEN threshold_3 IS NOT NULL THEN 4 WHEN threshold_2 IS NOT NULL THEN 3 "
            "WHEN threshold_1 IS NOT NULL THEN 2 WHEN threshold_0 IS NOT NULL THEN 1 ELSE 0 END), "
            "max(CASE WHEN window_1 IS NOT NULL THEN 2 WHEN window_0 IS NOT NULL THEN 1 ELSE 0 END) "
            "FROM outcome_basis"
        )
        .one()
    )
    return int(row[0] or 0), int(row[1] or 0)


def fold_statement(sqlite: bool, source: str, where: str, slots: tuple[int, int], into: str = "outcome_day") -> str:
    """Add the rows of ``source`` (a FROM item aliased ``r``) that match ``where`` to their
    days in ``into`` (``outcome_day``, or a table of its shape). The rows of a contract
    without a basis are left out (its days do not exist yet)."""
    sums = _sums(*slots)
    columns = [name for name, _ in sums]
    return (
        f"INSERT INTO {into} ({', '.join((*_KEYS, *columns))}) "
        f"SELECT {', '.join(f'r.{k}' for k in _KEYS)}, {', '.join(expr for _, expr in sums)} "
        f"FROM {source} CROSS JOIN outcome_basis b WHERE b.contract_id = r.contract_id AND "
        f"({where}) GROUP BY {', '.join(f'r.{k}' for k in _KEYS)} {_upsert(sqlite, columns, into)}"
    )


def fold(session: Session, source: str, where: str, params: dict[str, Any] | None = None) -> None:
    statement = fold_statement(is_sqlite(session), source, where, slots_in_use(session))
    session.connection().execute(text(statement), params or {})


# -- next contacts that change ---------------------------------------------------------------

#: Stored rows whose next contact is about to change: (interaction id, new next contact).
NEXT_CHANGE_TABLE = "next_change"


def create_next_change_table(session: Session) -> None:
    columns = "(id bigint PRIMARY KEY, next_at bigint)"
    ddl = f"CREATE TEMP TABLE IF NOT EXISTS {NEXT_CHANGE_TABLE} {columns}"
    if is_sqlite(session):
        ddl = ddl.replace("bigint PRIMARY KEY", "INTEGER PRIMARY KEY")  # the rowid itself
    else:
        ddl += " ON COMMIT DELETE ROWS"
    session.connection().exec_driver_sql(ddl)


def apply_next_changes(session: Session, changes: str, params: dict[str, Any] | None = None) -> int:
    """Set the next contact of the rows ``changes`` lists (a query of ``(id, next_at)``, only
    rows whose value really changes) and move their days' repeated-resolution counts by the
    difference, before the old values are gone. Returns the rows changed."""
    sqlite = is_sqlite(session)
    connection = session.connection()
    create_next_change_table(session)
    connection.execute(text(f"INSERT INTO {NEXT_CHANGE_TABLE} (id, next_at) {changes}"), params or {})
    _, windows = slots_in_use(session)
    if windows:
        deltas: list[tuple[str, str]] = []
        for k in range(windows):
            for name, flag in (("plain", "NOT r.escalated"), ("escalated", "r.escalated")):
                new, old = _repeated("c.next_at", k), _repeated("r.next_contact_at", k)
                deltas.append(
                    (
                        f"repeated_{name}_{k}",
                        f"sum(CASE WHEN {flag} AND {new} THEN 1 ELSE 0 END) "
                        f"- sum(CASE WHEN {flag} AND {old} THEN 1 ELSE 0 END)",
                    )
                )
        columns = [name for name, _ in deltas]
        connection.exec_driver_sql(
            f"INSERT INTO outcome_day ({', '.join((*_KEYS, *columns))}) "
            f"SELECT {', '.join(f'r.{k}' for k in _KEYS)}, {', '.join(expr for _, expr in deltas)} "
            # CROSS JOIN: SQLite takes the few changed rows first and seeks each by id.
            f"FROM {NEXT_CHANGE_TABLE} c CROSS JOIN interaction r CROSS JOIN outcome_basis b "
            "WHERE r.id = c.id AND b.contract_id = r.contract_id AND NOT r.abandoned AND r.resolved "
            f"GROUP BY {', '.join(f'r.{k}' for k in _KEYS)} {_upsert(sqlite, columns)}"
        )
    if sqlite:  # driven by the changed ids: UPDATE ... FROM would scan the whole table there
        update = (
            f"UPDATE interaction SET next_contact_at = (SELECT c.next_at FROM {NEXT_CHANGE_TABLE} c "
            f"WHERE c.id = interaction.id) WHERE id IN (SELECT id FROM {NEXT_CHANGE_TABLE})"
        )
    else:
        update = (
            f"UPDATE interaction SET next_contact_at = c.next_at FROM {NEXT_CHANGE_TABLE} c WHERE interaction.id = c.id"
        )
    changed = connection.exec_driver_sql(update).rowcount
    connection.exec_driver_sql(f"DELETE FROM {NEXT_CHANGE_TABLE}")
    return int(changed)


# -- reading --------------------------------------------------------------------------------

#: The sums a measurement reads: every rollup column but the keys and ``newest_batch``.
READ_COLUMNS = tuple(name for name, _ in _sums(THRESHOLD_SLOTS, WINDOW_SLOTS) if name != "newest_batch")


@dataclass(frozen=True)
class DaySpan:
    """One request for the rollup: a contract's days ``first`` .. ``last`` (both inclusive)."""

    req: int
    contract_id: int
    first: int
    last: int


def read_spans(session: Session, spans: Sequence[DaySpan]) -> Iterator[dict[str, Any]]:
    """The summed days of every span per (channel, handled_by), in one grouped query: a dict
    per group with ``req``, ``channel``, ``handled_by``, ``READ_COLUMNS`` and ``newest_batch``."""
    if not spans:
        return
    rows = ", ".join(f"({s.req}, {s.contract_id}, {s.first}, {s.last})" for s in spans)
    sums = ", ".join(f"sum(o.{c}) AS {c}" for c in READ_COLUMNS)
    statement = text(
        f"WITH span (req, contract_id, first_day, last_day) AS (VALUES {rows}) "
        f"SELECT s.req, o.channel, o.handled_by, {sums}, max(o.newest_batch) AS newest_batch "
        "FROM span s JOIN outcome_day o ON o.contract_id = s.contract_id "
        "AND o.local_day >= s.first_day AND o.local_day <= s.last_day "
        "GROUP BY s.req, o.channel, o.handled_by"
    ).columns(qa_sum=_QA)
    for row in session.connection().execute(statement):
        yield dict(row._mapping)


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
    for cell in sorted(stored.keys() | recounted.keys()):
        mine, theirs = stored.get(cell, zero), recounted.get(cell, zero)
        for column, a, b in zip(columns, mine, theirs, strict=True):
            if a != b:
                contract_id, local_day, channel, handled_by = cell
                differences.append(Difference(contract_id, local_day, channel, handled_by, column, a, b))
    return differences
