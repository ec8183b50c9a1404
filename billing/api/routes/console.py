"""The finance console: server-rendered pages for finance tokens, like the portal (Jinja2, no
script): the periods board, clients and contracts, and closing a month.

Signing in: ``/console/login`` with a finance token, exchanged for the same kind of session
as the portal's (``billing.access.sessions``); a client's session, a bearer token or a
``?token=`` never opens a console page (``billing.api.deps.console_caller``). Every form
carries the session's CSRF token and is refused when posted from another site
(``billing.api.pages.read_form``). Every action that changes money runs through
``billing.api.idempotency.run_once`` with the form's Idempotency-Key (a key per rendered
form: sending it twice does the action once and shows the same answer), under the same rules
as the API, and is audited as ``console:<token name>``.

The review of a draft, issuing, voiding, notes and the audit trail are in
``console_documents``; receivables and the pricing workbench in ``console_money``.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, HTTPException, Query, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import col, or_, select
from starlette.datastructures import FormData

from billing.access import sessions
from billing.access.tokens import Principal
from billing.api.deps import ConsoleUser, EngineDep, SessionDep
from billing.api.errors import period_of, service_errors
from billing.api.idempotency import run_once
from billing.api.pages import LANGUAGE_NAMES, NO_STORE, ReaderDep, field, locale_for, read_form, render
from billing.api.routes.portal_login import safe_next
from billing.api.schemas import PERIOD_PATTERN
from billing.core.periods import Period
from billing.invoicing import invoices
from billing.invoicing.documents import DocumentConflict
from billing.invoicing.periods import period_status
from billing.presentation.formatting import Formatter
from billing.presentation.i18n import LANGUAGES, N_
from billing.storage.models import Client, Contract

router = APIRouter(prefix="/console", include_in_schema=False)
HOME = "/console"
PeriodQuery = Annotated[str | None, Query(pattern=PERIOD_PATTERN, description="YYYY-MM (default: last month)")]
SearchQuery = Annotated[str, Query(max_length=100)]
#: What a finished action says on the page it returns to (``?done=``).
DONE = {
    "closed": N_("The month was closed: its closable contracts have their drafts."),
    "issued": N_("The document was issued."),
    "voided": N_("The document was voided."),
    "note": N_("The note was drafted: review it and issue it."),
}


def actor(principal: Principal) -> str:
    """Who the audit trail names: the person's token."""
    return f"console:{principal.name}"


def locale_of(who: ReaderDep) -> str:
    return locale_for(who.language, None, who.accept_language)


def nav(request: Request, who: ReaderDep, locale: str) -> dict[str, Any]:
    fmt = Formatter.for_locale(locale)
    return {
        "home": HOME,
        "links": [
            (HOME, fmt._("Periods")),
            (f"{HOME}/clients", fmt._("Clients and contracts")),
            (f"{HOME}/receivables", fmt._("Receivables")),
            (f"{HOME}/simulate", fmt._("Pricing comparison")),
        ],
        "language": fmt.language,
        "languages": LANGUAGE_NAMES,
        "csrf": who.csrf,
        "here": request.url.path + (f"?{request.url.query}" if request.url.query else ""),
    }


def page(request: Request, who: ReaderDep, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """A console page in the reader's language, with the top bar and a fresh Idempotency-Key
    for each form it shows."""
    locale = locale_of(who)
    done = request.query_params.get("done")
    return render(
        template,
        locale,
        status_code,
        nav=nav(request, who, locale),
        csrf=who.csrf,
        new_key=lambda: secrets.token_urlsafe(16),
        done=DONE.get(done or ""),
        **context,
    )


def form_fingerprint(request: Request, form: FormData) -> str:
    """What makes two posts "the same request" for the Idempotency-Key: the path and the
    fields (the CSRF token aside: it is the session's, not the request's)."""
    fields = sorted((k, v) for k, v in form.multi_items() if k != "csrf" and isinstance(v, str))
    digest = hashlib.sha256(f"POST {request.url.path}".encode())
    digest.update(json.dumps(fields, ensure_ascii=False).encode())
    return digest.hexdigest()


def act(
    request: Request,
    principal: Principal,
    form: FormData,
    action: Callable[[], tuple[int, object]],
    then: Callable[[dict[str, Any]], str],
    who: ReaderDep,
) -> Response:
    """Run ``action`` once per the form's Idempotency-Key (``run_once``); success goes to the
    page ``then(body)`` names (303), a refusal is a page saying why."""
    key = field(form, "idempotency_key", 200)
    if not key or not all(0x21 <= ord(c) <= 0x7E for c in key):
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "the form has no Idempotency-Key")
    try:
        answer = run_once(request.app.state.engine, principal, key, form_fingerprint(request, form), action)
    except HTTPException as exc:  # the key is in flight, or was used for another request
        return refused(request, who, exc.status_code, exc.detail)
    body = json.loads(bytes(answer.body) or b"{}")
    if answer.status_code >= 400:
        detail = body.get("detail") if isinstance(body, dict) else None
        return refused(request, who, answer.status_code, detail)
    return RedirectResponse(safe_next(then(body), HOME), status.HTTP_303_SEE_OTHER, headers=NO_STORE)


def refused(request: Request, who: ReaderDep, status_code: int, detail: object) -> HTMLResponse:
    """An action the services refused: the reason as they gave it (finance reads it to fix
    the data), under a heading in the reader's language."""
    shown = detail if isinstance(detail, str) else json.dumps(detail, ensure_ascii=False)
    referer = urlsplit(request.headers.get("referer") or HOME)
    back = safe_next(referer.path + (f"?{referer.query}" if referer.query else ""), HOME)
    return page(request, who, "console_refused.html", status_code, detail=shown, back=back)


@router.get("", response_class=HTMLResponse)
def board(
    request: Request, session: SessionDep, user: ConsoleUser, who: ReaderDep, period: PeriodQuery = None
) -> Response:
    """The periods board: every active contract's state for the month (open, in grace,
    closable, drafted, issued, reconciled) with the date it becomes closable."""
    now = datetime.now(UTC)
    month = period_of(period) if period else Period.of_date(now.date()).previous()
    states, unreadable = period_status(session, month, now)
    rows = [state.as_json() for state in states]
    codes = [r["contract"] for r in rows]
    names = dict(
        session.exec(
            select(Contract.code, Client.name)
            .join(Client, col(Client.id) == col(Contract.client_id))
            .where(col(Contract.code).in_(codes))
        ).all()
    )
    counts: dict[str, int] = {}
    for row in rows:
        row["client"] = names.get(row["contract"], "")
        counts[row["state"]] = counts.get(row["state"], 0) + 1
    return page(
        request,
        who,
        "console_board.html",
        period=str(month),
        previous=str(month.previous()),
        following=str(month.next()),
        rows=rows,
        counts=counts,
        unreadable=len(unreadable),
        closable=any(r["state"] in ("closable", "drafted") for r in rows),
    )


@router.post("/close")
async def close(request: Request, engine: EngineDep, user: ConsoleUser, who: ReaderDep) -> Response:
    """Close the month: draft (or refresh) the invoice of every closable contract."""
    form = await read_form(request, who)
    month = period_of(field(form, "period", 7))

    def action() -> tuple[int, object]:
        with service_errors(conflicts=(DocumentConflict,)):
            result = invoices.close_period(engine, month, actor(user), datetime.now(UTC))
        return status.HTTP_200_OK, result.as_json()

    return act(request, user, form, action, lambda body: f"{HOME}?period={month}&done=closed", who)


@router.get("/clients", response_class=HTMLResponse)
def clients(request: Request, session: SessionDep, user: ConsoleUser, who: ReaderDep, q: SearchQuery = "") -> Response:
    """Clients and their contracts; ``q`` searches client ids, names and contract codes."""
    query = select(Client, Contract).outerjoin(Contract, col(Contract.client_id) == col(Client.id))
    text = q.strip()
    if text:
        like = f"%{text.lower()}%"
        query = query.where(
            or_(
                col(Client.id).ilike(like),
                col(Client.name).ilike(like),
                col(Client.legal_name).ilike(like),
                col(Contract.code).ilike(like),
            )
        )
    found: dict[str, dict[str, Any]] = {}
    for client, contract in session.exec(query.order_by(col(Client.name), col(Contract.code)).limit(500)).all():
        entry = found.setdefault(client.id, {"client": client, "contracts": []})
        if contract is not None:
            entry["contracts"].append(contract)
    return page(request, who, "console_clients.html", q=text, found=list(found.values()))


@router.post("/language")
async def switch_language(request: Request, engine: EngineDep, user: ConsoleUser, who: ReaderDep) -> Response:
    form = await read_form(request, who)
    language = field(form, "language", 10)
    if language not in LANGUAGES:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "unknown language")
    sessions.set_language(engine, who.secret, language)
    return RedirectResponse(safe_next(field(form, "next", 2000), HOME), status.HTTP_303_SEE_OTHER, headers=NO_STORE)


__all__ = ["act", "actor", "page", "quote", "router"]
