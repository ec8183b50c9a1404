"""Reading one client's statement from the database (repository functions: a session in,
views out; the balance brought forward is summed by the database)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import func
from sqlmodel import Session, col, select

from billing.core.periods import Period
from billing.statements.views import (
    BILLED,
    ZERO,
    ClientView,
    DocumentView,
    LineView,
    PaymentView,
    ReconciliationView,
    Statement,
    assemble,
)
from billing.storage.models import Client, Contract, Document, DocumentLine, Payment, Reconciliation


def client_view(client: Client) -> ClientView:
    return ClientView(client.id, client.name, client.locale, client.tax_id)


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def load_statement(session: Session, client_id: str, first: Period, last: Period) -> Statement:
    """One client's statement for the months ``first``..``last`` (inclusive). The balance
    brought forward is summed by the database."""
    client = session.get(Client, client_id)
    if client is None:
        raise LookupError(f"no client {client_id!r}")
    start, end = first.first_day, last.last_day
    billed = (col(Document.client_id) == client_id) & col(Document.status).in_(BILLED)
    opening: dict[str, Decimal] = {}
    for currency, kind, total in session.exec(
        select(Document.currency, Document.kind, func.sum(Document.total))
        .where(billed, col(Document.issue_date) < start)
        .group_by(Document.currency, Document.kind)
    ).all():
        amount = Decimal(total or 0)
        opening[currency] = opening.get(currency, ZERO) + (-abs(amount) if kind == "credit_note" else amount)
    for currency, paid in session.exec(
        select(Payment.currency, func.sum(Payment.amount))
        .join(Document, col(Document.id) == col(Payment.document_id))
        .where(col(Document.client_id) == client_id, col(Payment.received_at) < _day_start(start))
        .group_by(Payment.currency)
    ).all():
        opening[currency] = opening.get(currency, ZERO) - Decimal(paid or 0)
    documents = session.exec(
        select(Document)
        .where(
            col(Document.client_id) == client_id,
            col(Document.status) != "draft",
            col(Document.issue_date) >= start,
            col(Document.issue_date) <= end,
        )
        .order_by(col(Document.issue_date), col(Document.id))
    ).all()
    payments = session.exec(
        select(Payment, Document.number_text)
        .join(Document, col(Document.id) == col(Payment.document_id))
        .where(
            col(Document.client_id) == client_id,
            col(Payment.received_at) >= _day_start(start),
            col(Payment.received_at) < _day_start(end + timedelta(days=1)),
        )
        .order_by(col(Payment.received_at), col(Payment.id))
    ).all()
    views = document_views(session, list(documents))
    pays = [
        PaymentView(p.id or 0, number, p.amount, p.currency, p.received_at.date(), p.method, p.reference)
        for p, number in payments
    ]
    return assemble(client_view(client), first, last, views, pays, opening)


def document_views(session: Session, documents: list[Document]) -> list[DocumentView]:
    """Documents with their lines, contract codes and corrected numbers, in three queries."""
    ids = [d.id for d in documents if d.id is not None]
    lines: dict[int, list[LineView]] = {}
    if ids:
        for line in session.exec(
            select(DocumentLine)
            .where(col(DocumentLine.document_id).in_(ids))
            .order_by(col(DocumentLine.document_id), col(DocumentLine.position))
        ).all():
            lines.setdefault(line.document_id, []).append(
                LineView(
                    line.position,
                    line.charge,
                    line.type,
                    line.description,
                    line.quantity,
                    line.unit_price,
                    line.amount,
                    dict(line.details or {}),
                )
            )
    contract_ids = {d.contract_id for d in documents}
    codes = dict(
        session.exec(select(Contract.id, Contract.code).where(col(Contract.id).in_(contract_ids))).all()
        if contract_ids
        else []
    )
    corrected_ids = {d.corrects_id for d in documents if d.corrects_id is not None}
    corrected = dict(
        session.exec(select(Document.id, Document.number_text).where(col(Document.id).in_(corrected_ids))).all()
        if corrected_ids
        else []
    )
    reconciliations = _latest_reconciliations(session, ids)
    return [
        DocumentView(
            id=d.id or 0,
            kind=d.kind,
            status=d.status,
            contract=codes.get(d.contract_id, ""),
            period=d.period,
            series=d.series,
            number_text=d.number_text,
            currency=d.currency,
            subtotal=d.subtotal,
            tax=d.tax,
            total=d.total,
            tax_name=d.tax_name,
            tax_rate=d.tax_rate,
            issue_date=d.issue_date,
            due_date=d.due_date,
            corrects_number=corrected.get(d.corrects_id) if d.corrects_id else None,
            reason=d.reason,
            void_reason=d.void_reason,
            lines=tuple(lines.get(d.id or 0, [])),
            service_levels=tuple(d.service_levels or []),
            kpis=dict(d.kpis or {}),
            reconciliation=reconciliations.get(d.id or 0),
        )
        for d in documents
    ]


def _latest_reconciliations(session: Session, document_ids: list[int]) -> dict[int, ReconciliationView]:
    if not document_ids:
        return {}
    rows = session.exec(
        select(Reconciliation, Document.number_text)
        .outerjoin(Document, col(Document.id) == col(Reconciliation.proposed_document_id))
        .where(col(Reconciliation.document_id).in_(document_ids))
        .order_by(col(Reconciliation.reconciled_at), col(Reconciliation.id))
    ).all()
    latest: dict[int, ReconciliationView] = {}
    for row, proposed in rows:  # later rows replace earlier ones
        result = row.result or {}
        causes = tuple(dict.fromkeys(str(d.get("cause", "")) for d in result.get("discrepancies", [])))
        latest[row.document_id] = ReconciliationView(
            reconciled_at=row.reconciled_at,
            net_difference=Decimal(str(result.get("net_difference", "0"))),
            within_tolerance=bool(result.get("within_tolerance", True)),
            causes=causes,
            proposed_number=proposed,
        )
    return latest
