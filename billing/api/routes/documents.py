"""Invoices, credit and debit notes: lists, detail with lines explained (also by number), PDF.
A client token sees its own issued documents; finance also sees drafts (``?status=draft``).
The PDF of an issued invoice or note is a Factur-X (PDF/A-3 with its EN 16931 XML inside)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, status
from fastapi.responses import Response
from sqlmodel import col

from billing.api.deps import Caller, SessionDep
from billing.api.schemas import PERIOD_PATTERN, DocumentDetail, DocumentsPublic, DocumentSummary
from billing.api.scope import OwnedDocument, find_client, find_contract, not_found, scoped_documents
from billing.statements.einvoice.cii import EInvoiceRefused, cii_xml
from billing.statements.einvoice.hybrid import document_pdf
from billing.statements.serialize import document_json, money_text
from billing.statements.store import client_view, document_views
from billing.storage.models import Client, Document

router = APIRouter(prefix="/v1/documents", tags=["documents"])


def summary(document: Document, code: str) -> DocumentSummary:
    return DocumentSummary(
        id=document.id or 0,
        kind=document.kind,
        status=document.status,
        contract=code,
        client_id=document.client_id,
        period=document.period,
        series=document.series,
        number=document.number_text,
        currency=document.currency,
        subtotal=money_text(document.subtotal, document.currency),
        tax=money_text(document.tax, document.currency),
        total=money_text(document.total, document.currency),
        issue_date=document.issue_date,
        due_date=document.due_date,
        provisional=bool(document.provisional),
    )


@router.get("", response_model=DocumentsPublic)
def list_documents(
    session: SessionDep,
    principal: Caller,
    kind: Annotated[str | None, Query(pattern="^(invoice|credit_note|debit_note)$")] = None,
    status: Annotated[str | None, Query(pattern="^(draft|issued|paid|void)$")] = None,
    period: Annotated[str | None, Query(pattern=PERIOD_PATTERN)] = None,
    contract: Annotated[str | None, Query(max_length=100)] = None,
    client_id: Annotated[str | None, Query(max_length=100)] = None,
) -> DocumentsPublic:
    """Drafts to review are ``?status=draft`` (finance only: clients never see drafts)."""
    query = scoped_documents(principal)
    if contract is not None:
        query = query.where(col(Document.contract_id) == find_contract(session, principal, contract).id)
    if client_id is not None:
        query = query.where(col(Document.client_id) == find_client(session, principal, client_id).id)
    for column, value in ((Document.kind, kind), (Document.status, status), (Document.period, period)):
        if value is not None:
            query = query.where(col(column) == value)
    rows = session.exec(query.order_by(col(Document.period).desc(), col(Document.id))).all()
    data = [summary(document, code) for document, code in rows]
    return DocumentsPublic(data=data, count=len(data))


def detail(session: SessionDep, document: Document) -> DocumentDetail:
    client = session.get(Client, document.client_id)
    view = document_views(session, [document], datetime.now(UTC).date())[0]
    return DocumentDetail.model_validate(document_json(view, client.locale if client else None))


@router.get("/by-number/{number}", response_model=DocumentDetail)
def show_document_by_number(
    session: SessionDep,
    principal: Caller,
    number: Annotated[str, Path(min_length=1, max_length=50, description="The document's number, F001-00000007")],
) -> DocumentDetail:
    """The document with this legal number (another client's answers 404, like a missing one)."""
    row = session.exec(scoped_documents(principal).where(col(Document.number_text) == number.strip())).first()
    if row is None:
        raise not_found(f"document {number!r}")
    return detail(session, row[0])


@router.get("/{document_id}", response_model=DocumentDetail)
def show_document(session: SessionDep, document: OwnedDocument) -> DocumentDetail:
    """The document with every line's explanation, its service levels and KPIs, its parties,
    the total in words, withholding and what is still owed."""
    return detail(session, document)


def document_pdf_response(session: SessionDep, document: Document) -> Response:
    """The document's PDF: a Factur-X e-invoice once issued (see ``document_pdf``)."""
    view = document_views(session, [document], datetime.now(UTC).date())[0]
    client = session.get(Client, document.client_id)
    assert client is not None
    name = f"{view.number_text or f'draft-{view.id}'}.pdf"
    return Response(
        document_pdf(view, client_view(client)),
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def document_xml_response(session: SessionDep, document: Document) -> Response:
    """The document's EN 16931 Cross Industry Invoice XML (409 for a draft or a document whose
    parties lack their country)."""
    view = document_views(session, [document])[0]
    try:
        xml = cii_xml(view)
    except EInvoiceRefused as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    return Response(
        xml,
        media_type="application/xml",
        headers={"Content-Disposition": f'attachment; filename="{view.number_text}.xml"'},
    )


@router.get(
    "/{document_id}/pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}, "description": "The document as PDF"}},
)
def download_pdf(session: SessionDep, document: OwnedDocument) -> Response:
    return document_pdf_response(session, document)


@router.get(
    "/{document_id}/xml",
    response_class=Response,
    responses={200: {"content": {"application/xml": {}}, "description": "The EN 16931 CII XML"}},
)
def download_xml(session: SessionDep, document: OwnedDocument) -> Response:
    """The e-invoice's XML alone (Factur-X EN 16931 profile), as embedded in its PDF."""
    return document_xml_response(session, document)
