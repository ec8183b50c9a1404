"""The console's documents: a draft's review page (its lines explained, the difference to the
previous month's invoice, its service levels and KPIs), the actions issue, void and note
(each once per Idempotency-Key, audited as ``console:<token name>``), the PDF, and the audit
trail of a document. See ``console`` for sessions, CSRF and idempotency."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session, col, select

from billing.api.deps import ConsoleUser, EngineDep, SessionDep
from billing.api.errors import service_errors
from billing.api.pages import ReaderDep, field, read_form
from billing.api.routes.console import HOME, act, actor, page
from billing.api.routes.documents import document_pdf_response, summary
from billing.api.scope import DocumentId
from billing.core.periods import Period
from billing.invoicing import invoices, notes
from billing.invoicing.documents import DocumentConflict
from billing.statements.changes import changes
from billing.statements.store import client_view, document_views
from billing.storage.models import AuditEvent, Client, Contract, Document

router = APIRouter(prefix="/console/documents", include_in_schema=False)


def _document(session: Session, document_id: int) -> Document:
    document = session.get(Document, document_id)
    if document is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"document {document_id} not found")
    return document


def _previous_invoice(session: Session, document: Document) -> Document | None:
    """The contract's invoice of the month before (issued or paid; a draft if that is all)."""
    if document.kind != "invoice":
        return None
    rows = session.exec(
        select(Document).where(
            Document.contract_id == document.contract_id,
            Document.kind == "invoice",
            Document.period == str(Period.parse(document.period).previous()),
            col(Document.status) != "void",
        )
    ).all()
    return next((d for d in rows if d.status != "draft"), rows[0] if rows else None)


@router.get("/{document_id}", response_class=HTMLResponse)
def review(
    request: Request, session: SessionDep, user: ConsoleUser, who: ReaderDep, document_id: DocumentId
) -> Response:
    """A document for finance: its lines explained, what changed since last month, actions."""
    document = _document(session, document_id)
    previous = _previous_invoice(session, document)
    found = [document] + ([previous] if previous else [])
    views = document_views(session, found, datetime.now(UTC).date())
    client = session.get(Client, document.client_id)
    assert client is not None
    return page(
        request,
        who,
        "console_document.html",
        d=views[0],
        client=client_view(client),
        changes=changes(views[0], views[1] if previous else None),
    )


@router.get("/{document_id}/pdf", response_class=Response)
def document_pdf(session: SessionDep, user: ConsoleUser, document_id: DocumentId) -> Response:
    return document_pdf_response(session, _document(session, document_id))


@router.post("/{document_id}/issue")
async def issue(
    request: Request, engine: EngineDep, user: ConsoleUser, who: ReaderDep, document_id: DocumentId
) -> Response:
    """Give the draft the next number of its series and freeze it."""
    form = await read_form(request, who)

    def action() -> tuple[int, object]:
        with service_errors(conflicts=(DocumentConflict,)):
            document = invoices.issue(engine, document_id, actor(user), datetime.now(UTC))
        return status.HTTP_200_OK, summary(document, "").model_dump(mode="json")

    return act(request, user, form, action, lambda body: f"{HOME}/documents/{document_id}?done=issued", who)


@router.post("/{document_id}/void")
async def void(
    request: Request, engine: EngineDep, user: ConsoleUser, who: ReaderDep, document_id: DocumentId
) -> Response:
    """Void an issued document (it keeps its number) or discard a draft; a reason is required."""
    form = await read_form(request, who)
    reason = field(form, "reason", 500)

    def action() -> tuple[int, object]:
        with service_errors(conflicts=(DocumentConflict,)):
            if not reason:
                raise ValueError("a reason is required")
            document = invoices.void(engine, document_id, reason, actor(user))
        return status.HTTP_200_OK, summary(document, "").model_dump(mode="json")

    return act(request, user, form, action, lambda body: f"{HOME}/documents/{document_id}?done=voided", who)


@router.post("/{document_id}/notes")
async def note(
    request: Request, engine: EngineDep, user: ConsoleUser, who: ReaderDep, document_id: DocumentId
) -> Response:
    """A draft credit (or debit) note of one amount before tax against an issued invoice."""
    form = await read_form(request, who)
    reason, kind, text = field(form, "reason", 500), field(form, "kind", 20), field(form, "amount", 30)

    def action() -> tuple[int, object]:
        with service_errors(conflicts=(DocumentConflict,)):
            if not reason:
                raise ValueError("a reason is required")
            try:
                amount = Decimal(text.replace(",", "."))
            except InvalidOperation:
                raise ValueError(f"the amount {text!r} is not a number") from None
            lines = [notes.NoteLine(notes.ADJUSTMENT, amount, reason)]
            created = notes.create_note(engine, document_id, kind or "credit_note", lines, reason, actor(user))
        return status.HTTP_201_CREATED, summary(created, "").model_dump(mode="json")

    return act(request, user, form, action, lambda body: f"{HOME}/documents/{body['id']}?done=note", who)


@router.get("/{document_id}/audit", response_class=HTMLResponse)
def audit_trail(
    request: Request, session: SessionDep, user: ConsoleUser, who: ReaderDep, document_id: DocumentId
) -> Response:
    """Who did what to the document, and to the notes that correct it, oldest first."""
    document = _document(session, document_id)
    related = [str(document_id)] + [
        str(i) for i in session.exec(select(Document.id).where(Document.corrects_id == document_id)).all()
    ]
    events = session.exec(
        select(AuditEvent)
        .where(col(AuditEvent.entity) == "document", col(AuditEvent.entity_id).in_(related))
        .order_by(col(AuditEvent.at), col(AuditEvent.id))
    ).all()
    contract = session.get(Contract, document.contract_id)
    return page(
        request,
        who,
        "console_audit.html",
        document=document,
        contract=contract.code if contract else "",
        events=events,
    )
