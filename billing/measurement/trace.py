"""The contacts behind a measured figure, each with its verdict (``billing trace``).

The same rules as the measurement query (``billing.measurement.queries``), contact by contact,
in SQL: the contract's period in its time zone (epoch bounds, so DST days are the days they
are), the rows imported up to a batch (a document's data snapshot), each contact's next contact
recomputed over those rows with ``LEAD`` in the same order (``started_at``, ``id``), the repeat
window, the escalation rule and the channel and handler filter. Each contact gets a reason when
it does not count, in this order: ``filtered_out``, ``abandoned``, ``not_resolved``,
``escalated``, ``repeat_within_window`` (with the id and time of the contact that followed).

A service level's sample is traced the same way: each contact is in the sample or not, adds
to the numerator or not (or adds its value: a wait, a handle time, a score), with a verdict that
says why (``answered_within_threshold``, ``short_abandon_excluded``, ...). The counted contacts
add up exactly to what the measurement gives: a test proves it against ``measure`` on random
data on both engines.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Integer, and_, case, func, literal, not_, null, or_, select, true, tuple_, type_coerce
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session

from billing.contracts.terms import Filter, KpiMetric, ServiceLevelFormula, UsageMetric
from billing.core.periods import Period
from billing.measurement.rollup import DAY_SECONDS
from billing.storage.models import Interaction

#: Why a contact does not count towards a usage line, in the order they are tested.
REASONS = ("filtered_out", "abandoned", "not_resolved", "escalated", "repeat_within_window")
PAGE = 500
MAX_PAGE = 5000


@dataclass(frozen=True)
class TraceScope:
    """Whose contacts, which period, as of which import batch, under which rules."""

    contract_id: int
    period: Period
    timezone: str
    repeat_window_days: int
    exclude_escalated: bool
    as_of_batch: int
    filter: Filter = Filter()  # noqa: RUF009 (a frozen value)


@dataclass(frozen=True)
class Question:
    """What is traced: a usage metric (``usage``) or a service level's sample (``level``)."""

    usage: UsageMetric | None = None
    level: KpiMetric | None = None
    threshold_seconds: int = 20
    formula: ServiceLevelFormula = ServiceLevelFormula.EXCLUDE_SHORT_ABANDONS


def contacts(
    session: Session, scope: TraceScope, question: Question, after: tuple[int, int] | None = None, limit: int = PAGE
) -> list[dict[str, Any]]:
    """Up to ``limit`` contacts in (started_at, id) order, after the cursor ``after``."""
    t = _traced(scope, question)
    query = select(t).order_by(t.c.started_at, t.c.id).limit(max(1, limit))
    if after is not None:
        query = query.where(tuple_(t.c.started_at, t.c.id) > tuple_(literal(after[0]), literal(after[1])))
    return [_contact(row._mapping, question) for row in session.connection().execute(query)]


def totals(session: Session, scope: TraceScope, question: Question) -> dict[str, Any]:
    """How many contacts were looked at, how many count (or are in the sample), what they add up to."""
    t = _traced(scope, question).c
    row = (
        session.connection()
        .execute(
            select(
                func.count().label("contacts"),
                func.count().filter(t.counted).label("counted"),
                func.coalesce(func.sum(t.amount).filter(t.counted), 0).label("amount"),
                func.count().filter(t.in_numerator).label("numerator"),
            )
        )
        .one()
    )
    return {k: row._mapping[k] for k in ("contacts", "counted", "amount", "numerator")}


def _contact(row: Any, question: Question) -> dict[str, Any]:
    started = datetime.fromtimestamp(int(row["started_at"]), UTC)
    out: dict[str, Any] = {
        "interaction_id": row["interaction_id"],
        "started_at": started.isoformat().replace("+00:00", "Z"),
        "channel": row["channel"],
        "handled_by": row["handled_by"],
        "customer": row["customer_id"],
        "counted": bool(row["counted"]),
        "reason": row["reason"],
    }
    if row["reason"] == "repeat_within_window":
        out["next_contact"] = {
            "interaction_id": row["next_id"],
            "started_at": datetime.fromtimestamp(int(row["next_at"]), UTC).isoformat().replace("+00:00", "Z"),
        }
    if question.usage is UsageMetric.HANDLED_MINUTES or question.level is not None:
        out["value"] = None if row["amount"] is None else str(Decimal(row["amount"]))
    if question.level is not None:
        out["in_numerator"] = bool(row["in_numerator"])
    out["cursor"] = f"{int(row['started_at'])}.{int(row['id'])}"
    return out


def parse_cursor(text: str | None) -> tuple[int, int] | None:
    """A cursor as the API hands it out (``started.id``); ``ValueError`` when it is not one."""
    if not text:
        return None
    started, _, row_id = text.partition(".")
    if not (started.lstrip("-").isdigit() and row_id.isdigit()) or len(started) > 13 or len(row_id) > 18:
        raise ValueError(f"not a cursor: {text[:40]!r}")
    return int(started), int(row_id)


def _traced(scope: TraceScope, question: Question) -> Any:
    """The period's rows as of the batch, with the next contact recomputed and each verdict."""
    i = Interaction.__table__.c  # type: ignore[attr-defined]
    lo, hi = (int(bound.timestamp()) for bound in scope.period.bounds(scope.timezone))
    window = int(scope.repeat_window_days) * DAY_SECONDS
    order = [i.started_at, i.id]
    rows = (
        select(
            i.id,
            i.interaction_id,
            i.channel,
            i.handled_by,
            i.started_at,
            i.wait_seconds,
            i.abandoned,
            i.handle_seconds,
            i.customer_id,
            i.resolved,
            i.escalated,
            i.csat,
            i.nps,
            i.qa_score,
            func.lead(i.started_at).over(partition_by=i.customer_id, order_by=order).label("next_at"),
            func.lead(i.interaction_id).over(partition_by=i.customer_id, order_by=order).label("next_id"),
        )
        .where(
            i.contract_id == scope.contract_id,
            i.started_at >= lo,
            i.started_at < hi + window,
            i.batch_id <= scope.as_of_batch,
        )
        .subquery("as_of")
    )
    r = rows.c
    in_period = r.started_at < hi
    repeat = and_(r.customer_id.is_not(None), r.next_at.is_not(None), r.next_at - r.started_at <= window)
    resolution = and_(
        not_(r.abandoned), r.resolved, or_(literal(not scope.exclude_escalated), not_(r.escalated)), not_(repeat)
    )
    matches = _matches(r, scope.filter)
    if question.level is None:
        reason, counted, amount, numerator = _usage_verdict(r, question, scope, matches, repeat)
    else:
        reason, counted, amount, numerator = _level_verdict(r, question, matches, resolution)
    return (
        select(
            r.id,
            r.interaction_id,
            r.channel,
            r.handled_by,
            type_coerce(r.started_at, Integer).label("started_at"),  # epoch seconds, as stored
            r.customer_id,
            type_coerce(r.next_at, Integer).label("next_at"),
            r.next_id,
            reason.label("reason"),
            counted.label("counted"),
            amount.label("amount"),
            numerator.label("in_numerator"),
        )
        .where(in_period)
        .subquery("traced")
    )


def _matches(r: Any, flt: Filter) -> ColumnElement[Any]:
    conditions: list[ColumnElement[Any]] = [true()]
    if flt.channels is not None:
        conditions.append(r.channel.in_(list(flt.channels)))
    if flt.handled_by is not None:
        conditions.append(r.handled_by.in_(list(flt.handled_by)))
    return and_(*conditions)


def _usage_verdict(r: Any, question: Question, scope: TraceScope, matches: Any, repeat: Any) -> tuple[Any, ...]:
    if question.usage is UsageMetric.RESOLUTIONS:
        reason = case(
            (not_(matches), literal("filtered_out")),
            (r.abandoned, literal("abandoned")),
            (not_(r.resolved), literal("not_resolved")),
            (and_(literal(scope.exclude_escalated), r.escalated), literal("escalated")),
            (repeat, literal("repeat_within_window")),
            else_=null(),
        )
    else:
        reason = case((not_(matches), literal("filtered_out")), (r.abandoned, literal("abandoned")), else_=null())
    counted = reason.is_(None)
    if question.usage is UsageMetric.HANDLED_MINUTES:
        amount = case((counted, r.handle_seconds), else_=null())
    else:
        amount = case((counted, literal(1)), else_=null())
    return reason, counted, amount, literal(False)


def _level_verdict(r: Any, question: Question, matches: Any, resolution: Any) -> tuple[Any, ...]:
    """(verdict, in the sample, what it adds, adds to the numerator) of one contact."""
    answered = not_(r.abandoned)
    within = r.wait_seconds <= question.threshold_seconds
    out = literal("filtered_out")
    metric = question.level
    if metric is KpiMetric.SERVICE_LEVEL:
        formula = question.formula
        abandon_counts = formula is not ServiceLevelFormula.ANSWERED_ONLY
        short_counts = formula in (ServiceLevelFormula.ABANDONS_AGAINST, ServiceLevelFormula.ABANDONS_FOR)
        reason = case(
            (not_(matches), out),
            (and_(answered, within), literal("answered_within_threshold")),
            (answered, literal("answered_late")),
            (and_(within, literal(not short_counts)), literal("short_abandon_excluded")),
            (within, literal("abandoned_within_threshold")),
            (literal(not abandon_counts), literal("abandon_excluded")),
            else_=literal("abandoned_late"),
        )
        counts = literal(abandon_counts)
        sample = and_(matches, or_(answered, and_(counts, or_(not_(within), literal(short_counts)))))
        numerator = and_(matches, within, or_(answered, literal(formula is ServiceLevelFormula.ABANDONS_FOR)))
        return reason, sample, case((sample, literal(1)), else_=null()), numerator
    if metric is KpiMetric.ABANDONMENT_RATE:
        reason = case((not_(matches), out), (r.abandoned, literal("abandoned")), else_=literal("answered"))
        return reason, matches, case((matches, literal(1)), else_=null()), and_(matches, r.abandoned)
    if metric in (KpiMetric.CSAT, KpiMetric.NPS, KpiMetric.QA_SCORE):
        column = {KpiMetric.CSAT: r.csat, KpiMetric.NPS: r.nps, KpiMetric.QA_SCORE: r.qa_score}[metric]
        sample = and_(matches, column.is_not(None))
        good = {KpiMetric.CSAT: r.csat >= 4, KpiMetric.NPS: r.nps >= 9, KpiMetric.QA_SCORE: literal(False)}[metric]
        names = {KpiMetric.CSAT: "satisfied", KpiMetric.NPS: "promoter", KpiMetric.QA_SCORE: "scored"}
        low = {KpiMetric.CSAT: "not_satisfied", KpiMetric.NPS: "passive_or_detractor", KpiMetric.QA_SCORE: "scored"}
        reason = case(
            (not_(matches), out),
            (column.is_(None), literal("no_score")),
            (good, literal(names[metric])),
            else_=literal(low[metric]),
        )
        if metric is KpiMetric.NPS:
            reason = case((and_(sample, r.nps <= 6), literal("detractor")), else_=reason)
            amount = case((r.nps >= 9, literal(1)), (r.nps <= 6, literal(-1)), else_=literal(0))
        else:
            amount = column if metric is KpiMetric.QA_SCORE else case((good, literal(1)), else_=literal(0))
        return reason, sample, case((sample, amount), else_=null()), and_(sample, good)
    # answered contacts: speed of answer, handle time, first-contact resolution
    reason_answered = {
        KpiMetric.ASA_SECONDS: literal("answered"),
        KpiMetric.AHT_SECONDS: literal("answered"),
        KpiMetric.FCR_RATE: case((resolution, literal("resolved_first_contact")), else_=literal("not_resolved_first")),
    }[metric or KpiMetric.FCR_RATE]
    reason = case((not_(matches), out), (r.abandoned, literal("abandoned_not_in_sample")), else_=reason_answered)
    sample = and_(matches, answered)
    value = {
        KpiMetric.ASA_SECONDS: r.wait_seconds,
        KpiMetric.AHT_SECONDS: r.handle_seconds,
        KpiMetric.FCR_RATE: case((resolution, literal(1)), else_=literal(0)),
    }[metric or KpiMetric.FCR_RATE]
    numerator = and_(sample, resolution) if metric is KpiMetric.FCR_RATE else literal(False)
    return reason, sample, case((sample, value), else_=null()), numerator


__all__ = ["MAX_PAGE", "PAGE", "REASONS", "Question", "TraceScope", "contacts", "parse_cursor", "totals"]
