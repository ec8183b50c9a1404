"""The invoice lifecycle: close a period into drafts, issue them with a number, void them.

Transactions (this is the service layer):

- ``close_period`` (``billing.invoicing.closing``, re-exported here) rates every active
  contract and writes the drafts in chunks; one contract never stops the month.
- ``issue`` locks the document row, takes the next number of its series and flips the
  status in one transaction: a rollback gives the number back. The issue date follows
  ``billing.invoicing.dating``.
- ``void`` keeps the number and records why.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import pendulum
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from billing.collection import outbox as collection
from billing.contracts.entities import IssuerUnknown, parties_of
from billing.contracts.terms import ContractTerms
from billing.core.limits import DESCRIPTION
from billing.core.periods import Period
from billing.invoicing.closing import CHUNK, close_period, invoiced_contracts, latest_batch, store_drafts
from billing.invoicing.dating import correction_problem, request_problem, series_problem
from billing.invoicing.documents import ISSUED, DocumentConflict, lock_document, money_text, notes_total, terms_of
from billing.invoicing.drafts import CloseOutcome, CloseResult, jsonable, store_draft
from billing.invoicing.notes import ADJUSTMENT, charge_amounts, check_charge_room
from billing.invoicing.numbering import confirm_number, last_issue_date, take_number
from billing.storage.audit import record
from billing.storage.db import reading, transaction
from billing.storage.models import Contract, Document, utcnow

# -- issue and void --------------------------------------------------------------------------


def issue(engine: Engine, document_id: int, actor: str, today: date, now: datetime | None = None) -> Document:
    """Give a draft the next number of its series and freeze it.

    ``today`` is the issue date; an aware ``datetime`` is converted to the contract's time
    zone first (and becomes ``issued_at``). ``now`` is the current instant (default: the
    clock): no document is dated after its date in the contract's zone. The date rules are
    ``billing.invoicing.dating``'s. A document that is not a draft is refused with
    ``DocumentConflict``, so two concurrent issues of one draft give one number and one
    conflict. A credit note must still fit within what its invoice has left to credit."""
    with transaction(engine) as session:
        return issue_in(session, document_id, actor, today, now)


@dataclass
class IssueBatch:
    issued: list[Document] = field(default_factory=list)
    refused: list[tuple[int, str]] = field(default_factory=list)


def issue_many(
    engine: Engine,
    document_ids: list[int],
    actor: str,
    today: date,
    chunk: int = CHUNK,
    now: datetime | None = None,
) -> IssueBatch:
    """Issue many drafts, ``chunk`` per transaction, each inside its own savepoint: a refused
    document (a conflict, a date its rules refuse, a change the database refuses) rolls back
    alone (its number too, so the series stays gapless) and the rest go on. Documents are
    taken in (series, id) order, so two batches running at once queue instead of deadlocking."""
    with reading(engine) as session:
        rows = session.exec(select(Document.id, Document.series).where(col(Document.id).in_(document_ids))).all()
    series = {document_id: name for document_id, name in rows}
    ordered = sorted(dict.fromkeys(document_ids), key=lambda d: (series.get(d, ""), d))
    batch = IssueBatch()
    for start in range(0, len(ordered), chunk):
        with transaction(engine) as session:
            for document_id in ordered[start : start + chunk]:
                try:
                    with session.begin_nested():
                        batch.issued.append(issue_in(session, document_id, actor, today, now))
                except (DocumentConflict, LookupError, ValueError) as refusal:
                    batch.refused.append((document_id, str(refusal)))
                except IntegrityError as refusal:
                    batch.refused.append((document_id, f"document {document_id}: {refused_by_database(refusal)}"))
    return batch


def issue_in(session: Session, document_id: int, actor: str, today: date, now: datetime | None = None) -> Document:
    """``issue`` inside the caller's transaction."""
    document = lock_document(session, document_id)
    if document.status != "draft":
        raise DocumentConflict(
            f"document {document_id} is already {document.status}"
            + (f" as {document.number_text}" if document.number_text else "")
            + ": only a draft can be issued"
        )
    if document.provisional:
        raise DocumentConflict(
            f"draft {document_id} is provisional (a close --preview of {document.period}, which is not closable yet): "
            f"it cannot be issued; run billing close --period {document.period} once the period is closable"
        )
    terms = terms_of(session, document)
    invoice = _check_correction(session, document) if document.corrects_id is not None else None
    if invoice is not None and document.total <= 0:
        raise DocumentConflict(
            f"{document.kind.replace('_', ' ')} {document_id} is worth {money_text(document.total, document.currency)} "
            f"{document.currency}: a note that corrects nothing does not take a number (void it)"
        )
    at = now or utcnow()
    issue_date, issued_at = _local_day(today, terms, at)
    problem = request_problem(document.kind, document.period, issue_date, _local_date(at, terms), terms.timezone)
    if problem:
        raise ValueError(problem)
    if invoice is not None:
        problem = correction_problem(document.kind, issue_date, invoice.number_text, invoice.issue_date)
        if problem:
            raise DocumentConflict(problem)
    try:
        issuer, buyer = parties_of(session, terms, document.currency)
    except IssuerUnknown as exc:
        raise DocumentConflict(f"document {document_id} cannot be issued: {exc}") from None
    number, number_text = take_number(session, document.series)
    problem = series_problem(number_text, issue_date, last_issue_date(session, document.series, number))
    if problem:
        raise DocumentConflict(problem)
    document.number, document.number_text = number, number_text
    document.status = "issued"
    document.issue_date = issue_date
    document.due_date = issue_date + timedelta(days=terms.invoicing.payment_terms_days)
    document.issued_at = issued_at
    # The parties as they are now, frozen with the document (migration 0012).
    document.issuer, document.buyer = issuer, buyer
    session.add(document)
    session.flush()
    confirm_number(session, document.series, number)
    # Collection starts in the same transaction: the document cannot be issued without its
    # Stripe push queued, nor queued without being issued (the outbox pattern).
    collection.enqueue(session, document)
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


def refused_by_database(error: IntegrityError) -> str:
    """The one-line reason a database trigger or constraint gave for refusing a change."""
    reason = str(getattr(error, "orig", None) or error).strip()
    return "refused by the database: " + (reason.splitlines()[0] if reason else type(error).__name__)


def _check_correction(session: Session, note: Document) -> Document:
    """Under the invoice's lock: it is still issued, and credits stay within its total.
    Returns the invoice."""
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
        own = charge_amounts(session, [note.id] if note.id is not None else [])
        own.pop(ADJUSTMENT, None)
        check_charge_room(session, invoice, own, ISSUED)
    return invoice


def _local_day(today: date, terms: ContractTerms, now: datetime) -> tuple[date, datetime]:
    if isinstance(today, datetime):
        return _local_date(today, terms), today
    return today, now


def _local_date(instant: datetime, terms: ContractTerms) -> date:
    local = pendulum.instance(instant).in_timezone(terms.timezone)
    return date(local.year, local.month, local.day)


def void(engine: Engine, document_id: int, reason: str, actor: str, now: datetime | None = None) -> Document:
    """Void an issued document (it keeps its number) or discard a draft.

    Refused: a paid document (refund it with a credit note), one already void, and an
    invoice that still has notes correcting it that are not void (void those first)."""
    if not reason or not reason.strip():
        raise ValueError("a reason is required to void a document")
    problem = DESCRIPTION.problem(reason.strip())
    if problem:
        raise ValueError(f"the reason: {problem}")
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
        if previous == "issued":
            collection.enqueue(session, document, collection.VOID)
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


__all__ = [
    "CHUNK",
    "CloseOutcome",
    "CloseResult",
    "IssueBatch",
    "close_period",
    "drafts_of_period",
    "invoiced_contracts",
    "issue",
    "issue_in",
    "issue_many",
    "jsonable",
    "latest_batch",
    "store_draft",
    "store_drafts",
    "void",
]
