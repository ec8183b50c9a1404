"""Client statements: documents, payments and the running balance over a range of months,
with each invoice's lines, service-level results and KPIs as they were stored at rating time.

``assemble`` is pure (values in, statement out); ``load_statement`` is the repository side
that reads one client's rows. Nothing here recomputes an amount or a KPI: it renders what the
documents hold. Formatting for people lives in ``billing.presentation.formatting``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from billing.core import currencies
from billing.core.money import quantum
from billing.core.periods import Period
from billing.storage.models import Client, Contract, Document, DocumentLine, Payment, Reconciliation

ZERO = Decimal(0)
#: Statuses that move the balance. Drafts are not documents yet; a void document moves nothing.
BILLED = ("issued", "paid")


@dataclass(frozen=True)
class ClientView:
    id: str
    name: str
    locale: str
    tax_id: str | None


@dataclass(frozen=True)
class LineView:
    position: int
    charge: str
    type: str
    description: str
    quantity: Decimal
    unit_price: Decimal | None
    amount: Decimal
    details: dict[str, Any]


@dataclass(frozen=True)
class ReconciliationView:
    """What the latest reconciliation of an invoice found, as it recorded it."""

    reconciled_at: datetime
    net_difference: Decimal
    within_tolerance: bool
    causes: tuple[str, ...]
    proposed_number: str | None


@dataclass(frozen=True)
class DocumentView:
    id: int
    kind: str
    status: str
    contract: str
    period: str
    series: str
    number_text: str | None
    currency: str
    subtotal: Decimal
    tax: Decimal
    total: Decimal
    tax_name: str | None
    tax_rate: Decimal
    issue_date: date | None
    due_date: date | None
    corrects_number: str | None = None
    reason: str | None = None
    void_reason: str | None = None
    lines: tuple[LineView, ...] = ()
    service_levels: tuple[dict[str, Any], ...] = ()
    kpis: dict[str, Any] = field(default_factory=dict)
    #: The latest reconciliation of this invoice, when there is one (see ``ReconciliationView``).
    reconciliation: ReconciliationView | None = None

    @property
    def effect(self) -> Decimal:
        """What the document adds to the client's balance: credit notes lower it."""
        if self.status not in BILLED:
            return ZERO
        return -abs(self.total) if self.kind == "credit_note" else self.total


@dataclass(frozen=True)
class PaymentView:
    id: int
    document_number: str | None
    amount: Decimal
    currency: str
    received_on: date
    method: str
    reference: str


@dataclass(frozen=True)
class Entry:
    """One row of the account: a charge (invoice, debit note), a credit (credit note,
    payment), and the balance after it."""

    on: date
    kind: str
    reference: str
    description: str
    charge: Decimal
    credit: Decimal
    balance: Decimal
    document_id: int | None = None


@dataclass(frozen=True)
class Account:
    """The statement in one currency (a client billed in two currencies has two accounts)."""

    currency: str
    opening: Decimal
    entries: tuple[Entry, ...]
    closing: Decimal
    charges: Decimal
    credits: Decimal


@dataclass(frozen=True)
class Statement:
    client: ClientView
    first: Period
    last: Period
    accounts: tuple[Account, ...]
    documents: tuple[DocumentView, ...]
    payments: tuple[PaymentView, ...]

    @property
    def start(self) -> date:
        return self.first.first_day

    @property
    def end(self) -> date:
        return self.last.last_day


def assemble(
    client: ClientView,
    first: Period,
    last: Period,
    documents: Iterable[DocumentView],
    payments: Iterable[PaymentView],
    opening: dict[str, Decimal] | None = None,
) -> Statement:
    """The statement from the range's documents and payments and the balance brought forward
    per currency. Entries are in date order (documents before payments on the same day)."""
    documents = tuple(sorted(documents, key=lambda d: (d.issue_date or date.max, d.id)))
    payments = tuple(sorted(payments, key=lambda p: (p.received_on, p.id)))
    opening = dict(opening or {})
    rows: dict[str, list[tuple[tuple[date, int, int], str, str, str, Decimal, int | None]]] = {}
    for doc in documents:
        if doc.status not in BILLED or doc.issue_date is None:
            continue
        description = f"{doc.contract} {doc.period}"
        reference = doc.number_text or f"#{doc.id}"
        rows.setdefault(doc.currency, []).append(
            ((doc.issue_date, 0, doc.id), doc.kind, reference, description, doc.effect, doc.id)
        )
    for pay in payments:
        description = f"{pay.method} {pay.reference}"
        reference = pay.document_number or ""
        rows.setdefault(pay.currency, []).append(
            ((pay.received_on, 1, pay.id), "payment", reference, description, -pay.amount, None)
        )
    accounts = []
    for currency in sorted(set(rows) | set(opening)):
        balance = opening.get(currency, ZERO)
        start_balance = balance
        entries = []
        for (on, _, _), kind, reference, description, effect, doc_id in sorted(rows.get(currency, [])):
            balance += effect
            charge, credit = (effect, ZERO) if effect >= 0 else (ZERO, -effect)
            entries.append(Entry(on, kind, reference, description, charge, credit, balance, doc_id))
        accounts.append(
            Account(
                currency=currency,
                opening=start_balance,
                entries=tuple(entries),
                closing=balance,
                charges=sum((e.charge for e in entries), ZERO),
                credits=sum((e.credit for e in entries), ZERO),
            )
        )
    return Statement(client, first, last, tuple(accounts), documents, payments)


# -- repository -------------------------------------------------------------------------


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


# -- JSON ---------------------------------------------------------------------------------


def money_text(value: Decimal, currency_code: str) -> str:
    """An amount as a decimal string in the currency's minor units (``"1234.50"``)."""
    return str(value.quantize(quantum(currencies.currency(currency_code).minor_units)))


def plain_number(value: Decimal) -> str:
    """A quantity without trailing zeros (``"5"``, ``"2.5"``, ``"18"``)."""
    return format(value.normalize(), "f")


def document_json(doc: DocumentView) -> dict[str, Any]:
    def money(value: Decimal) -> str:
        return money_text(value, doc.currency)

    return {
        "id": doc.id,
        "kind": doc.kind,
        "status": doc.status,
        "contract": doc.contract,
        "period": doc.period,
        "series": doc.series,
        "number": doc.number_text,
        "currency": doc.currency,
        "subtotal": money(doc.subtotal),
        "tax": money(doc.tax),
        "total": money(doc.total),
        "tax_name": doc.tax_name,
        "tax_rate": plain_number(doc.tax_rate),
        "issue_date": doc.issue_date.isoformat() if doc.issue_date else None,
        "due_date": doc.due_date.isoformat() if doc.due_date else None,
        "corrects": doc.corrects_number,
        "reason": doc.reason,
        "void_reason": doc.void_reason,
        "lines": [
            {
                "position": line.position,
                "charge": line.charge,
                "type": line.type,
                "description": line.description,
                "quantity": plain_number(line.quantity),
                "unit_price": None if line.unit_price is None else plain_number(line.unit_price),
                "amount": money(line.amount),
                "details": line.details,
            }
            for line in doc.lines
        ],
        "service_levels": list(doc.service_levels),
        "kpis": doc.kpis,
        "reconciliation": None
        if doc.reconciliation is None
        else {
            "reconciled_at": doc.reconciliation.reconciled_at.isoformat(),
            "net_difference": money(doc.reconciliation.net_difference),
            "within_tolerance": doc.reconciliation.within_tolerance,
            "causes": list(doc.reconciliation.causes),
            "proposed_note": doc.reconciliation.proposed_number,
        },
    }


def statement_json(statement: Statement) -> dict[str, Any]:
    return {
        "client": {
            "id": statement.client.id,
            "name": statement.client.name,
            "locale": statement.client.locale,
            "tax_id": statement.client.tax_id,
        },
        "from": str(statement.first),
        "to": str(statement.last),
        "accounts": [
            {
                "currency": account.currency,
                "opening_balance": money_text(account.opening, account.currency),
                "charges": money_text(account.charges, account.currency),
                "credits": money_text(account.credits, account.currency),
                "closing_balance": money_text(account.closing, account.currency),
                "entries": [
                    {
                        "date": e.on.isoformat(),
                        "kind": e.kind,
                        "reference": e.reference,
                        "description": e.description,
                        "charge": money_text(e.charge, account.currency),
                        "credit": money_text(e.credit, account.currency),
                        "balance": money_text(e.balance, account.currency),
                        "document_id": e.document_id,
                    }
                    for e in account.entries
                ],
            }
            for account in statement.accounts
        ],
        "documents": [document_json(d) for d in statement.documents],
        "payments": [
            {
                "id": p.id,
                "document": p.document_number,
                "amount": money_text(p.amount, p.currency),
                "currency": p.currency,
                "received_on": p.received_on.isoformat(),
                "method": p.method,
                "reference": p.reference,
            }
            for p in statement.payments
        ],
    }
