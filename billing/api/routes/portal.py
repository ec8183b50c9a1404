"""The client portal: server-rendered pages opened with a client token.

The first visit is ``/portal?token=...``: the token is checked, stored in an HttpOnly cookie
and the browser is redirected to ``/portal`` so the secret leaves the address bar (and the
history). Pages: the statement with its KPI trend chart, each document with its lines
explained, and PDF downloads. Another client's document is 404 here as everywhere.
"""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from billing.api.deps import COOKIE, PortalClient, SessionDep
from billing.api.routes.clients import FromQuery, ToQuery, statement_range
from billing.api.routes.documents import document_pdf_response
from billing.api.scope import PortalDocument, find_client
from billing.presentation.templating import pdf
from billing.statements.rendering import document_html, statement_html
from billing.statements.store import client_view, document_views, load_statement

router = APIRouter(prefix="/portal", tags=["portal"])


def _signed_in(request: Request) -> Response:
    """Keep the token in an HttpOnly cookie and drop it from the address."""
    token = request.query_params["token"]
    rest = urlencode([(k, v) for k, v in request.query_params.multi_items() if k != "token"])
    response = RedirectResponse(request.url.path + (f"?{rest}" if rest else ""), status_code=status.HTTP_303_SEE_OTHER)
    response.set_cookie(COOKIE, token, httponly=True, samesite="strict", path="/", max_age=8 * 3600)
    return response


@router.get("", response_class=HTMLResponse)
def statement_page(
    request: Request, session: SessionDep, principal: PortalClient, first: FromQuery = None, last: ToQuery = None
) -> Response:
    """The client's statement in its own language, with links to each document."""
    if "token" in request.query_params:
        return _signed_in(request)
    client = find_client(session, principal, principal.client_id or "")
    start, end = statement_range(first, last)
    return HTMLResponse(statement_html(load_statement(session, client.id, start, end), portal=True))


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
    view = document_views(session, [document])[0]
    return HTMLResponse(document_html(view, client_view(client), portal=True))


@router.get(
    "/documents/{document_id}/pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}, "description": "The document as PDF"}},
)
def document_pdf(session: SessionDep, document: PortalDocument) -> Response:
    return document_pdf_response(session, document)
