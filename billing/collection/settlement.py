"""Stripe says an invoice is paid: our document follows, once, whoever learns it first.

Three paths lead here, and each ends with the document where Stripe is:

- a verified webhook (``invoice.paid`` or ``invoice.payment_succeeded``) about an invoice
  the outbox has recorded (``billing.collection.webhooks``);
- an event that arrived before the outbox recorded its invoice (the push's answer was lost,
  the client paid in between): it is kept ``waiting`` with what applying it needs, and the
  push that records the Stripe id applies it (``apply_waiting``);
- the push itself, which reads Stripe's status of the invoice it finalized or found: ``paid``
  is recorded with its payment even if no event ever comes.

The payment's reference is the Stripe invoice id (unique), so the paths together record one
payment. Callers hold the document's row lock (``FOR UPDATE``): a webhook and a push about
the same document are serialized, so an event is either seen waiting by the push or finds
the Stripe id the push recorded, never neither.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlmodel import Session, col, select

from billing.collection.gateway import PaidInvoice
from billing.core.currencies import currency
from billing.storage import audit
from billing.storage.models import Document, Payment, StripeEvent

PROCESSED = "processed"
WAITING = "waiting"


def from_minor_units(amount: int, code: str) -> Decimal:
    return Decimal(amount).scaleb(-currency(code).minor_units)


def apply_paid(
    session: Session, document: Document, paid: PaidInvoice, now: datetime, actor: str, source: dict[str, Any]
) -> tuple[str, str | None]:
    """Mark ``document`` (locked by the caller) paid as Stripe says. Returns the outcome:
    ``paid``, ``already_paid``, or ``not_payable`` (a void or draft document: the money is
    flagged in the audit trail for a person, never applied) with a detail."""
    assert document.id is not None
    if document.status == "paid":
        return "already_paid", None
    amount = from_minor_units(paid.amount_paid, document.currency)
    if document.status != "issued":
        data = {**source, "stripe_invoice": paid.stripe_invoice_id, "status": document.status, "amount": str(amount)}
        audit.record(session, actor, "payment.unapplied", "document", document.id, data, at=now)
        return "not_payable", f"document is {document.status}"
    paid_at = datetime.fromtimestamp(paid.paid_at, tz=UTC) if paid.paid_at else now
    document.status, document.paid_at = "paid", paid_at
    session.add(
        Payment(
            document_id=document.id,
            amount=amount,
            currency=document.currency,
            received_at=paid_at,
            method="stripe",
            reference=paid.stripe_invoice_id,
        )
    )
    data = {
        "amount": str(amount),
        "reference": paid.stripe_invoice_id,
        "settled": True,
        "method": "stripe",
        **source,
        "payment_intent": paid.payment_intent,
    }
    audit.record(session, actor, "payment.recorded", "document", document.id, data, at=now)
    return "paid", None


def keep_waiting(event: StripeEvent, paid: PaidInvoice) -> None:
    event.status, event.stripe_invoice_id, event.data = WAITING, paid.stripe_invoice_id, paid.as_data()


def processed(event: StripeEvent, stripe_invoice_id: str | None) -> None:
    event.status, event.stripe_invoice_id, event.data = PROCESSED, stripe_invoice_id, None


def apply_waiting(session: Session, document: Document, now: datetime, actor: str) -> list[str]:
    """Apply every event that waited for ``document``'s Stripe invoice (the document is
    locked and its ``stripe_invoice_id`` just recorded); returns their outcomes."""
    if not document.stripe_invoice_id:
        return []
    events = session.exec(
        select(StripeEvent)
        .where(StripeEvent.status == WAITING, StripeEvent.stripe_invoice_id == document.stripe_invoice_id)
        .order_by(col(StripeEvent.received_at), col(StripeEvent.id))
        .with_for_update()
    ).all()
    outcomes = []
    for event in events:
        paid = PaidInvoice.from_data(event.data or {})
        outcome, _ = apply_paid(session, document, paid, now, actor, {"event": event.id, "waited": True})
        processed(event, paid.stripe_invoice_id)
        outcomes.append(outcome)
    return outcomes


def settle_pushed(session: Session, document: Document, paid: PaidInvoice | None, now: datetime, actor: str) -> bool:
    """After the push recorded ``document.stripe_invoice_id`` (document locked): apply the
    events that waited for it, then Stripe's own status. True when the document is paid."""
    applied = apply_waiting(session, document, now, actor)
    if paid is not None and not applied:  # a waiting event told of this same payment already
        apply_paid(session, document, paid, now, actor, {"stripe_status": "paid"})
    return document.status == "paid"


def waiting_count(session: Session) -> int:
    return len(session.exec(select(StripeEvent.id).where(StripeEvent.status == WAITING)).all())
