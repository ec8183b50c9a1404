"""Collection through Stripe: the outbox that carries issued documents there.

``enqueue`` writes an outbox row in the caller's transaction (the one that issues the
document), so a document is issued and queued together or not at all. ``push`` sends
pending rows one at a time: each row is claimed (``FOR UPDATE SKIP LOCKED`` on PostgreSQL,
so several pushers never take the same row), sent through ``billing.collection.gateway``, and
marked sent with the Stripe id in the same transaction; if Stripe already says the invoice is
paid (paid before the push learned its id), or webhook events waited for that id, the
document is marked paid in that transaction too (``billing.collection.settlement``). A
failure leaves the row pending
with its attempt count and last error; the next ``push`` retries it: the gateway's
idempotency keys and look-ups make Stripe's side come out the same however often a
document is sent.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, case
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from billing.collection.gateway import (
    CreditNotePush,
    Customer,
    Gateway,
    GatewayError,
    InvoicePush,
    Item,
)
from billing.collection.settlement import settle_pushed
from billing.core.currencies import currency
from billing.storage import audit
from billing.storage.db import transaction
from billing.storage.models import Client, Document, DocumentLine, StripeOutbox

PUSH_INVOICE = "push_invoice"
PUSH_CREDIT_NOTE = "push_credit_note"
VOID = "void"
OPERATIONS = {"invoice": PUSH_INVOICE, "debit_note": PUSH_INVOICE, "credit_note": PUSH_CREDIT_NOTE}


class NotReady(Exception):
    """The row cannot be sent yet (a credit note whose invoice has not reached Stripe)."""


def operation_for(document: Document) -> str:
    return OPERATIONS[document.kind]


def idempotency_key(document: Document, operation: str) -> str:
    if not document.number_text:
        raise ValueError(f"document {document.id} has no number: only issued documents go to Stripe")
    return f"{document.number_text}:{operation}"


def enqueue(session: Session, document: Document, operation: str | None = None) -> bool:
    """Queue ``document`` for Stripe in the caller's transaction. Returns False when it
    was already queued (the idempotency key is unique; enqueueing twice is a no-op)."""
    if document.id is None:
        session.flush()
    operation = operation or operation_for(document)
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = (
        insert(StripeOutbox)
        .values(document_id=document.id, operation=operation, idempotency_key=idempotency_key(document, operation))
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
        .returning(col(StripeOutbox.id))
    )
    return session.connection().execute(statement).first() is not None


def enqueue_issued(session: Session) -> int:
    """Queue every issued document that was never queued (documents issued before Stripe
    was set up, or by a path that did not queue them), and the void of every voided
    document that reached Stripe. Returns how many rows were queued."""
    queued = select(StripeOutbox.document_id)
    documents = session.exec(
        select(Document)
        .where(Document.status == "issued", col(Document.id).not_in(queued))
        .order_by(col(Document.issue_date), col(Document.id))
    ).all()
    sent = select(StripeOutbox.document_id).where(StripeOutbox.status == "sent", StripeOutbox.operation != VOID)
    voided = session.exec(
        select(Document).where(Document.status == "void", col(Document.id).in_(sent)).order_by(col(Document.id))
    ).all()
    return sum(enqueue(session, document) for document in documents) + sum(
        enqueue(session, document, VOID) for document in voided
    )


def to_minor_units(amount: Decimal, code: str) -> int:
    """An amount as an integer of the currency's minor units (babel's precision). An amount
    finer than the currency allows is a broken invariant: lines are rounded when rated."""
    scaled = amount.scaleb(currency(code).minor_units)
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{amount} {code} is not a whole number of minor units")
    return int(scaled)


def invoice_push(document: Document, lines: list[DocumentLine], client: Client) -> InvoicePush:
    """What Stripe must hold for an issued invoice or debit note: one item per line, one
    for the tax, amounts summing exactly to the document's total; and, when the client
    withholds part of it for a third party (Peru's detraccion), one negative item for that
    part, so Stripe collects only what is payable to the issuer. The withheld part stays owed
    until its deposit is recorded (``billing payments record --withheld``)."""
    code = document.currency
    items = [Item(str(line.position), line.description, to_minor_units(line.amount, code)) for line in lines]
    if document.tax:
        items.append(Item("tax", _tax_label(document), to_minor_units(document.tax, code)))
    if sum(item.amount for item in items) != to_minor_units(document.total, code):
        raise ValueError(f"lines and tax of {document.number_text} do not add up to its total {document.total}")
    if document.withholding_amount:
        name = str((document.withholding or {}).get("name") or "Withholding")
        items.append(
            Item(
                "withholding",
                f"{name}: paid by the client to a third party",
                -to_minor_units(document.withholding_amount, code),
            )
        )
    assert document.id is not None and document.number_text and document.issue_date and document.due_date
    return InvoicePush(
        document_id=document.id,
        number=document.number_text,
        currency=code,
        customer=Customer(client.id, client.name, client.email, client.stripe_customer_id),
        days_until_due=max((document.due_date - document.issue_date).days, 0),
        description=f"{document.number_text} ({document.period})",
        items=tuple(items),
    )


def _tax_label(document: Document) -> str:
    return f"{document.tax_name or 'Tax'} {document.tax_rate.normalize():f}%"


def credit_note_push(document: Document, lines: list[DocumentLine], invoice: Document) -> CreditNotePush:
    """A Stripe credit note carries positive lines; a note whose lines are not all of one
    sign goes as one line with its total."""
    assert document.id is not None and document.number_text and invoice.number_text
    if not invoice.stripe_invoice_id:
        raise NotReady(f"invoice {invoice.number_text} has not reached Stripe yet")
    code = document.currency
    sign = -1 if document.total < 0 else 1
    items = [Item(str(line.position), line.description, sign * to_minor_units(line.amount, code)) for line in lines]
    if document.tax:
        items.append(Item("tax", _tax_label(document), sign * to_minor_units(document.tax, code)))
    if any(item.amount <= 0 for item in items):
        items = [Item("total", f"Credit note {document.number_text}", sign * to_minor_units(document.total, code))]
    return CreditNotePush(
        document_id=document.id,
        number=document.number_text,
        invoice_number=invoice.number_text,
        stripe_invoice_id=invoice.stripe_invoice_id,
        memo=document.reason,
        lines=tuple(items),
    )


@dataclass(frozen=True)
class PushReport:
    """Rows sent, skipped (nothing to send: voided before reaching Stripe) and failed (still
    pending, with the error)."""

    sent: list[dict[str, Any]]
    skipped: list[dict[str, Any]]
    failed: list[dict[str, Any]]

    def as_json(self) -> dict[str, Any]:
        return {
            "sent": self.sent,
            "skipped": self.skipped,
            "failed": self.failed,
            "counts": {"sent": len(self.sent), "skipped": len(self.skipped), "failed": len(self.failed)},
        }


def push(
    engine: Engine, gateway: Gateway, now: datetime, limit: int | None = None, actor: str = "stripe"
) -> PushReport:
    """Send pending outbox rows, oldest first, each in its own transaction. A row that
    fails is tried once per run; it stays pending for the next run."""
    report = PushReport([], [], [])
    tried: list[int] = []
    while limit is None or len(tried) < limit:
        with transaction(engine) as session:
            row = _claim(session, tried)
            if row is None:
                break
            assert row.id is not None
            tried.append(row.id)
            outcome = _send(session, gateway, row, now, actor)
        {"sent": report.sent, "skipped": report.skipped}.get(outcome["status"], report.failed).append(outcome)
    return report


def _claim(session: Session, exclude: list[int]) -> StripeOutbox | None:
    query = select(StripeOutbox).where(StripeOutbox.status == "pending")
    if exclude:
        query = query.where(col(StripeOutbox.id).not_in(exclude))
    # invoices first (a credit note needs its invoice's Stripe id), voids last
    rank = case((col(StripeOutbox.operation) == PUSH_CREDIT_NOTE, 1), (col(StripeOutbox.operation) == VOID, 2), else_=0)
    query = query.order_by(rank, col(StripeOutbox.id)).limit(1).with_for_update(skip_locked=True)
    return session.exec(query).first()


def _send(session: Session, gateway: Gateway, row: StripeOutbox, now: datetime, actor: str) -> dict[str, Any]:
    document = session.get(Document, row.document_id)
    client = session.get(Client, document.client_id) if document else None
    assert document is not None and client is not None
    row.attempts += 1
    outcome: dict[str, Any] = {"document": document.number_text, "operation": row.operation, "attempts": row.attempts}
    try:
        row.stripe_id = _perform(session, gateway, row, document, client, now, actor)
    except (GatewayError, NotReady, ValueError) as exc:
        if isinstance(exc, GatewayError) and exc.customer_id:
            client.stripe_customer_id = exc.customer_id
        row.last_error = str(exc)
        return {**outcome, "status": "pending", "error": row.last_error}
    row.status = "sent" if row.stripe_id else "skipped"
    row.sent_at, row.last_error = now, None
    data = {"operation": row.operation, "stripe_id": row.stripe_id}
    audit.record(session, actor, f"stripe.{row.status}", "document", row.document_id, data, at=now)
    return {**outcome, "status": row.status, "stripe_id": row.stripe_id, "document_status": document.status}


def _perform(
    session: Session, gateway: Gateway, row: StripeOutbox, document: Document, client: Client, now: datetime, actor: str
) -> str | None:
    """Send one row; the Stripe id it produced, or None when there is nothing to send (a
    document voided before it reached Stripe)."""
    if row.operation == VOID:
        return _void(session, gateway, document)
    if document.status == "void":
        return _left_in_stripe(session, gateway, row, document, client, now, actor)
    lines = list(
        session.exec(
            select(DocumentLine).where(DocumentLine.document_id == document.id).order_by(col(DocumentLine.position))
        )
    )
    if row.operation == PUSH_INVOICE:
        pushed = gateway.push_invoice(invoice_push(document, lines, client))
        client.stripe_customer_id = pushed.customer_id
        # Lock the document before recording its Stripe id: a webhook about this invoice
        # either committed before (its event waits and is applied here) or waits for us.
        session.refresh(document, with_for_update=True)
        document.stripe_invoice_id = pushed.invoice_id
        settle_pushed(session, document, pushed.paid, now, actor)
        return pushed.invoice_id
    if row.operation == PUSH_CREDIT_NOTE:
        invoice = session.get(Document, document.corrects_id) if document.corrects_id else None
        if invoice is None:
            raise NotReady(f"credit note {document.number_text} credits no invoice")
        return gateway.push_credit_note(credit_note_push(document, lines, invoice))
    raise NotReady(f"unknown operation {row.operation!r}")


def _left_in_stripe(
    session: Session, gateway: Gateway, row: StripeOutbox, document: Document, client: Client, now: datetime, actor: str
) -> str | None:
    """A document voided before its push completed. An earlier attempt whose answer was lost
    may have left an invoice in Stripe (open, even paid): it is found and recorded, so the
    queued void reaches it, and money paid on it is flagged for a person (not applied).
    None when Stripe holds nothing for it (an invoice needs the customer we record)."""
    if row.operation != PUSH_INVOICE or not client.stripe_customer_id or not document.number_text:
        return None
    found = gateway.find_invoice(client.stripe_customer_id, document.number_text)
    if found is None:
        return None
    session.refresh(document, with_for_update=True)
    document.stripe_invoice_id = found.invoice_id
    settle_pushed(session, document, found.paid, now, actor)
    return found.invoice_id


def _void(session: Session, gateway: Gateway, document: Document) -> str | None:
    """Void in Stripe what was sent there. The push row is locked first (waiting for a
    pusher still sending it), so a push in flight cannot slip past the void."""
    pushed = session.exec(
        select(StripeOutbox)
        .where(StripeOutbox.document_id == document.id, StripeOutbox.operation != VOID)
        .with_for_update()
    ).first()
    if pushed is None or pushed.status == "skipped":
        return None
    if pushed.status != "sent" or not pushed.stripe_id:
        pushed.status, pushed.last_error = "skipped", "voided before it reached Stripe"
        return None
    assert document.number_text is not None
    return gateway.void(document.kind, pushed.stripe_id, document.number_text)


def status(session: Session) -> dict[str, Any]:
    """Outbox counts by status, and every row not yet sent with its last error."""
    rows = session.exec(select(StripeOutbox, Document.number_text).join(Document).order_by(col(StripeOutbox.id))).all()
    counts = Counter(row.status for row, _ in rows)
    waiting = [
        {
            "document": number,
            "operation": row.operation,
            "status": row.status,
            "attempts": row.attempts,
            "last_error": row.last_error,
        }
        for row, number in rows
        if row.status != "sent"
    ]
    return {"counts": dict(sorted(counts.items())), "waiting": waiting}
