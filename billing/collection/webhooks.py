"""Stripe webhooks: a verified ``invoice.paid`` marks our document paid.

The signature is checked strictly by ``billing.collection.signature`` (the timestamp
that was signed is the one checked for freshness, against the ``now`` passed in). Each event id is stored in
``stripe_event`` in the same transaction as its effect, so a replayed event (Stripe
retries, or an attacker resending a captured delivery) changes nothing. The payment's
reference is the Stripe invoice id: ``invoice.paid`` and ``invoice.payment_succeeded``
describe the same payment and record it once (``billing.collection.settlement``).

An event about a Stripe invoice the outbox has not recorded yet (the push's answer was
lost, and the client paid before the next push) but whose metadata names one of our
documents is kept ``waiting``, not forgotten: the push that records the invoice applies it,
and a re-delivery meanwhile tries again. The document's row is locked before its Stripe id
is read, so a push recording that id at the same moment is waited for.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from billing.collection.gateway import PaidInvoice
from billing.collection.settlement import WAITING, apply_paid, keep_waiting, processed
from billing.collection.signature import WebhookSignatureError, verify_webhook
from billing.storage import audit
from billing.storage.db import transaction
from billing.storage.models import Document, StripeEvent

PAID_EVENTS = ("invoice.paid", "invoice.payment_succeeded")
ACTOR = "stripe-webhook"


@dataclass(frozen=True)
class WebhookResult:
    """``outcome``: refused (bad signature: answer 400), replayed, ignored (not an event we
    act on, or not our invoice), waiting (kept until the push records its invoice), paid
    (document marked paid), already_paid, not_payable."""

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
    except WebhookSignatureError as exc:
        return WebhookResult("refused", detail=str(exc))
    event_id, event_type = event["id"], event["type"]
    try:
        with transaction(engine) as session:
            stored = session.get(StripeEvent, event_id, with_for_update=True)
            if stored is not None and stored.status != WAITING:
                return WebhookResult("replayed", event_id)
            if stored is None:
                stored = StripeEvent(id=event_id, type=event_type, received_at=now)
                session.add(stored)
                session.flush()
            if event_type not in PAID_EVENTS:
                return WebhookResult("ignored", event_id, detail=f"{event_type} needs no action")
            invoice = event["data"].get("object") if isinstance(event.get("data"), dict) else None
            paid = PaidInvoice.from_stripe(invoice)
            if paid is None or not isinstance(invoice, dict):
                return WebhookResult("ignored", event_id, detail="the event carries no readable invoice")
            return _invoice_paid(session, stored, paid, invoice, now)
    except IntegrityError:  # the same event delivered twice at once: the other delivery won
        return WebhookResult("replayed", event_id)


def _invoice_paid(
    session: Session, event: StripeEvent, paid: PaidInvoice, invoice: dict[str, Any], now: datetime
) -> WebhookResult:
    stripe_id = paid.stripe_invoice_id
    document = session.exec(
        select(Document).where(Document.stripe_invoice_id == stripe_id).with_for_update()
    ).first() or _named_document(session, invoice)
    if document is None or document.id is None:
        return WebhookResult("ignored", event.id, detail=f"{stripe_id} is not one of our invoices")
    if document.stripe_invoice_id is None:  # ours, but the push has not recorded it yet
        keep_waiting(event, paid)
        waits = f"{stripe_id} is applied when the outbox records it for {document.number_text}"
        return WebhookResult("waiting", event.id, document.id, waits)
    processed(event, stripe_id)
    if document.stripe_invoice_id != stripe_id:
        data: dict[str, Any] = {"event": event.id, "stripe_invoice": stripe_id, "recorded": document.stripe_invoice_id}
        audit.record(session, ACTOR, "payment.unmatched", "document", document.id, data, at=now)
        return WebhookResult("ignored", event.id, document.id, f"{stripe_id} is not the invoice recorded for it")
    outcome, detail = apply_paid(session, document, paid, now, ACTOR, {"event": event.id})
    return WebhookResult(outcome, event.id, document.id, detail)


def _named_document(session: Session, invoice: dict[str, Any]) -> Document | None:
    """The document a Stripe invoice's metadata names (the push writes ``document_id`` and
    ``number`` on every invoice), locked; None when it names none of ours."""
    metadata = invoice.get("metadata")
    if not isinstance(metadata, dict):
        return None
    document_id, number = metadata.get("document_id"), metadata.get("number")
    if not isinstance(document_id, str) or not re.fullmatch(r"[1-9][0-9]{0,9}", document_id):
        return None
    if int(document_id) >= 2**31:
        return None
    document = session.get(Document, int(document_id), with_for_update=True)
    if document is None or not number or document.number_text != number:
        return None
    return document
