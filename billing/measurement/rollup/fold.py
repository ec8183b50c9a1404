"""Folding interactions into their days, and moving repeated-resolution counts when a stored
contact's next contact changes. SQL run inside the database; nothing loops over rows in Python."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlmodel import Session

from billing.measurement.rollup.common import DAY_SECONDS, QA
from billing.storage.db import is_sqlite
from billing.storage.models import THRESHOLD_SLOTS, WINDOW_SLOTS

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
    ).columns(qa_sum=QA)
    for row in session.connection().execute(statement):
        yield dict(row._mapping)
