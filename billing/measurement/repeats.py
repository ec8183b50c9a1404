"""Resolutions re-judged: the rows of a period imported by an earlier batch, with the
repeat-contact rule applied against every contact known now (``next_contact_at`` as the
importer maintains it over all rows). Reconciliation and simulation use it to tell a
resolution that became a repeat contact after an invoice was issued from late data."""

from __future__ import annotations

from sqlalchemy import Integer, and_, case, func, literal, not_, or_, select, type_coerce
from sqlmodel import Session

from billing.core.periods import Period
from billing.measurement.rollup import DAY_SECONDS
from billing.storage.models import Interaction


def resolutions_known_now(
    session: Session,
    contract_id: int,
    period: Period,
    timezone: str,
    repeat_window_days: int,
    exclude_escalated: bool,
    as_of: int,
) -> dict[tuple[str, str], int]:
    """Resolutions per (channel, handled_by) among the period's rows imported by batch ``as_of``,
    judged with ``next_contact_at`` as it stands now (maintained over all imported rows)."""
    start, end = period.bounds(timezone)
    i = Interaction.__table__.c  # type: ignore[attr-defined]
    conditions = [
        i.contract_id == contract_id,
        i.started_at >= start,
        i.started_at < end,
        i.batch_id <= as_of,
        not_(i.abandoned),
        i.resolved,
    ]
    if exclude_escalated:
        conditions.append(not_(i.escalated))
    window = literal(repeat_window_days * DAY_SECONDS, Integer)
    repeat_free = or_(
        i.customer_id.is_(None),
        i.next_contact_at.is_(None),
        type_coerce(i.next_contact_at, Integer) - type_coerce(i.started_at, Integer) > window,
    )
    query = (
        select(i.channel, i.handled_by, func.sum(case((repeat_free, 1), else_=0)))
        .where(and_(*conditions))
        .group_by(i.channel, i.handled_by)
    )
    rows = session.connection().execute(query).all()
    return {(channel, handled_by): int(count or 0) for channel, handled_by, count in rows}
