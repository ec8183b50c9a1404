"""Which documents and payments a statement's months hold, and the balance brought forward,
by one of two bases (repository functions: a session in, rows out):

- ``issued`` (by document date): the documents issued in the months and the payments
  received in them; brought forward, everything issued or received before.
- ``service`` (by service period): the documents whose service period is one of the months,
  whenever they were issued (November's invoice, issued in December, is in "September to
  November"), and every payment against them up to the statement's day; brought forward,
  the documents of earlier periods less what was paid against them by then.

Both bring forward sums computed by the database.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import func
from sqlmodel import Session, col, select

from billing.core.periods import Period
from billing.statements.views import BILLED, ZERO
from billing.storage.models import Document, Payment

ISSUED, SERVICE = "issued", "service"
BASES = (ISSUED, SERVICE)


def day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _bring(opening: dict[str, Decimal], rows: Sequence[tuple[str, str, Decimal | None]]) -> None:
    for currency, kind, total in rows:
        amount = Decimal(total or 0)
        opening[currency] = opening.get(currency, ZERO) + (-abs(amount) if kind == "credit_note" else amount)


def in_range(
    session: Session, client_id: str, first: Period, last: Period, basis: str, as_of: date
) -> tuple[dict[str, Decimal], list[Document], list[tuple[Payment, str | None]]]:
    """The balance brought forward per currency, the documents and the payments (with the
    number of the document each pays) of the months ``first``..``last`` on ``basis``."""
    if basis not in BASES:
        raise ValueError(f"unknown statement basis {basis!r}: {', '.join(BASES)}")
    start, end = first.first_day, last.last_day
    billed = (col(Document.client_id) == client_id) & col(Document.status).in_(BILLED)
    if basis == ISSUED:
        before = col(Document.issue_date) < start
        inside = (col(Document.issue_date) >= start) & (col(Document.issue_date) <= end)
        paid_before = col(Payment.received_at) < day_start(start)
        paid_inside = (col(Payment.received_at) >= day_start(start)) & (
            col(Payment.received_at) < day_start(end + timedelta(days=1))
        )
    else:
        before = col(Document.period) < str(first)
        inside = (col(Document.period) >= str(first)) & (col(Document.period) <= str(last))
        until = col(Payment.received_at) < day_start(as_of + timedelta(days=1))
        paid_before = before & until
        paid_inside = inside & until
    opening: dict[str, Decimal] = {}
    _bring(
        opening,
        session.exec(
            select(Document.currency, Document.kind, func.sum(Document.total))
            .where(billed, before)
            .group_by(Document.currency, Document.kind)
        ).all(),
    )
    for currency, paid in session.exec(
        select(Payment.currency, func.sum(Payment.amount + Payment.withheld))
        .join(Document, col(Document.id) == col(Payment.document_id))
        .where(col(Document.client_id) == client_id, paid_before)
        .group_by(Payment.currency)
    ).all():
        opening[currency] = opening.get(currency, ZERO) - Decimal(paid or 0)
    documents = session.exec(
        select(Document)
        .where(col(Document.client_id) == client_id, col(Document.status) != "draft", inside)
        .order_by(col(Document.issue_date), col(Document.id))
    ).all()
    payments = session.exec(
        select(Payment, Document.number_text)
        .join(Document, col(Document.id) == col(Payment.document_id))
        .where(col(Document.client_id) == client_id, paid_inside)
        .order_by(col(Payment.received_at), col(Payment.id))
    ).all()
    return opening, list(documents), [(p, n) for p, n in payments]
