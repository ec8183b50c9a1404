"""Payments received outside Stripe (bank transfers, cheques), recorded against an issued
invoice or debit note. This is the service layer: it owns its transaction.

A payment may be partial. Its ``withheld`` part is what the client paid to a third party
instead (Peru's detraccion, deposited into the issuer's account at the Banco de la Nacion): it
settles the document like money received, up to the withholding the document states. Refused:
a payment on a draft, void or paid document or on a credit note; one that, with what was
already paid, withheld and credited, is more than the document's total; a reference already
recorded (the bank's reference is what keeps a retry from recording twice). The document
becomes ``paid`` when nothing is left to pay.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from billing.core.ageing import balance_due
from billing.core.currencies import currency
from billing.core.limits import PAYMENT_METHOD, REFERENCE, number_problem
from billing.core.problems import Conflict
from billing.invoicing.documents import find_document, lock_document
from billing.storage import audit
from billing.storage.db import reading, transaction
from billing.storage.models import Contract, Document, Payment

ZERO = Decimal(0)


class PaymentRefused(Conflict):
    """The document cannot take this payment (not issued, wrong kind, more than owed)."""


def paid_so_far(session: Session, document_id: int) -> Decimal:
    total = session.exec(select(func.sum(Payment.amount)).where(col(Payment.document_id) == document_id)).one()
    return Decimal(total or 0)


def withheld_so_far(session: Session, document_id: int) -> Decimal:
    total = session.exec(select(func.sum(Payment.withheld)).where(col(Payment.document_id) == document_id)).one()
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


def _amount(value: Decimal, unit: Decimal, what: str) -> Decimal:
    if not value.is_finite() or value < 0 or number_problem(value) or value != value.quantize(unit):
        places = -int(unit.as_tuple().exponent)
        raise ValueError(f"the {what} must be a positive amount with at most {places} decimals, got {value}")
    return value.quantize(unit)


def record_payment(
    engine: Engine,
    document_id: int | str,
    amount: Decimal,
    received_at: datetime,
    reference: str | None,
    method: str,
    actor: str,
    withheld: Decimal = ZERO,
) -> tuple[Payment, Document]:
    """Record ``amount`` received (and ``withheld`` paid to a third party) for a document,
    given by id or number. Without a reference one is made from the document's number."""
    if received_at.tzinfo is None:
        raise ValueError("received_at needs a UTC offset")
    problem = PAYMENT_METHOD.problem(method)
    if problem:
        raise ValueError(f"the method: {problem}")
    if reference is not None and REFERENCE.problem(reference.strip()):
        raise ValueError(f"the reference: {REFERENCE.problem(reference.strip())}")
    with transaction(engine) as session:
        found = find_document(session, document_id)
        assert found.id is not None
        document = lock_document(session, found.id)
        shown = document.number_text or f"draft {document.id}"
        if document.kind == "credit_note":
            raise PaymentRefused(f"{shown} is a credit note: it is not paid, it lowers what the client owes")
        if document.status != "issued":
            why = {"draft": "a draft is not owed", "void": "a void document is not owed", "paid": "nothing is left"}
            raise PaymentRefused(f"{shown} is {document.status}: {why.get(document.status, 'not payable')}")
        if document.issue_date is not None and received_at.date() < document.issue_date:
            raise ValueError(
                f"{shown} was issued on {document.issue_date}: a payment of it is not received before, "
                f"got {received_at.date()}"
            )
        unit = Decimal(1).scaleb(-currency(document.currency).minor_units)
        amount, withheld = _amount(amount, unit, "amount"), _amount(withheld, unit, "withheld part")
        if amount + withheld <= 0:
            raise ValueError("a payment records an amount received, a withheld part, or both")
        assert document.id is not None
        already_withheld = withheld_so_far(session, document.id)
        expected = document.withholding_amount or ZERO
        if withheld > expected - already_withheld:
            name = (document.withholding or {}).get("name", "withholding")
            raise PaymentRefused(
                f"{withheld} withheld is more than the {name} left on {shown}: "
                f"{(expected - already_withheld).quantize(unit)} of {expected.quantize(unit)}"
            )
        owed = balance_due(
            document.total, credited(session, document.id), paid_so_far(session, document.id), already_withheld
        ).quantize(unit)
        if amount + withheld > owed:
            raise PaymentRefused(f"{amount + withheld} is more than the {owed} still owed on {shown}")
        reference = (reference or "").strip() or _reference(session, document)
        taken = session.exec(select(Payment.document_id).where(Payment.reference == reference)).first()
        if taken is not None:
            raise PaymentRefused(f"a payment with reference {reference!r} is already recorded: never twice")
        payment = Payment(
            document_id=document.id,
            amount=amount,
            currency=document.currency,
            received_at=received_at,
            method=method,
            reference=reference,
            withheld=withheld,
        )
        session.add(payment)
        settled = amount + withheld == owed
        if settled:
            document.status, document.paid_at = "paid", received_at
            session.add(document)
        session.flush()
        audit.record(
            session,
            actor,
            "payment.recorded",
            "document",
            document.id,
            {"amount": str(amount), "withheld": str(withheld), "reference": reference, "settled": settled},
        )
    return payment, document


def _reference(session: Session, document: Document) -> str:
    count = session.exec(select(func.count()).select_from(Payment).where(Payment.document_id == document.id)).one()
    return f"{document.number_text}/{count + 1}"


@dataclass(frozen=True)
class PaymentRow:
    payment: Payment
    number: str | None
    contract: str
    client_id: str


def list_payments(engine: Engine, client_id: str | None = None, document: str | None = None) -> list[PaymentRow]:
    """Payments in the order they arrived, with their document's number and contract."""
    with reading(engine) as session:
        query = (
            select(Payment, Document.number_text, Contract.code, Document.client_id)
            .join(Document, col(Document.id) == col(Payment.document_id))
            .join(Contract, col(Contract.id) == col(Document.contract_id))
        )
        if client_id is not None:
            query = query.where(col(Document.client_id) == client_id)
        if document is not None:
            query = query.where(col(Document.id) == find_document(session, document).id)
        rows = session.exec(query.order_by(col(Payment.received_at), col(Payment.id))).all()
    return [PaymentRow(payment, number, code, client) for payment, number, code, client in rows]
