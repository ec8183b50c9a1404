"""The client portal: server-rendered pages opened with a client token.

Signing in: a link ``/portal?token=...`` (any portal page takes ``?token=``: a one-time way
in, exchanged for a session and removed from the address) or the sign-in form (``GET
/portal/login``, ``POST /portal/login`` with the field ``token``). The token is checked and
exchanged for a server-side session (``billing.access.sessions``: 8 hours after the last
request, at most 24 hours, ended by revoking the token or ``POST /portal/logout``); the
session's random secret goes in the cookie ``billing_session`` (HttpOnly, SameSite=Lax,
Secure when the request came over https; ``billing serve --forwarded-allow-ips`` says which
proxies' X-Forwarded-Proto to believe), and the browser is redirected (303) to the same
address without the token, so it leaves the address bar and the history. A page asked for
without a live session redirects to the sign-in page (saying so when the session ended),
which sends the browser back after. Errors and invalid parameters are pages
(``billing.api.pages``), never JSON.

Language: the one the reader chose with the switch (``POST /portal/language``, remembered
by the session), else the client's locale, else the browser's ``Accept-Language``. The PDF
of a document is the legal document and stays in the client's language.

Pages: the statement (by default the last twelve closed months, never a month to come; by
document date or by service period), with the state of the client's billing periods, its
overdue and partly paid documents and one small KPI chart per metric; each document with its
parties and lines explained; and downloads (the PDF of an issued document is a Factur-X
e-invoice; its XML alone too). Another client's document is 404 here as everywhere.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from billing.access import sessions
from billing.api.deps import EngineDep, PortalClient, SessionDep
from billing.api.errors import period_of
from billing.api.pages import LANGUAGE_NAMES, NO_STORE, ReaderDep, field, locale_for, read_form
from billing.api.routes.clients import FromQuery, ToQuery
from billing.api.routes.documents import document_pdf_response, document_xml_response
from billing.api.routes.interactions import LinePosition, line_interactions
from billing.api.routes.portal_login import safe_next
from billing.api.scope import PortalDocument, find_client
from billing.core.periods import Period
from billing.invoicing.periods import period_status
from billing.invoicing.tracing import NotTraceable, page, summary, trace_of
from billing.measurement.trace import parse_cursor
from billing.presentation.formatting import Formatter
from billing.presentation.i18n import LANGUAGES
from billing.presentation.templating import pdf
from billing.statements.rendering import contacts_html, document_html, statement_html
from billing.statements.store import client_view, document_views, load_statement

router = APIRouter(prefix="/portal", tags=["portal"])

BasisQuery = Annotated[
    str, Query(pattern="^(issued|service)$", description="issued: by document date; service: by service period")
]


def closed_range(first: str | None, last: str | None, today: datetime | None = None) -> tuple[Period, Period]:
    """The months asked for; by default the last twelve closed (ended) months. A month to come
    is never shown: ``to`` stops at the current month."""
    this_month = Period.of_date((today or datetime.now(UTC)).date())
    end = min(period_of(last), this_month) if last else this_month.previous()
    start = period_of(first) if first else end.shift(-11)
    if start > end:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "'from' must not be after 'to'")
    return start, end


def nav(request: Request, who: ReaderDep, locale: str) -> dict[str, Any]:
    fmt = Formatter.for_locale(locale)
    return {
        "home": "/portal",
        "links": [("/portal", fmt._("Statement of account"))],
        "language": fmt.language,
        "languages": LANGUAGE_NAMES,
        "csrf": who.csrf,
        "here": request.url.path + (f"?{request.url.query}" if request.url.query else ""),
    }


@router.get("", response_class=HTMLResponse)
def statement_page(
    request: Request,
    session: SessionDep,
    principal: PortalClient,
    who: ReaderDep,
    first: FromQuery = None,
    last: ToQuery = None,
    basis: BasisQuery = "issued",
    as_of: Annotated[date | None, Query(description="The day of the month-so-far card")] = None,
) -> Response:
    """The client's statement in the reader's language, with links to each document, and a card
    per contract with the month so far (``?as_of=YYYY-MM-DD``: another day than today)."""
    client = find_client(session, principal, principal.client_id or "")
    start, end = closed_range(first, last)
    statement = load_statement(session, client.id, start, end, basis=basis)
    locale = locale_for(who.language, client.locale, who.accept_language)
    html = statement_html(
        statement,
        portal=True,
        periods=recent_periods(session, client.id),
        current=months_so_far(session, client.id, as_of),
        locale=locale,
        nav=nav(request, who, locale) if who.browser else None,
    )
    return HTMLResponse(html, headers=NO_STORE)


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


def months_so_far(session: SessionDep, client_id: str, as_of: date | None) -> list[dict[str, Any]]:
    """``billing current`` for each of the client's contracts that covers the day."""
    from sqlmodel import col, select

    from billing.rating.current import current, today_for
    from billing.rating.engine import PeriodOutsideContract
    from billing.storage.models import Contract

    out = []
    codes = session.exec(select(Contract.code).where(col(Contract.client_id) == client_id).order_by(Contract.code))
    for code in codes.all():
        try:
            out.append(current(session, code, as_of or today_for(session, code)))
        except (PeriodOutsideContract, LookupError):
            continue  # a contract that does not cover the day has no month in progress
    return out


@router.post("/language", summary="Switch the portal's language (form: language, next, csrf)")
async def switch_language(request: Request, principal: PortalClient, who: ReaderDep) -> Response:
    """Remember the reader's language in their session and go back to the page they were on."""
    form = await read_form(request, who if who.browser else None)
    language = field(form, "language", 10)
    if language not in LANGUAGES:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "unknown language")
    sessions.set_language(request.app.state.engine, who.secret, language)
    return RedirectResponse(safe_next(field(form, "next", 2000)), status.HTTP_303_SEE_OTHER, headers=NO_STORE)


@router.get(
    "/statement.pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}, "description": "The statement as PDF"}},
)
def statement_pdf(
    session: SessionDep,
    principal: PortalClient,
    who: ReaderDep,
    first: FromQuery = None,
    last: ToQuery = None,
    basis: BasisQuery = "issued",
) -> Response:
    client = find_client(session, principal, principal.client_id or "")
    start, end = closed_range(first, last)
    statement = load_statement(session, client.id, start, end, basis=basis)
    locale = locale_for(who.language, client.locale, who.accept_language)
    return Response(
        pdf(statement_html(statement, for_pdf=True, locale=locale)),
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="statement-{start}-{end}.pdf"'},
    )


@router.get("/documents/{document_id}", response_class=HTMLResponse)
def document_page(
    request: Request, session: SessionDep, principal: PortalClient, document: PortalDocument, who: ReaderDep
) -> HTMLResponse:
    """An invoice or note with each line's explanation, its service levels and KPIs."""
    client = find_client(session, principal, document.client_id)
    view = document_views(session, [document], datetime.now(UTC).date())[0]
    locale = locale_for(who.language, client.locale, who.accept_language)
    html = document_html(
        view, client_view(client), portal=True, locale=locale, nav=nav(request, who, locale) if who.browser else None
    )
    return HTMLResponse(html, headers=NO_STORE)


@router.get(
    "/documents/{document_id}/pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}, "description": "The document as PDF"}},
)
def document_pdf(session: SessionDep, document: PortalDocument) -> Response:
    """The document's PDF: a Factur-X e-invoice (PDF/A-3 with its EN 16931 XML) once issued,
    in the client's language (it is the legal document)."""
    return document_pdf_response(session, document)


@router.get(
    "/documents/{document_id}/xml",
    response_class=Response,
    responses={200: {"content": {"application/xml": {}}, "description": "The EN 16931 CII XML"}},
)
def document_xml(session: SessionDep, document: PortalDocument) -> Response:
    return document_xml_response(session, document)


@router.get("/documents/{document_id}/lines/{line}", response_class=HTMLResponse)
def line_contacts_page(
    request: Request,
    session: SessionDep,
    principal: PortalClient,
    who: ReaderDep,
    document: PortalDocument,
    line: LinePosition,
    cursor: Annotated[str | None, Query(max_length=40, pattern=r"^-?\d{1,12}\.\d{1,18}$")] = None,
) -> HTMLResponse:
    """The contacts behind one line of a document, a page at a time, each counted or not and why."""
    client = find_client(session, principal, document.client_id)
    try:
        trace = trace_of(session, document, line)
    except LookupError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    except NotTraceable as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    rows, following = page(session, trace, parse_cursor(cursor), 200)
    view = document_views(session, [document])[0]
    locale = locale_for(who.language, client.locale, who.accept_language)
    html = contacts_html(
        view,
        client_view(client),
        summary(session, trace),
        rows,
        following,
        locale=locale,
        nav=nav(request, who, locale) if who.browser else None,
    )
    return HTMLResponse(html, headers=NO_STORE)


@router.get(
    "/documents/{document_id}/lines/{line}/contacts.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}, "description": "Every contact behind the line"}},
)
def line_contacts_csv(session: SessionDep, engine: EngineDep, document: PortalDocument, line: LinePosition) -> Response:
    answer = line_interactions(session, engine, document, line, None, 1, "csv")
    assert isinstance(answer, Response)
    return answer
