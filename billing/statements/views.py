"""What a client statement holds: the client, its documents with lines, service levels and
reconciliations, payments, and the running balance per currency. ``assemble`` is pure (values
in, statement out); nothing here recomputes an amount or a KPI."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from billing.core.periods import Period

ZERO = Decimal(0)
#: Statuses that move the balance. Drafts are not documents yet; a void document moves nothing.
BILLED = ("issued", "paid")


@dataclass(frozen=True)
class ClientView:
    id: str
    name: str
    locale: str
    tax_id: str | None
    legal_name: str | None = None
    tax_scheme: str | None = None
    address: dict[str, Any] | None = None
    billing_email: str | None = None
    tax_label: str | None = None


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
    corrects_issue_date: date | None = None
    reason: str | None = None
    void_reason: str | None = None
    lines: tuple[LineView, ...] = ()
    service_levels: tuple[dict[str, Any], ...] = ()
    kpis: dict[str, Any] = field(default_factory=dict)
    #: The latest reconciliation of this invoice, when there is one (see ``ReconciliationView``).
    reconciliation: ReconciliationView | None = None
    provisional: bool = False
    #: The parties: as issued (frozen with the document), or as they would be issued now (a draft).
    issuer: dict[str, Any] | None = None
    buyer: dict[str, Any] | None = None
    #: The issuer's logo as a data: URL (its current one: a logo is branding, not a legal field).
    logo: str | None = None
    withholding: dict[str, Any] | None = None
    withholding_amount: Decimal | None = None
    #: What is still owed on the day the view was read (None: not asked, or not a payable document).
    balance: Decimal | None = None
    days_past_due: int = 0

    @property
    def payable(self) -> Decimal:
        """What the client pays the issuer: the total less the withheld part."""
        return self.total - (self.withholding_amount or ZERO)

    @property
    def overdue(self) -> bool:
        """Something is still owed after the due date."""
        return self.balance is not None and self.balance > 0 and self.days_past_due > 0

    @property
    def partly_paid(self) -> bool:
        """Something was paid, withheld or credited, and something is still owed."""
        return self.balance is not None and ZERO < self.balance < self.total

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
    withheld: Decimal = ZERO


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
    #: What the description is made of, for a page to say it in the reader's words: the
    #: contract and service period of a document; the method and reference of a payment.
    contract: str | None = None
    period: str | None = None
    method: str | None = None
    payment_reference: str | None = None


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
    #: The entities that bill this client (one per issuer of its contracts), as of today.
    issuers: tuple[dict[str, Any], ...] = ()
    #: The day balances and overdue documents are as of.
    as_of: date | None = None
    #: ``issued``: the months' documents by document date; ``service``: by service period.
    basis: str = "issued"

    @property
    def closing_on(self) -> date:
        """The day the closing balance is dated: the range's end, or the statement's day
        when the range runs past it (a balance is never dated in the future)."""
        if self.as_of and self.basis == "service":  # documents of the months, issued up to today
            return self.as_of
        return min(self.end, self.as_of) if self.as_of else self.end

    @property
    def overdue(self) -> tuple[DocumentView, ...]:
        return tuple(d for d in self.documents if d.overdue)

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
    issuers: Iterable[dict[str, Any]] = (),
    as_of: date | None = None,
    basis: str = "issued",
) -> Statement:
    """The statement from the range's documents and payments and the balance brought forward
    per currency. Entries are in date order (documents before payments on the same day)."""
    documents = tuple(sorted(documents, key=lambda d: (d.issue_date or date.max, d.id)))
    payments = tuple(sorted(payments, key=lambda p: (p.received_on, p.id)))
    opening = dict(opening or {})
    rows: dict[str, list[tuple[tuple[date, int, int], str, str, str, Decimal, int | None, tuple[str | None, ...]]]] = {}
    for doc in documents:
        if doc.status not in BILLED or doc.issue_date is None:
            continue
        description = f"{doc.contract} {doc.period}"
        reference = doc.number_text or f"#{doc.id}"
        rows.setdefault(doc.currency, []).append(
            (
                (doc.issue_date, 0, doc.id),
                doc.kind,
                reference,
                description,
                doc.effect,
                doc.id,
                (doc.contract, doc.period, None, None),
            )
        )
    for pay in payments:
        description = f"{pay.method} {pay.reference}"
        reference = pay.document_number or ""
        rows.setdefault(pay.currency, []).append(
            (
                (pay.received_on, 1, pay.id),
                "payment",
                reference,
                description,
                -(pay.amount + pay.withheld),
                None,
                (None, None, pay.method, pay.reference),
            )
        )
    accounts = []
    for currency in sorted(set(rows) | set(opening)):
        balance = opening.get(currency, ZERO)
        start_balance = balance
        entries = []
        for (on, _, _), kind, reference, description, effect, doc_id, parts in sorted(
            rows.get(currency, []), key=lambda row: row[0]
        ):
            balance += effect
            charge, credit = (effect, ZERO) if effect >= 0 else (ZERO, -effect)
            entries.append(Entry(on, kind, reference, description, charge, credit, balance, doc_id, *parts))
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
    return Statement(client, first, last, tuple(accounts), documents, payments, tuple(issuers), as_of, basis)
