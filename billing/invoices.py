"""The invoice lifecycle: close a period into drafts, issue them with a number, void them.

Transactions (this is the service layer):

- ``close_period`` rates every active contract in one read (the KPI queries are batched),
  then writes each contract's draft in its own short transaction. A crash mid-run leaves
  every contract either fully refreshed or untouched, never half-written; a rerun finishes
  the job. One transaction per contract (rather than one for the month) also keeps the
  write lock short, so imports and issuing are not blocked for the whole close.
- ``issue`` locks the document row, takes the next number of its series and flips the
  status in one transaction: a rollback gives the number back.
- ``void`` keeps the number and records why.

Two ``close`` runs at once cannot duplicate a draft: the draft is inserted with
``ON CONFLICT DO NOTHING`` on the partial unique index ``uq_document_open_invoice`` (one
non-void invoice per contract and period); the loser then locks the winner's row and
refreshes it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pendulum
from sqlalchemy import Engine, delete, insert, text
from sqlmodel import Session, col, func, select

from billing.audit import record
from billing.contracts import ContractInForce, active_contracts
from billing.db import reading, transaction
from billing.documents import (
    ISSUED,
    DocumentConflict,
    lines_of,
    lock_document,
    money_text,
    notes_total,
    terms_of,
)
from billing.lines import RatedInvoice
from billing.models import Contract, Document, DocumentLine, ImportBatch, utcnow
from billing.numbering import dialect_insert, take_number
from billing.periods import Period
from billing.terms import ContractTerms

OPEN_INVOICE = "kind = 'invoice' AND status <> 'void'"
QUANTITY_PLACES = Decimal("0.000001")

Progress = Callable[[int, int, str], None]


@dataclass(frozen=True)
class CloseOutcome:
    contract: str
    action: str  # created | refreshed | unchanged | skipped
    document_id: int | None
    total: Decimal | None = None
    currency: str | None = None
    number: str | None = None
    message: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            "contract": self.contract,
            "action": self.action,
            "document_id": self.document_id,
            "number": self.number,
            "currency": self.currency,
            "total": None if self.total is None or self.currency is None else money_text(self.total, self.currency),
            "message": self.message,
        }


@dataclass
class CloseResult:
    period: Period
    data_as_of: int | None
    outcomes: list[CloseOutcome] = field(default_factory=list)

    def count(self, action: str) -> int:
        return sum(1 for outcome in self.outcomes if outcome.action == action)

    def as_json(self) -> dict[str, Any]:
        counts = {a: self.count(a) for a in ("created", "refreshed", "unchanged", "skipped")}
        return {
            "period": str(self.period),
            "data_as_of": self.data_as_of,
            **counts,
            "invoices": [outcome.as_json() for outcome in self.outcomes],
        }


# -- close ---------------------------------------------------------------------------------


def close_period(
    engine: Engine, period: Period, actor: str, now: datetime, on_progress: Progress | None = None
) -> CloseResult:
    """Rate every active contract for ``period`` and store one draft invoice each.

    Everything is rated as of the newest import batch (``data_as_of``), so a draft states
    exactly which data it was measured on even while imports run. Contracts already
    invoiced (issued or paid) for the period are skipped and reported."""
    from billing.rating_service import rate_contracts

    with reading(engine) as session:
        data_as_of = latest_batch(session)
        items = active_contracts(session, period)
        invoiced = invoiced_contracts(session, period)
        skipped = [item for item in items if item.contract_id in invoiced]
        to_rate = [item for item in items if item.contract_id not in invoiced]
        rated = rate_contracts(session, to_rate, period, data_as_of)
    result = store_drafts(engine, period, rated, actor, now, data_as_of, on_progress)
    for item in skipped:
        done = invoiced[item.contract_id]
        result.outcomes.append(
            CloseOutcome(
                item.terms.code,
                "skipped",
                done.id,
                done.total,
                done.currency,
                done.number_text,
                f"already {done.status} as {done.number_text}",
            )
        )
    result.outcomes.sort(key=lambda outcome: outcome.contract)
    return result


def store_drafts(
    engine: Engine,
    period: Period,
    rated: list[tuple[ContractInForce, RatedInvoice]],
    actor: str,
    now: datetime,
    data_as_of: int | None = None,
    on_progress: Progress | None = None,
) -> CloseResult:
    """Store rated invoices as drafts, one transaction per contract."""
    result = CloseResult(period, data_as_of)
    for done, (item, invoice) in enumerate(rated, start=1):
        with transaction(engine) as session:
            result.outcomes.append(store_draft(session, item, invoice, actor, now, data_as_of))
        if on_progress:
            on_progress(done, len(rated), item.terms.code)
    return result


def store_draft(
    session: Session, item: ContractInForce, invoice: RatedInvoice, actor: str, now: datetime, data_as_of: int | None
) -> CloseOutcome:
    """Create or refresh the contract's draft for the period (caller's transaction)."""
    header = _header(item, invoice, now, data_as_of)
    lines = [_line_row(position, line) for position, line in enumerate(invoice.lines, start=1)]
    code = item.terms.code
    created_id = session.execute(
        dialect_insert(session, Document)
        .values(kind="invoice", status="draft", created_at=now, **header)
        .on_conflict_do_nothing(index_elements=["contract_id", "period"], index_where=text(OPEN_INVOICE))
        .returning(Document.id)  # type: ignore[arg-type]
    ).scalar_one_or_none()
    if created_id is not None:
        _write_lines(session, created_id, lines)
        record(session, actor, "invoice.drafted", "document", created_id, _audit(header, code), at=now)
        return CloseOutcome(code, "created", created_id, invoice.total, invoice.currency)
    draft = session.exec(
        select(Document)
        .where(Document.contract_id == item.contract_id, Document.period == str(invoice.period))
        .where(text(OPEN_INVOICE))
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    assert draft.id is not None
    if draft.status != "draft":
        return CloseOutcome(
            code, "skipped", draft.id, draft.total, draft.currency, draft.number_text, f"already {draft.status}"
        )
    if _same(draft, header, lines_of(session, draft.id), lines):
        return CloseOutcome(code, "unchanged", draft.id, invoice.total, invoice.currency)
    previous = str(draft.total)
    for name, value in header.items():
        setattr(draft, name, value)
    session.add(draft)
    session.execute(delete(DocumentLine).where(DocumentLine.document_id == draft.id))  # type: ignore[arg-type]
    _write_lines(session, draft.id, lines)
    record(
        session,
        actor,
        "invoice.refreshed",
        "document",
        draft.id,
        {**_audit(header, code), "previous_total": previous},
        at=now,
    )
    return CloseOutcome(code, "refreshed", draft.id, invoice.total, invoice.currency)


def latest_batch(session: Session) -> int | None:
    """The newest import batch: the data a close or a measurement is as of."""
    return session.exec(select(func.max(ImportBatch.id))).one()


def invoiced_contracts(session: Session, period: Period) -> dict[int, Document]:
    """Contracts with an issued or paid invoice for the period, and that invoice."""
    rows = session.exec(
        select(Document).where(
            Document.kind == "invoice", Document.period == str(period), col(Document.status).in_(ISSUED)
        )
    ).all()
    return {document.contract_id: document for document in rows}


def _header(item: ContractInForce, invoice: RatedInvoice, now: datetime, data_as_of: int | None) -> dict[str, Any]:
    terms = item.terms
    return {
        "contract_id": item.contract_id,
        "client_id": terms.client.id,
        "period": str(invoice.period),
        "series": terms.invoicing.series,
        "currency": invoice.currency,
        "subtotal": invoice.subtotal,
        "tax": invoice.tax,
        "total": invoice.total,
        "tax_name": invoice.tax_name,
        "tax_rate": invoice.tax_rate,
        "rounding": terms.rounding.value,
        "terms_version_id": item.version_id,
        "rated_at": now,
        "data_as_of": data_as_of,
        "service_levels": [level.as_json() for level in invoice.service_levels],
        "kpis": jsonable(invoice.kpis),
    }


def _line_row(position: int, line: Any) -> dict[str, Any]:
    return {
        "position": position,
        "charge": line.charge,
        "type": str(line.type),
        "description": line.description[:500],
        "quantity": _stored_quantity(line.quantity),
        "unit_price": None if line.unit_price is None else _stored_quantity(line.unit_price),
        "amount": line.amount,
        "details": jsonable(line.details),
    }


def _stored_quantity(value: Decimal) -> Decimal:
    """Quantities keep six decimals in the table; the exact figure stays in ``details``."""
    return value.quantize(QUANTITY_PLACES, rounding=ROUND_HALF_UP)


def _write_lines(session: Session, document_id: int, lines: list[dict[str, Any]]) -> None:
    if lines:
        session.execute(insert(DocumentLine), [{**line, "document_id": document_id} for line in lines])


def _same(draft: Document, header: dict[str, Any], stored: list[DocumentLine], lines: list[dict[str, Any]]) -> bool:
    keys = [k for k in header if k != "rated_at"]
    if any(getattr(draft, k) != header[k] for k in keys):
        return False
    current = [{k: getattr(line, k) for k in lines[0]} for line in stored] if lines else []
    return len(stored) == len(lines) and current == lines


def _audit(header: dict[str, Any], code: str) -> dict[str, Any]:
    return {
        "contract": code,
        "period": header["period"],
        "total": str(header["total"]),
        "currency": header["currency"],
        "data_as_of": header["data_as_of"],
    }


def jsonable(value: Any) -> Any:
    """Decimals and dates as strings, tuples as lists: what a JSON column can hold."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, Decimal | Period):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    if hasattr(value, "as_json"):
        return value.as_json()
    return value


# -- issue and void --------------------------------------------------------------------------


def issue(engine: Engine, document_id: int, actor: str, today: date) -> Document:
    """Give a draft the next number of its series and freeze it.

    ``today`` is the issue date; an aware ``datetime`` is converted to the contract's time
    zone first (and becomes ``issued_at``). A document that is not a draft is refused with
    ``DocumentConflict``, so two concurrent issues of one draft give one number and one
    conflict. A credit note must still fit within what its invoice has left to credit."""
    with transaction(engine) as session:
        document = lock_document(session, document_id)
        if document.status != "draft":
            raise DocumentConflict(
                f"document {document_id} is already {document.status}"
                + (f" as {document.number_text}" if document.number_text else "")
                + ": only a draft can be issued"
            )
        terms = terms_of(session, document)
        if document.corrects_id is not None:
            _check_correction(session, document)
        issue_date, issued_at = _local_day(today, terms)
        number, number_text = take_number(session, document.series)
        document.number, document.number_text = number, number_text
        document.status = "issued"
        document.issue_date = issue_date
        document.due_date = issue_date + timedelta(days=terms.invoicing.payment_terms_days)
        document.issued_at = issued_at
        session.add(document)
        session.flush()
        record(
            session,
            actor,
            f"{document.kind}.issued",
            "document",
            document_id,
            {"number": number_text, "total": str(document.total), "issue_date": issue_date.isoformat()},
            at=issued_at,
        )
    return document


def _check_correction(session: Session, note: Document) -> None:
    """Under the invoice's lock: it is still issued, and credits stay within its total."""
    assert note.corrects_id is not None
    invoice = lock_document(session, note.corrects_id)
    if invoice.status not in ISSUED:
        raise DocumentConflict(f"invoice {invoice.id} is {invoice.status}: it can no longer be corrected")
    if note.kind == "credit_note":
        credited = notes_total(session, note.corrects_id, "credit_note", ISSUED)
        if credited + note.total > invoice.total:
            code = invoice.currency
            raise DocumentConflict(
                f"credit note {note.id} ({money_text(note.total, code)}) would credit more than invoice "
                f"{invoice.number_text} has left ({money_text(invoice.total - credited, code)} of "
                f"{money_text(invoice.total, code)} {code})"
            )


def _local_day(today: date, terms: ContractTerms) -> tuple[date, datetime]:
    if isinstance(today, datetime):
        local = pendulum.instance(today).in_timezone(terms.timezone)
        return date(local.year, local.month, local.day), today
    return today, utcnow()


def void(engine: Engine, document_id: int, reason: str, actor: str, now: datetime | None = None) -> Document:
    """Void an issued document (it keeps its number) or discard a draft.

    Refused: a paid document (refund it with a credit note), one already void, and an
    invoice that still has notes correcting it that are not void (void those first)."""
    if not reason or not reason.strip():
        raise ValueError("a reason is required to void a document")
    at = now or utcnow()
    with transaction(engine) as session:
        document = lock_document(session, document_id)
        if document.status == "void":
            raise DocumentConflict(f"document {document_id} is already void")
        if document.status == "paid":
            raise DocumentConflict(f"document {document.number_text} is paid: refund it with a credit note")
        if document.kind == "invoice":
            open_notes = session.exec(
                select(Document.id).where(Document.corrects_id == document_id, Document.status != "void")
            ).all()
            if open_notes:
                raise DocumentConflict(
                    f"invoice {document.number_text or document_id} has notes that are not void "
                    f"({', '.join(map(str, open_notes))}): void them first"
                )
        previous = document.status
        document.status, document.voided_at, document.void_reason = "void", at, reason.strip()
        session.add(document)
        session.flush()
        record(
            session,
            actor,
            f"{document.kind}.voided",
            "document",
            document_id,
            {"number": document.number_text, "previous_status": previous, "reason": reason.strip()},
            at=at,
        )
    return document


def drafts_of_period(engine: Engine, period: Period, kind: str = "invoice") -> list[int]:
    """Ids of the period's drafts in contract order (numbers then follow that order)."""
    with reading(engine) as session:
        rows = session.exec(
            select(Document.id)
            .join(Contract, col(Contract.id) == Document.contract_id)
            .where(Document.period == str(period), Document.status == "draft", Document.kind == kind)
            .order_by(col(Contract.code))
        ).all()
    return [row for row in rows if row is not None]
