"""Reading and locking stored documents (invoices, credit and debit notes).

Repository functions: they take a session and never commit. The services in
``billing.invoicing.invoices`` and ``billing.invoicing.notes`` own the transactions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlmodel import Session, col, func, select

from billing.contracts.store import terms_from_source
from billing.contracts.terms import ContractTerms
from billing.core.currencies import currency
from billing.core.limits import MAX_ROW_ID
from billing.core.money import quantum
from billing.core.problems import Conflict
from billing.storage.models import Contract, ContractVersion, Document, DocumentLine

KINDS = ("invoice", "credit_note", "debit_note")
STATUSES = ("draft", "issued", "paid", "void")
#: Statuses that carry a legal number and count towards balances.
ISSUED = ("issued", "paid")


class DocumentNotFound(LookupError):
    pass


class DocumentConflict(Conflict):
    """The document is not in a state that allows the action (e.g. issuing an issued
    invoice, crediting more than was invoiced). Expected under concurrency; never a bug."""


def lock_document(session: Session, document_id: int) -> Document:
    """The document row, locked until the transaction ends (``FOR UPDATE`` on PostgreSQL;
    SQLite's ``BEGIN IMMEDIATE`` already serializes writers)."""
    document = session.exec(
        select(Document).where(Document.id == document_id).with_for_update().execution_options(populate_existing=True)
    ).first()
    if document is None:
        raise DocumentNotFound(f"no document {document_id}")
    return document


def find_document(session: Session, reference: str | int) -> Document:
    """A document by id (``42``) or by number (``F001-00000007``)."""
    text = str(reference).strip()
    document = session.get(Document, int(text)) if text.isdigit() and int(text) <= MAX_ROW_ID else None
    if document is None:
        document = session.exec(select(Document).where(Document.number_text == text)).first()
    if document is None:
        raise DocumentNotFound(f"no document {text!r} (give an id or a number such as F001-00000001)")
    return document


def lines_of(session: Session, document_id: int) -> list[DocumentLine]:
    return list(
        session.exec(
            select(DocumentLine).where(DocumentLine.document_id == document_id).order_by(col(DocumentLine.position))
        ).all()
    )


def terms_of(session: Session, document: Document) -> ContractTerms:
    """The contract terms a document was rated under."""
    version = session.get(ContractVersion, document.terms_version_id) if document.terms_version_id else None
    if version is None:
        raise DocumentConflict(f"document {document.id} has no contract terms recorded")
    return terms_from_source(version.source_text, version.source_name)


def notes_total(session: Session, invoice_id: int, kind: str, statuses: tuple[str, ...]) -> Decimal:
    """Sum of the totals of the notes of ``kind`` correcting an invoice, in ``statuses``."""
    value = session.exec(
        select(func.coalesce(func.sum(Document.total), 0)).where(
            Document.corrects_id == invoice_id, Document.kind == kind, col(Document.status).in_(statuses)
        )
    ).one()
    return Decimal(value) if not isinstance(value, Decimal) else value


@dataclass(frozen=True)
class DocumentFilter:
    period: str | None = None
    contract: str | None = None
    status: str | None = None
    kind: str | None = None


def list_documents(session: Session, where: DocumentFilter) -> list[tuple[Document, str]]:
    """Documents with their contract code, newest period first, then by id."""
    query = select(Document, Contract.code).join(Contract, col(Contract.id) == Document.contract_id)
    if where.period:
        query = query.where(Document.period == where.period)
    if where.contract:
        query = query.where(Contract.code == where.contract)
    if where.status:
        query = query.where(Document.status == where.status)
    if where.kind:
        query = query.where(Document.kind == where.kind)
    rows = session.exec(query.order_by(col(Document.period).desc(), col(Document.id))).all()
    return [(document, code) for document, code in rows]


def document_json(
    document: Document, contract: str, lines: list[DocumentLine] | None = None, locale: str | None = None
) -> dict[str, Any]:
    """A document as JSON: amounts as strings, dates ISO; lines when given. ``amount_in_words``
    is in the language of ``locale`` (by default the buyer's, as issued)."""
    from billing.invoicing.withholding import payable
    from billing.presentation.words import amount_in_words

    def money(value: Decimal) -> str:
        return money_text(value, document.currency)

    language = locale or (document.buyer or {}).get("locale")

    data: dict[str, Any] = {
        "id": document.id,
        "kind": document.kind,
        "status": document.status,
        "number": document.number_text,
        "series": document.series,
        "contract": contract,
        "client": document.client_id,
        "period": document.period,
        "currency": document.currency,
        "subtotal": money(document.subtotal),
        "tax": money(document.tax),
        "total": money(document.total),
        "tax_name": document.tax_name,
        "tax_rate": _plain(document.tax_rate),
        "corrects": document.corrects_id,
        "reason": document.reason,
        "issue_date": _iso(document.issue_date),
        "due_date": _iso(document.due_date),
        "issued_at": _iso(document.issued_at),
        "voided_at": _iso(document.voided_at),
        "void_reason": document.void_reason,
        "data_as_of": document.data_as_of,
        "provisional": bool(document.provisional),
        "amount_in_words": amount_in_words(document.total, document.currency, language),
        "withholding": document.withholding,
        "payable": money(payable(document.total, document.withholding_amount)),
        "issuer": document.issuer,
        "buyer": document.buyer,
    }
    if lines is not None:
        data["lines"] = [
            {
                "position": line.position,
                "charge": line.charge,
                "type": line.type,
                "description": line.description,
                "quantity": _plain(line.quantity),
                "unit_price": None if line.unit_price is None else _plain(line.unit_price),
                "amount": money(line.amount),
                "details": line.details,
            }
            for line in lines
        ]
        data["service_levels"] = document.service_levels
        data["kpis"] = document.kpis
    return data


def money_text(value: Decimal, code: str) -> str:
    """An amount with exactly its currency's decimals ("107.00" USD, "1500" JPY)."""
    return str(value.quantize(quantum(currency(code).minor_units)))


def _plain(value: Decimal) -> str:
    normalized = value.normalize()
    if normalized == normalized.to_integral_value():
        return str(normalized.quantize(Decimal(1)))
    return format(normalized, "f")


def _iso(value: date | None) -> str | None:
    return None if value is None else value.isoformat()
