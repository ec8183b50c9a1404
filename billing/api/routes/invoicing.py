"""Finance actions on documents: close a period into drafts, issue, void, and correct an
invoice with a credit or debit note. Every one is a POST that changes money, so every one
takes an Idempotency-Key. Drafts are listed and shown by ``/v1/documents?status=draft``."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from fastapi import APIRouter, status
from fastapi.responses import Response

from billing.access.tokens import Principal
from billing.api.deps import EngineDep, FinanceToken
from billing.api.errors import period_of, service_errors
from billing.api.idempotency import Fingerprint, IdempotencyKey, run_once
from billing.api.routes.documents import summary
from billing.api.schemas import CloseRequest, CreditNoteCreate, DocumentSummary, IssueRequest, VoidRequest
from billing.api.scope import DocumentId
from billing.invoicing import invoices, notes
from billing.invoicing.documents import DocumentConflict
from billing.storage.db import reading
from billing.storage.models import Contract, Document

router = APIRouter(prefix="/v1", tags=["invoicing"])


def actor(principal: Principal) -> str:
    return f"api:{principal.name}"


def _summary(engine: EngineDep, document: Document) -> dict[str, object]:
    with reading(engine) as session:
        contract = session.get(Contract, document.contract_id)
        code = contract.code if contract else ""
    return summary(document, code).model_dump(mode="json")


@router.post("/close", status_code=status.HTTP_200_OK)
def close(
    body: CloseRequest, engine: EngineDep, principal: FinanceToken, key: IdempotencyKey, fingerprint: Fingerprint
) -> Response:
    """Rate every active contract whose period is closable (ended, and past its grace days:
    ``GET /v1/periods``) and store (or refresh) its draft invoice; the others are listed in
    ``skipped_contracts`` with ``closable_on``. ``preview`` drafts them too, as provisional
    drafts that cannot be issued."""

    def action() -> tuple[int, object]:
        with service_errors(conflicts=(DocumentConflict,)):
            result = invoices.close_period(
                engine, period_of(body.period), actor(principal), datetime.now(UTC), preview=body.preview
            )
        return status.HTTP_200_OK, result.as_json()

    return run_once(engine, principal, key, fingerprint, action)


@router.post("/documents/{document_id}/issue", response_model=DocumentSummary)
def issue(
    document_id: DocumentId,
    body: IssueRequest,
    engine: EngineDep,
    principal: FinanceToken,
    key: IdempotencyKey,
    fingerprint: Fingerprint,
) -> Response:
    """Give a draft the next number of its series and freeze it (409 if it is not a draft)."""

    def action() -> tuple[int, object]:
        with service_errors(conflicts=(DocumentConflict,)):
            document = invoices.issue(engine, document_id, actor(principal), body.issue_date or datetime.now(UTC))
        return status.HTTP_200_OK, _summary(engine, document)

    return run_once(engine, principal, key, fingerprint, action)


@router.post("/documents/{document_id}/void", response_model=DocumentSummary)
def void(
    document_id: DocumentId,
    body: VoidRequest,
    engine: EngineDep,
    principal: FinanceToken,
    key: IdempotencyKey,
    fingerprint: Fingerprint,
) -> Response:
    """Void an issued document (it keeps its number) or discard a draft; a reason is required."""

    def action() -> tuple[int, object]:
        with service_errors(conflicts=(DocumentConflict,)):
            document = invoices.void(engine, document_id, body.reason, actor(principal))
        return status.HTTP_200_OK, _summary(engine, document)

    return run_once(engine, principal, key, fingerprint, action)


@router.post("/documents/{document_id}/notes", response_model=DocumentSummary, status_code=status.HTTP_201_CREATED)
def create_note(
    document_id: DocumentId,
    body: CreditNoteCreate,
    engine: EngineDep,
    principal: FinanceToken,
    key: IdempotencyKey,
    fingerprint: Fingerprint,
) -> Response:
    """A draft credit (or debit) note against an issued invoice: one ``amount`` before tax, or
    ``lines`` per charge. Issue it with ``/documents/{id}/issue``."""

    def action() -> tuple[int, object]:
        with service_errors(conflicts=(DocumentConflict,)):
            if body.lines is not None and body.amount is not None:
                raise ValueError("give either an amount or lines, not both")
            if body.lines is None and body.amount is None:
                raise ValueError("give an amount or lines")
            lines = (
                [
                    notes.NoteLine(line.charge, Decimal(line.amount), line.description or body.reason)
                    for line in body.lines
                ]
                if body.lines is not None
                else [notes.NoteLine(notes.ADJUSTMENT, Decimal(body.amount or 0), body.reason)]
            )
            note = notes.create_note(engine, document_id, body.kind, lines, body.reason, actor(principal))
        return status.HTTP_201_CREATED, _summary(engine, note)

    return run_once(engine, principal, key, fingerprint, action)
