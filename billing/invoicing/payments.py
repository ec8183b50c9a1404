"""Payments received outside Stripe (bank transfers, cheques): recorded against an issued
invoice or debit note, never more than what is still owed (total less issued credit notes
less payments); the document becomes ``paid`` when it is settled. This is the service layer: it owns its transaction."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from billing.core.currencies import currency
from billing.storage import audit
from billing.storage.db import transaction
from billing.storage.models import Document, Payment


class PaymentRefused(Exception):
    """The document cannot take this payment (not issued, wrong kind, more than owed)."""


def paid_so_far(session: Session, document_id: int) -> Decimal:
    total = session.exec(select(func.sum(Payment.amount)).where(col(Payment.document_id) == document_id)).one()
    return Decimal(total or 0)


def credited(session: Session, document_id: int) -> Decimal:
    """What issued credit notes have taken off the document."""
    total = session.exec(
        select(func.sum(Document.total)).where(
            col(Document.corrects_id) == document_id,
            col(Document.kind) == "credit_note",
            col(Document.status).in_(("issued", "paid")),
        )
    ).one()
    return Decimal(total or 0)


def record_payment(
    engine: Engine,
    document_id: int,
    amount: Decimal,
    received_at: datetime,
    reference: str,
    method: str,
    actor: str,
) -> tuple[Payment, Document]:
    if received_at.tzinfo is None:
        raise ValueError("received_at needs a UTC offset")
    with transaction(engine) as session:
        document = session.exec(
            select(Document)
            .where(col(Document.id) == document_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).first()
        if document is None:
            raise LookupError(f"no document {document_id}")
        if document.kind == "credit_note":
            raise PaymentRefused("a credit note is not paid: it lowers what the client owes")
        if document.status != "issued":
            raise PaymentRefused(f"document {document.number_text or document_id} is {document.status}")
        unit = Decimal(1).scaleb(-currency(document.currency).minor_units)
        if amount <= 0 or amount != amount.quantize(unit):
            raise ValueError(f"amount must be positive with at most {unit.as_tuple().exponent * -1} decimals")
        owed = (document.total - credited(session, document_id) - paid_so_far(session, document_id)).quantize(unit)
        if amount > owed:
            raise PaymentRefused(f"{amount} is more than the {owed} still owed on {document.number_text}")
        payment = Payment(
            document_id=document_id,
            amount=amount,
            currency=document.currency,
            received_at=received_at,
            method=method,
            reference=reference,
        )
        session.add(payment)
        if amount == owed:
            document.status, document.paid_at = "paid", received_at
            session.add(document)
        session.flush()
        audit.record(
            session,
            actor,
            "payment.recorded",
            "document",
            document_id,
            {"amount": str(amount), "reference": reference, "settled": amount == owed},
        )
    return payment, document
