"""Stripe webhooks: a verified ``invoice.paid`` marks our document paid.

The signature is checked strictly by ``billing.collection.signature`` (the timestamp
that was signed is the one checked for freshness, against the ``now`` passed in). Each event id is stored in
``stripe_event`` in the same transaction as its effect, so a replayed event (Stripe
retries, or an attacker resending a captured delivery) changes nothing. The payment's
reference is the Stripe invoice id: ``invoice.paid`` and ``invoice.payment_succeeded``
describe the same payment and record it once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from billing.collection.outbox import from_minor_units
from billing.collection.signature import WebhookSignatureError, verify_webhook
from billing.storage import audit
from billing.storage.db import transaction
from billing.storage.models import Document, Payment, StripeEvent

PAID_EVENTS = ("invoice.paid", "invoice.payment_succeeded")
ACTOR = "stripe-webhook"


@dataclass(frozen=True)
class WebhookResult:
    """``outcome``: refused (bad signature: answer 400), replayed, ignored (not an event we
    act on, or not our invoice), paid (document marked paid), already_paid, not_payable."""

    outcome: str
    event_id: str | None = None
    document_id: int | None = None
    detail: str | None = None

    @property
    def refused(self) -> bool:
        return self.outcome == "refused"


def handle_webhook(
    engine: Engine, payload: bytes, signature_header: str | None, secret: str, now: datetime
) -> WebhookResult:
    try:
        event = verify_webhook(payload, signature_header, secret, now)
        event_id, event_type = event["id"], event["type"]
    except WebhookSignatureError as exc:
        return WebhookResult("refused", detail=str(exc))
    try:
        with transaction(engine) as session:
            if session.get(StripeEvent, event_id) is not None:
                return WebhookResult("replayed", event_id)
            session.add(StripeEvent(id=event_id, type=event_type, received_at=now))
            session.flush()
            if event_type not in PAID_EVENTS:
                return WebhookResult("ignored", event_id, detail=f"{event_type} needs no action")
            return _invoice_paid(session, event_id, (event.get("data") or {}).get("object"), now)
    except IntegrityError:  # the same event delivered twice at once: the other delivery won
        return WebhookResult("replayed", event_id)


def _invoice_paid(session: Session, event_id: str, invoice: Any, now: datetime) -> WebhookResult:
    if not isinstance(invoice, dict) or not invoice.get("id"):
        return WebhookResult("ignored", event_id, detail="the event carries no invoice id")
    stripe_invoice_id = str(invoice["id"])
    document = session.exec(
        select(Document).where(Document.stripe_invoice_id == stripe_invoice_id).with_for_update()
    ).first()
    if document is None or document.id is None:
        return WebhookResult("ignored", event_id, detail=f"{stripe_invoice_id} is not one of our invoices")
    if document.status == "paid":
        return WebhookResult("already_paid", event_id, document.id)
    paid_at = _paid_at(invoice) or now
    amount = from_minor_units(int(invoice.get("amount_paid") or 0), document.currency)
    if document.status != "issued":
        audit.record(
            session,
            ACTOR,
            "payment.unapplied",
            "document",
            document.id,
            {"event": event_id, "stripe_invoice": stripe_invoice_id, "status": document.status, "amount": str(amount)},
            at=now,
        )
        return WebhookResult("not_payable", event_id, document.id, f"document is {document.status}")
    document.status, document.paid_at = "paid", paid_at
    session.add(
        Payment(
            document_id=document.id,
            amount=amount,
            currency=document.currency,
            received_at=paid_at,
            method="stripe",
            reference=stripe_invoice_id,
        )
    )
    audit.record(
        session,
        ACTOR,
        "payment.recorded",
        "document",
        document.id,
        {
            "amount": str(amount),
            "reference": stripe_invoice_id,
            "settled": True,
            "method": "stripe",
            "event": event_id,
            "payment_intent": invoice.get("payment_intent"),
        },
        at=now,
    )
    return WebhookResult("paid", event_id, document.id)


def _paid_at(invoice: dict[str, Any]) -> datetime | None:
    stamp = (invoice.get("status_transitions") or {}).get("paid_at")
    return datetime.fromtimestamp(int(stamp), tz=UTC) if stamp else None
