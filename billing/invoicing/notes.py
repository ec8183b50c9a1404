"""Credit and debit notes: corrections of an issued invoice, with their own lines and series.

A note is created as a draft (``create_note``) and issued through ``billing.invoicing.invoices.issue``
like an invoice, in the contract's ``credit_note_series`` or ``debit_note_series``. Line
amounts are positive: what is credited (or debited) before tax, at most
``billing.core.limits.MAX_AMOUNT``; tax follows at the invoice's rate, rounded once in the
contract's mode. Checked here under the invoice's lock, and again when a note is issued:

- a note line (and so a note) worth nothing once rounded to the currency's minor unit
  (``0.001`` PEN, ``0.4`` JPY) is refused: a legal number is never spent on nothing;
- the credit notes of an invoice that are not void never add up to more than its total;
- a credit line against one of the invoice's charges never exceeds what that charge billed
  (the sum of the invoice's lines for it, plus issued debit notes on it) less what credit
  notes already take off it. At creation the credit notes counted are those not void (issued
  *and* drafts, so two drafts cannot together promise more than was billed); at issue, the
  issued ones (a draft that is never issued blocks nothing for good). An ``adjustment`` line
  corrects the invoice as a whole and is bounded by its total only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, insert
from sqlmodel import Session, col, func, select

from billing.core.currencies import currency
from billing.core.limits import DESCRIPTION, number_problem
from billing.core.money import RoundingMode, percent_of, round_amount, to_decimal
from billing.invoicing.documents import (
    ISSUED,
    DocumentConflict,
    lines_of,
    lock_document,
    money_text,
    notes_total,
    terms_of,
)
from billing.invoicing.withholding import withholding_columns
from billing.storage.audit import record
from billing.storage.db import transaction
from billing.storage.models import Document, DocumentLine, utcnow

KINDS = ("credit_note", "debit_note")
#: The charge of a note line that corrects the invoice as a whole rather than one of its lines.
ADJUSTMENT = "adjustment"
NOT_VOID = ("draft", *ISSUED)


@dataclass(frozen=True)
class NoteLine:
    """One line of a note: ``amount`` is positive, before tax."""

    charge: str
    amount: Decimal
    description: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "amount", to_decimal(self.amount))
        if not self.amount.is_finite() or self.amount <= 0:
            raise ValueError(f"line {self.charge}: the amount must be positive, got {self.amount}")
        problem = number_problem(self.amount)
        if problem:
            raise ValueError(f"line {self.charge}: the amount {problem}")


@dataclass(frozen=True)
class NoteTotals:
    amounts: tuple[Decimal, ...]
    subtotal: Decimal
    tax: Decimal
    total: Decimal


def note_totals(amounts: list[Decimal], tax_rate: Decimal, minor_units: int, rounding: RoundingMode) -> NoteTotals:
    """Each line rounded once; subtotal = their sum; tax = round(subtotal x rate); total = both."""
    rounded = tuple(round_amount(amount, minor_units, rounding) for amount in amounts)
    subtotal = sum(rounded, Decimal(0))
    tax = round_amount(percent_of(subtotal, tax_rate), minor_units, rounding)
    return NoteTotals(rounded, subtotal, tax, subtotal + tax)


def create_credit_note(
    engine: Engine,
    invoice_id: int,
    actor: str,
    reason: str,
    amount: Decimal | None = None,
    lines: list[NoteLine] | None = None,
    now: datetime | None = None,
) -> Document:
    """A draft credit note: either one ``amount`` (before tax) against the whole invoice, or
    ``lines`` against the invoice's charges."""
    if (amount is None) == (lines is None):
        raise ValueError("give either an amount or lines to credit, not both")
    if amount is not None:
        lines = [NoteLine(ADJUSTMENT, amount, f"Credit: {reason}")]
    assert lines is not None
    return create_note(engine, invoice_id, "credit_note", lines, reason, actor, now)


def create_note(
    engine: Engine,
    invoice_id: int,
    kind: str,
    lines: list[NoteLine],
    reason: str,
    actor: str,
    now: datetime | None = None,
) -> Document:
    """A draft credit or debit note correcting an issued invoice (the general entry point,
    also used by reconciliation). Nothing is numbered until it is issued."""
    if kind not in KINDS:
        raise ValueError(f"a note is one of {', '.join(KINDS)}, not {kind!r}")
    if not reason or not reason.strip():
        raise ValueError("a note needs a reason")
    problem = DESCRIPTION.problem(reason.strip())
    if problem:
        raise ValueError(f"the reason: {problem}")
    if not lines:
        raise ValueError("a note needs at least one line")
    at = now or utcnow()
    with transaction(engine) as session:
        invoice = lock_document(session, invoice_id)
        _check_invoice(invoice)
        terms = terms_of(session, invoice)
        by_charge = {line.charge: line for line in lines_of(session, invoice_id)}
        for line in lines:
            if line.charge != ADJUSTMENT and line.charge not in by_charge:
                raise ValueError(
                    f"invoice {invoice.number_text} has no charge {line.charge!r} "
                    f"(its charges: {', '.join(by_charge)}; or use {ADJUSTMENT!r})"
                )
        totals = note_totals(
            [line.amount for line in lines],
            invoice.tax_rate,
            currency(invoice.currency).minor_units,
            RoundingMode(invoice.rounding),
        )
        _check_worth(invoice, lines, totals)
        if kind == "credit_note":
            check_charge_room(session, invoice, _by_charge(lines, totals), NOT_VOID)
            _check_credit_room(session, invoice, totals.total)
        series = terms.invoicing.credit_note_series if kind == "credit_note" else terms.invoicing.debit_note_series
        note = Document(
            kind=kind,
            status="draft",
            contract_id=invoice.contract_id,
            client_id=invoice.client_id,
            period=invoice.period,
            series=series,
            currency=invoice.currency,
            subtotal=totals.subtotal,
            tax=totals.tax,
            total=totals.total,
            tax_name=invoice.tax_name,
            tax_rate=invoice.tax_rate,
            rounding=invoice.rounding,
            terms_version_id=invoice.terms_version_id,
            corrects_id=invoice_id,
            reason=reason.strip(),
            rated_at=at,
            created_at=at,
            **withholding_columns(
                terms.invoicing.withholding,
                kind,
                totals.total,
                currency(invoice.currency).minor_units,
                RoundingMode(invoice.rounding),
            ),
        )
        session.add(note)
        session.flush()
        assert note.id is not None
        _write_lines(session, note.id, invoice, lines, totals, by_charge)
        record(
            session,
            actor,
            f"{kind}.created",
            "document",
            note.id,
            {"invoice": invoice.number_text, "total": str(totals.total), "reason": note.reason},
            at=at,
        )
    return note


def _check_invoice(invoice: Document) -> None:
    if invoice.kind != "invoice":
        raise DocumentConflict(f"document {invoice.id} is a {invoice.kind}: notes correct invoices")
    if invoice.status not in ISSUED:
        raise DocumentConflict(
            f"invoice {invoice.id} is {invoice.status}: only an issued invoice can be corrected"
            + (" (change the draft by closing the period again)" if invoice.status == "draft" else "")
        )


def _check_credit_room(session: Session, invoice: Document, total: Decimal) -> None:
    assert invoice.id is not None
    credited = notes_total(session, invoice.id, "credit_note", NOT_VOID)
    if credited + total > invoice.total:
        code = invoice.currency
        raise DocumentConflict(
            f"a credit of {money_text(total, code)} would exceed invoice {invoice.number_text}: "
            f"{money_text(credited, code)} of {money_text(invoice.total, code)} {code} "
            "is already credited or pending in draft notes"
        )


def _check_worth(invoice: Document, lines: list[NoteLine], totals: NoteTotals) -> None:
    code = invoice.currency
    for line, amount in zip(lines, totals.amounts, strict=True):
        if amount <= 0:
            smallest = Decimal(1).scaleb(-currency(code).minor_units)
            raise ValueError(
                f"line {line.charge}: {line.amount} rounds to {money_text(amount, code)} {code}: a note line is "
                f"worth at least {money_text(smallest, code)} {code}, so a legal number is never spent on nothing"
            )


def _by_charge(lines: list[NoteLine], totals: NoteTotals) -> dict[str, Decimal]:
    out: dict[str, Decimal] = {}
    for line, amount in zip(lines, totals.amounts, strict=True):
        if line.charge != ADJUSTMENT:
            out[line.charge] = out.get(line.charge, Decimal(0)) + amount
    return out


def charge_amounts(session: Session, document_ids: list[int] | None, where: Any = None) -> dict[str, Decimal]:
    """Per charge, the sum of the line amounts of the given documents (or of those ``where`` selects)."""
    query = select(DocumentLine.charge, func.sum(DocumentLine.amount)).join(
        Document, col(Document.id) == DocumentLine.document_id
    )
    query = query.where(col(Document.id).in_(document_ids)) if document_ids is not None else query.where(where)
    return {charge: Decimal(total) for charge, total in session.exec(query.group_by(DocumentLine.charge)).all()}


def check_charge_room(
    session: Session, invoice: Document, credit: dict[str, Decimal], statuses: tuple[str, ...]
) -> None:
    """Refuse a credit of ``credit`` (per charge, before tax) that would take more off a charge of
    ``invoice`` than it billed plus issued debits, less the credit notes in ``statuses``."""
    if not credit:
        return
    assert invoice.id is not None
    billed = charge_amounts(session, [invoice.id])
    notes = (col(Document.corrects_id) == invoice.id) & col(Document.status).in_(statuses)
    debited = charge_amounts(
        session, None, notes & (col(Document.kind) == "debit_note") & col(Document.status).in_(ISSUED)
    )
    credited = charge_amounts(session, None, notes & (col(Document.kind) == "credit_note"))
    code = invoice.currency
    for charge, amount in sorted(credit.items()):
        room = billed.get(charge, Decimal(0)) + debited.get(charge, Decimal(0)) - credited.get(charge, Decimal(0))
        if amount > room:
            raise DocumentConflict(
                f"a credit of {money_text(amount, code)} {code} on {charge!r} would exceed what invoice "
                f"{invoice.number_text} billed for it: {money_text(max(room, Decimal(0)), code)} {code} left "
                f"(billed {money_text(billed.get(charge, Decimal(0)), code)}, debited "
                f"{money_text(debited.get(charge, Decimal(0)), code)}, already credited or pending "
                f"{money_text(credited.get(charge, Decimal(0)), code)})"
            )


def _write_lines(
    session: Session,
    note_id: int,
    invoice: Document,
    lines: list[NoteLine],
    totals: NoteTotals,
    by_charge: dict[str, DocumentLine],
) -> None:
    rows = []
    for position, (line, amount) in enumerate(zip(lines, totals.amounts, strict=True), start=1):
        corrected = by_charge.get(line.charge)
        rows.append(
            {
                "document_id": note_id,
                "position": position,
                "charge": line.charge,
                "type": corrected.type if corrected else ADJUSTMENT,
                "description": (line.description or (corrected.description if corrected else line.charge))[:500],
                "quantity": Decimal(1),
                "unit_price": amount,
                "amount": amount,
                "details": {
                    **line.details,
                    "corrects": invoice.number_text,
                    "corrects_line": corrected.position if corrected else None,
                },
            }
        )
    session.execute(insert(DocumentLine), rows)
