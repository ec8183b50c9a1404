"""Receivables: what each client owes per currency on a day, aged by how late it is.

As of a day, a document is owed when it was issued by then (an invoice or a debit note, not
voided by then); its balance is its total less the credit notes issued against it by then,
the money received by then and the part withheld for a third party by then
(``billing.core.ageing.balance_due``). Balances are aged by the days past their due date
(``billing.core.ageing.BUCKETS``: not yet due, 1-30, 31-60, 61-90, over 90). A document with
nothing left is not listed; one credited beyond what it still owed shows a negative balance
(owed to the client), which lowers its bucket.

``load_facts`` reads (a session in, facts out); ``age`` is pure.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlmodel import Session, col, func, select

from billing.core.ageing import BUCKET_CODES, balance_due, bucket, days_past_due
from billing.invoicing.documents import money_text
from billing.storage.models import Client, Contract, Document, Payment

ZERO = Decimal(0)


@dataclass(frozen=True)
class DocumentFacts:
    document_id: int
    number: str
    kind: str
    client_id: str
    client_name: str
    contract: str
    currency: str
    issue_date: date
    due_date: date
    total: Decimal
    credited: Decimal = ZERO
    paid: Decimal = ZERO
    withheld: Decimal = ZERO


@dataclass(frozen=True)
class AgedDocument:
    facts: DocumentFacts
    balance: Decimal
    days_past_due: int
    bucket: str

    @property
    def overdue(self) -> bool:
        return self.balance > 0 and self.days_past_due > 0

    def as_json(self) -> dict[str, Any]:
        f, money = self.facts, (lambda value: money_text(value, self.facts.currency))
        return {
            "document_id": f.document_id,
            "number": f.number,
            "kind": f.kind,
            "contract": f.contract,
            "issue_date": f.issue_date.isoformat(),
            "due_date": f.due_date.isoformat(),
            "total": money(f.total),
            "credited": money(f.credited),
            "paid": money(f.paid),
            "withheld": money(f.withheld),
            "balance": money(self.balance),
            "days_past_due": max(self.days_past_due, 0),
            "bucket": self.bucket,
            "overdue": self.overdue,
        }


@dataclass
class Account:
    """One client's receivables in one currency."""

    client_id: str
    client_name: str
    currency: str
    documents: list[AgedDocument] = field(default_factory=list)

    def bucket_total(self, code: str) -> Decimal:
        return sum((d.balance for d in self.documents if d.bucket == code), ZERO)

    @property
    def total(self) -> Decimal:
        return sum((d.balance for d in self.documents), ZERO)

    @property
    def overdue(self) -> Decimal:
        return sum((d.balance for d in self.documents if d.bucket != BUCKET_CODES[0]), ZERO)

    def as_json(self) -> dict[str, Any]:
        money = lambda value: money_text(value, self.currency)  # noqa: E731
        return {
            "client": self.client_id,
            "name": self.client_name,
            "currency": self.currency,
            **{code: money(self.bucket_total(code)) for code in BUCKET_CODES},
            "total": money(self.total),
            "overdue": money(self.overdue),
            "documents": [d.as_json() for d in self.documents],
        }


@dataclass(frozen=True)
class Receivables:
    as_of: date
    accounts: tuple[Account, ...]

    def totals(self) -> list[dict[str, Any]]:
        """Every client together, per currency."""
        out = []
        for code in sorted({a.currency for a in self.accounts}):
            mine = [a for a in self.accounts if a.currency == code]
            row: dict[str, Any] = {"currency": code}
            for bucket_code in BUCKET_CODES:
                row[bucket_code] = money_text(sum((a.bucket_total(bucket_code) for a in mine), ZERO), code)
            row["total"] = money_text(sum((a.total for a in mine), ZERO), code)
            out.append(row)
        return out

    def as_json(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "buckets": list(BUCKET_CODES),
            "clients": [account.as_json() for account in self.accounts],
            "totals": self.totals(),
        }


def age(facts: list[DocumentFacts], as_of: date) -> Receivables:
    """Aged balances per client and currency (pure): documents with nothing left are dropped."""
    accounts: dict[tuple[str, str], Account] = {}
    for f in sorted(facts, key=lambda f: (f.client_id, f.currency, f.due_date, f.number)):
        balance = balance_due(f.total, f.credited, f.paid, f.withheld)
        if balance == 0:
            continue
        key = (f.client_id, f.currency)
        account = accounts.setdefault(key, Account(f.client_id, f.client_name, f.currency))
        late = days_past_due(f.due_date, as_of)
        account.documents.append(AgedDocument(f, balance, late, bucket(f.due_date, as_of)))
    return Receivables(as_of, tuple(accounts[key] for key in sorted(accounts)))


def _until(day: date) -> datetime:
    """The first instant after ``day`` (UTC): payments received before it count."""
    return datetime.combine(day + timedelta(days=1), time.min, tzinfo=UTC)


def load_facts(session: Session, as_of: date, client_id: str | None = None) -> list[DocumentFacts]:
    """Invoices and debit notes owed as of ``as_of``, with what credits, payments and
    withholding took off them by then (four grouped queries)."""
    not_voided = (col(Document.voided_at).is_(None)) | (col(Document.voided_at) >= _until(as_of))
    issued = col(Document.number).is_not(None) & (col(Document.issue_date) <= as_of) & not_voided
    query = (
        select(Document, Contract.code, Client.name)
        .join(Contract, col(Contract.id) == col(Document.contract_id))
        .join(Client, col(Client.id) == col(Document.client_id))
        .where(issued, col(Document.kind).in_(("invoice", "debit_note")))
    )
    if client_id is not None:
        query = query.where(col(Document.client_id) == client_id)
    rows = session.exec(query).all()
    ids = [document.id for document, _, _ in rows if document.id is not None]
    if not ids:
        return []
    credits: dict[int, Decimal] = defaultdict(Decimal)
    for corrects, total in session.exec(
        select(Document.corrects_id, func.sum(Document.total))
        .where(issued, col(Document.kind) == "credit_note", col(Document.corrects_id).in_(ids))
        .group_by(col(Document.corrects_id))
    ).all():
        credits[int(corrects or 0)] = Decimal(total or 0)
    paid: dict[int, tuple[Decimal, Decimal]] = {}
    for document_id, amount, withheld in session.exec(
        select(Payment.document_id, func.sum(Payment.amount), func.sum(Payment.withheld))
        .where(col(Payment.document_id).in_(ids), col(Payment.received_at) < _until(as_of))
        .group_by(col(Payment.document_id))
    ).all():
        paid[document_id] = (Decimal(amount or 0), Decimal(withheld or 0))
    out = []
    for document, code, name in rows:
        assert document.id is not None and document.issue_date is not None and document.due_date is not None
        received, withheld = paid.get(document.id, (ZERO, ZERO))
        out.append(
            DocumentFacts(
                document.id,
                document.number_text or "",
                document.kind,
                document.client_id,
                name,
                code,
                document.currency,
                document.issue_date,
                document.due_date,
                document.total,
                credits.get(document.id, ZERO),
                received,
                withheld,
            )
        )
    return out


def receivables(session: Session, as_of: date, client_id: str | None = None) -> Receivables:
    return age(load_facts(session, as_of, client_id), as_of)
