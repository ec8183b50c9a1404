"""Payments: clients see theirs; finance records transfers (idempotent)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Query, status
from fastapi.responses import Response
from sqlmodel import col, select

from billing.api.deps import Caller, EngineDep, FinanceToken, SessionDep
from billing.api.errors import service_errors
from billing.api.idempotency import Fingerprint, IdempotencyKey, run_once
from billing.api.schemas import PaymentCreate, PaymentPublic, PaymentsPublic
from billing.api.scope import find_document, scoped_documents
from billing.invoicing.payments import PaymentRefused, record_payment
from billing.statements.serialize import money_text
from billing.storage.models import Document, Payment

router = APIRouter(prefix="/v1/payments", tags=["payments"])


def payment_public(payment: Payment, document: Document) -> PaymentPublic:
    return PaymentPublic(
        id=payment.id or 0,
        document_id=payment.document_id,
        document=document.number_text,
        amount=money_text(payment.amount, payment.currency),
        currency=payment.currency,
        received_at=payment.received_at,
        method=payment.method,
        reference=payment.reference,
        document_status=document.status,
        withheld=money_text(payment.withheld or Decimal(0), payment.currency),
    )


@router.get("", response_model=PaymentsPublic)
def list_payments(
    session: SessionDep,
    principal: Caller,
    document_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
) -> PaymentsPublic:
    visible = scoped_documents(principal).subquery()
    query = (
        select(Payment, Document)
        .join(Document, col(Document.id) == col(Payment.document_id))
        .where(col(Document.id).in_(select(visible.c.id)))
    )
    if document_id is not None:
        query = query.where(col(Payment.document_id) == find_document(session, principal, document_id).id)
    rows = session.exec(query.order_by(col(Payment.received_at), col(Payment.id))).all()
    data = [payment_public(p, d) for p, d in rows]
    return PaymentsPublic(data=data, count=len(data))


@router.post("", response_model=PaymentPublic, status_code=status.HTTP_201_CREATED)
def create_payment(
    body: PaymentCreate, engine: EngineDep, principal: FinanceToken, key: IdempotencyKey, fingerprint: Fingerprint
) -> Response:
    """Record money received for an issued invoice or debit note, in whole or in part, with
    the part the client withheld for a third party (``withheld``, a detraccion deposit). More
    than is owed, a draft, a void or paid document answer 409. A retry with the same
    Idempotency-Key replays the first answer and records nothing more."""

    def action() -> tuple[int, object]:
        with service_errors(conflicts=(PaymentRefused,)):
            payment, document = record_payment(
                engine,
                body.document_id,
                Decimal(body.amount),
                body.received_at,
                body.reference,
                body.method,
                actor=f"api:{principal.name}",
                withheld=Decimal(body.withheld),
            )
        return status.HTTP_201_CREATED, payment_public(payment, document).model_dump(mode="json")

    return run_once(engine, principal, key, fingerprint, action)
