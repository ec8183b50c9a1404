"""Invoices, credit and debit notes: lists, detail with lines explained, PDF. A client token
sees its own issued documents; finance also sees drafts (``?status=draft``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response
from sqlmodel import col

from billing.api.deps import Caller, SessionDep
from billing.api.schemas import PERIOD_PATTERN, DocumentDetail, DocumentsPublic, DocumentSummary
from billing.api.scope import OwnedDocument, find_client, find_contract, scoped_documents
from billing.presentation.templating import pdf
from billing.statements.rendering import document_html
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


@router.get("/{document_id}", response_model=DocumentDetail)
def show_document(session: SessionDep, document: OwnedDocument) -> DocumentDetail:
    """The document with every line's explanation, its service levels and KPIs."""
    return DocumentDetail.model_validate(document_json(document_views(session, [document])[0]))


def document_pdf_response(session: SessionDep, document: Document) -> Response:
    view = document_views(session, [document])[0]
    client = session.get(Client, document.client_id)
    assert client is not None
    name = f"{view.number_text or f'draft-{view.id}'}.pdf"
    return Response(
        pdf(document_html(view, client_view(client), for_pdf=True)),
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get(
    "/{document_id}/pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}, "description": "The document as PDF"}},
)
def download_pdf(session: SessionDep, document: OwnedDocument) -> Response:
    return document_pdf_response(session, document)
