"""Every line traceable: the contacts behind a document's line, as of the document's data
snapshot (``data_as_of``), under the terms it was rated with (``billing.measurement.trace``).

A usage line lists every contact of the period with ``counted`` and the reason it does not
count; the counted contacts add up to the line's quantity. A service-credit line lists its
level's sample, each contact with its verdict; they give the measured value on the line.
Other lines (fixed fees, FTE, hours, true-ups, earnback) have no contacts behind them.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlmodel import Session

from billing.contracts.terms import ContractTerms, KpiMetric, UsageCharge, UsageMetric
from billing.core.money import EXACT, format_decimal_string
from billing.core.periods import Period
from billing.core.problems import Conflict
from billing.invoicing.documents import find_document, lines_of, terms_of
from billing.measurement.trace import MAX_PAGE, PAGE, Question, TraceScope, contacts, totals
from billing.storage.models import Document, DocumentLine

HUNDRED = Decimal(100)
#: Metrics whose value is a share of the sample, in percent (the others are averages).
PERCENT_METRICS = {
    KpiMetric.SERVICE_LEVEL,
    KpiMetric.ABANDONMENT_RATE,
    KpiMetric.FCR_RATE,
    KpiMetric.CSAT,
    KpiMetric.NPS,
}


class NotTraceable(Conflict):
    """The line has no contacts behind it (a fixed fee, FTE, hours, a true-up, earnback)."""


@dataclass(frozen=True)
class LineTrace:
    """What one line was measured from: the question asked of the contacts, and how to ask it."""

    document: Document
    line: DocumentLine
    scope: TraceScope
    question: Question


def line_trace(session: Session, reference: str | int, position: int) -> LineTrace:
    """The trace of line ``position`` (1 = the first line) of a document (id or number)."""
    document = find_document(session, reference)
    return trace_of(session, document, position)


def trace_of(session: Session, document: Document, position: int) -> LineTrace:
    assert document.id is not None
    lines = lines_of(session, document.id)
    if not 1 <= position <= len(lines):
        raise LookupError(f"document {document.number_text or document.id} has no line {position} (1-{len(lines)})")
    line = lines[position - 1]
    terms = terms_of(session, document)
    scope, question = _question(terms, document, line)
    return LineTrace(document, line, scope, question)


def _question(terms: ContractTerms, document: Document, line: DocumentLine) -> tuple[TraceScope, Question]:
    def scope(flt: Any) -> TraceScope:
        return TraceScope(
            contract_id=document.contract_id,
            period=Period.parse(document.period),
            timezone=terms.timezone,
            repeat_window_days=terms.resolution.repeat_window_days,
            exclude_escalated=terms.resolution.exclude_escalated,
            as_of_batch=document.data_as_of or 0,
            filter=flt,
        )

    if line.type == "usage":
        charge = next((c for c in terms.charges if c.id == line.charge), None)
        if isinstance(charge, UsageCharge):
            return scope(charge.filter), Question(usage=charge.metric)
    if line.type == "service_credit" and terms.service_levels is not None:
        level = next((lv for lv in terms.service_levels.levels if lv.id == line.charge), None)
        if level is not None:
            question = Question(level=level.metric, threshold_seconds=level.threshold_seconds, formula=level.formula)
            return scope(level.filter), question
    raise NotTraceable(
        f"line {line.position} ({line.type} {line.charge}) is not counted from contacts: only usage and "
        "service-credit lines have contacts behind them"
    )


def summary(session: Session, trace: LineTrace) -> dict[str, Any]:
    """The line, what its contacts add up to, and whether that is the line's own figure."""
    line, question = trace.line, trace.question
    found = totals(session, trace.scope, question)
    out: dict[str, Any] = {
        "document": trace.document.number_text or trace.document.id,
        "document_id": trace.document.id,
        "line": line.position,
        "charge": line.charge,
        "type": line.type,
        "period": trace.document.period,
        "data_as_of": trace.document.data_as_of,
        "contacts": int(found["contacts"]),
        "counted": int(found["counted"]),
    }
    if question.usage is not None:
        measured = Decimal(found["counted"])
        if question.usage is UsageMetric.HANDLED_MINUTES:
            measured = EXACT.divide(Decimal(found["amount"]), Decimal(60))
        out["metric"] = question.usage.value
        out["quantity"] = _plain(line.quantity)
        out["measured"] = _plain(measured.quantize(Decimal("0.000001")))
        out["agrees"] = measured.quantize(Decimal("0.000001")) == line.quantity
        return out
    assert question.level is not None
    sample, amount, numerator = int(found["counted"]), Decimal(found["amount"]), int(found["numerator"])
    value = None
    if sample:
        top = amount if question.level not in PERCENT_METRICS or question.level is KpiMetric.NPS else numerator
        scale = HUNDRED if question.level in PERCENT_METRICS else Decimal(1)
        value = EXACT.divide(EXACT.multiply(Decimal(top), scale), Decimal(sample))
    shown = None if value is None else format_decimal_string(value, 2)
    out.update(
        metric=question.level.value,
        sample=sample,
        numerator=numerator,
        measured=shown,
        line_value=line.details.get("value"),
        agrees=shown == line.details.get("value") and sample == line.details.get("sample"),
    )
    return out


def page(
    session: Session, trace: LineTrace, after: tuple[int, int] | None = None, limit: int = PAGE
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of the line's contacts (at most ``MAX_PAGE``) and the cursor of the next (None
    after the last)."""
    limit = max(1, min(limit, MAX_PAGE))
    rows = contacts(session, trace.scope, trace.question, after, limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1]["cursor"] if more and rows else None)


def _plain(value: Decimal) -> str:
    normalized = value.normalize()
    if normalized == normalized.to_integral_value():
        return str(normalized.quantize(Decimal(1)))
    return format(normalized, "f")
