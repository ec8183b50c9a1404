"""The client portal: server-rendered pages opened with a client token.

Signing in: a link ``/portal?token=...`` (any portal page takes ``?token=``) or the sign-in
form (``GET /portal/login``, ``POST /portal/login`` with the field ``token``). The token is
checked and exchanged for a server-side session (``billing.access.sessions``: 8 hours after
the last request, at most 24 hours, ended by revoking the token or ``POST /portal/logout``);
the session's random secret goes in the cookie ``billing_session`` (HttpOnly, SameSite=Lax,
Secure when the request came over https; ``billing serve --forwarded-allow-ips`` says which
proxies' X-Forwarded-Proto to believe), and the browser is redirected (303) to the same
address without the token, so it leaves the address bar and the history. A page asked for
without a live session redirects to the sign-in page, which sends the browser back after.

Pages: the statement with its KPI trend chart, the state of the client's billing periods and
its overdue documents, each document with its parties and lines explained, and downloads (the
PDF of an issued document is a Factur-X e-invoice; its XML alone too). Another client's
document is 404 here as everywhere.
"""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from billing.api.deps import PortalClient, SessionDep
from billing.api.routes.clients import FromQuery, ToQuery, statement_range
from billing.api.routes.documents import document_pdf_response, document_xml_response
from billing.api.scope import PortalDocument, find_client
from billing.core.periods import Period
from billing.invoicing.periods import period_status
from billing.presentation.templating import pdf
from billing.statements.rendering import document_html, statement_html
from billing.statements.store import client_view, document_views, load_statement

router = APIRouter(prefix="/portal", tags=["portal"])


@router.get("", response_class=HTMLResponse)
def statement_page(
    session: SessionDep, principal: PortalClient, first: FromQuery = None, last: ToQuery = None
) -> Response:
    """The client's statement in its own language, with links to each document."""
    client = find_client(session, principal, principal.client_id or "")
    start, end = statement_range(first, last)
    statement = load_statement(session, client.id, start, end)
    return HTMLResponse(statement_html(statement, portal=True, periods=recent_periods(session, client.id)))


def recent_periods(session: SessionDep, client_id: str) -> list[dict[str, object]]:
    """The state of the client's contracts for last month and this one (open, grace, closable,
    drafted, issued, reconciled, with the date each becomes closable), as the API reports it."""
    now = datetime.now(UTC)
    this_month = Period.of_date(now.date())
    out = []
    for month in (this_month.previous(), this_month):
        states, _ = period_status(session, month, now, client_id)
        out += [state.as_json() for state in states]
    return out


@router.get(
    "/statement.pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}, "description": "The statement as PDF"}},
)
def statement_pdf(
    session: SessionDep, principal: PortalClient, first: FromQuery = None, last: ToQuery = None
) -> Response:
    client = find_client(session, principal, principal.client_id or "")
    start, end = statement_range(first, last)
    statement = load_statement(session, client.id, start, end)
    return Response(
        pdf(statement_html(statement, for_pdf=True)),
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="statement-{start}-{end}.pdf"'},
    )


@router.get("/documents/{document_id}", response_class=HTMLResponse)
def document_page(session: SessionDep, principal: PortalClient, document: PortalDocument) -> HTMLResponse:
    """An invoice or note with each line's explanation, its service levels and KPIs."""
    client = find_client(session, principal, document.client_id)
    view = document_views(session, [document], datetime.now(UTC).date())[0]
    return HTMLResponse(document_html(view, client_view(client), portal=True))


@router.get(
    "/documents/{document_id}/pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}, "description": "The document as PDF"}},
)
def document_pdf(session: SessionDep, document: PortalDocument) -> Response:
    """The document's PDF: a Factur-X e-invoice (PDF/A-3 with its EN 16931 XML) once issued."""
    return document_pdf_response(session, document)


@router.get(
    "/documents/{document_id}/xml",
    response_class=Response,
    responses={200: {"content": {"application/xml": {}}, "description": "The EN 16931 CII XML"}},
)
def document_xml(session: SessionDep, document: PortalDocument) -> Response:
    return document_xml_response(session, document)
