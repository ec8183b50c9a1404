"""Signing in to the portal and the console: the sign-in pages and forms, signing out, and how
the app answers a page request that signs in (``SignedIn``: 303 with the session cookie) or
needs to (``SignInRequired``: 303 to the sign-in page, or the page itself with 401 for a bad
token).

``install(app)`` adds the routers and those two answers. The portal takes client tokens
(``/portal/login``), the console finance tokens (``/console/login``); each refuses the other
kind as not valid there. The pages (``templates/login.html``) speak the browser's language
(``Accept-Language``, or ``?lang=``); a browser whose session ended (a cookie that no longer
opens one) is told so on the sign-in page.

The session cookie ``billing_session`` is HttpOnly, SameSite=Lax, ``Path=/``, lives at most
``sessions.MAX_AGE``, and is Secure when the request came over https (behind a proxy, only
when ``billing serve --forwarded-allow-ips`` trusts that proxy's X-Forwarded-Proto). A form
is refused (403) when the browser says it was posted from another site (``Origin`` or
``Sec-Fetch-Site``), so no site can sign a visitor in to someone else's portal; signing out
and every other form of a signed-in page also carry the session's CSRF token.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from fastapi import APIRouter, FastAPI, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from billing.access import sessions
from billing.access.tokens import Principal
from billing.api.deps import (
    OLD_TOKEN_COOKIE,
    SESSION_COOKIE,
    EngineDep,
    SignedIn,
    SignInRequired,
    client_principal,
    finance_principal,
)
from billing.api.pages import NO_STORE, accepted, cross_site, locale_for, render
from billing.presentation.i18n import LANGUAGES, N_

router = APIRouter(prefix="/portal", tags=["portal"])
console_router = APIRouter(prefix="/console", include_in_schema=False)

HOME = "/portal"
CONSOLE = "/console"
MAX_FORM_BYTES = 4096
INVALID_TOKEN = N_("This access token is not valid: it may have been revoked. Ask your account manager for a new one.")
INVALID_FINANCE_TOKEN = N_("This is not a valid finance token: the console is for the finance team.")
EXPIRED = N_("Your session has ended. Please sign in again.")
CROSS_SITE = N_("Sign in from this site's own page.")
TOO_LARGE = N_("The form is too large.")
TOO_MANY = N_("The form has too many fields.")

FORM_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/x-www-form-urlencoded": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "token": {"type": "string", "description": "A client token"},
                        "next": {"type": "string", "description": "The portal page to return to"},
                    },
                    "required": ["token"],
                }
            }
        },
    }
}


def safe_next(value: str | None, home: str = HOME) -> str:
    """A page under ``home`` on this site to send the browser to after signing in; anything
    else (another site, a scheme, a control character) is ``home`` itself."""
    if not value or len(value) > 2000 or any(ord(c) < 0x20 or c == "\\" for c in value):
        return home
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or not (parts.path == home or parts.path.startswith(home + "/")):
        return home
    if parts.path == home + "/login":
        return home
    query = "&".join(p for p in parts.query.split("&") if p and p.split("=", 1)[0] != "token")
    return parts.path + (f"?{query}" if query else "")


def login_page(
    request: Request | None = None,
    next_url: str = HOME,
    error: str | None = None,
    status_code: int = 200,
    home: str = HOME,
    language: str | None = None,
) -> HTMLResponse:
    """The sign-in page of ``home`` in the browser's language; ``error``: a message id."""
    header = request.headers.get("accept-language") if request is not None else None
    locale = locale_for(language if language in LANGUAGES else None, None, header)
    return render(
        "login.html",
        locale,
        status_code,
        home=home,
        console=home == CONSOLE,
        next=safe_next(next_url, home),
        error=error,
        language=locale.split("_")[0],
        chosen=language if language in LANGUAGES else None,
    )


def signed_in(request: Request, location: str, secret: str, home: str = HOME) -> Response:
    response = RedirectResponse(safe_next(location, home), status_code=status.HTTP_303_SEE_OTHER, headers=NO_STORE)
    response.set_cookie(
        SESSION_COOKIE,
        secret,
        max_age=int(sessions.MAX_AGE.total_seconds()),
        path="/",
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="lax",
    )
    response.delete_cookie(OLD_TOKEN_COOKIE, path="/")  # it held the raw token before sessions
    return response


async def _sign_in(request: Request, engine: EngineDep, home: str) -> Response:
    language = request.query_params.get("lang")
    if cross_site(request):
        return login_page(request, home, CROSS_SITE, status.HTTP_403_FORBIDDEN, home, language)
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            return login_page(request, home, TOO_LARGE, status.HTTP_413_CONTENT_TOO_LARGE, home, language)
    try:
        fields = parse_qs(body.decode("utf-8", errors="replace"), max_num_fields=10)
    except ValueError:  # more fields than a sign-in form has
        return login_page(request, home, TOO_MANY, status.HTTP_400_BAD_REQUEST, home, language)
    token, next_url = (fields.get("token") or [""])[0].strip(), (fields.get("next") or [home])[0]
    language = (fields.get("lang") or [language or ""])[0] or None
    principal: Principal | None
    if home == CONSOLE:
        principal, invalid = finance_principal(engine, token), INVALID_FINANCE_TOKEN
    else:
        principal, invalid = client_principal(engine, token), INVALID_TOKEN
    if principal is None:
        return login_page(request, next_url, invalid, status.HTTP_401_UNAUTHORIZED, home, language)
    secret = sessions.open_session(engine, principal)
    if language in LANGUAGES:  # the language of the sign-in page carries over
        sessions.set_language(engine, secret, language)
    return signed_in(request, next_url, secret, home)


def _sign_out(request: Request, engine: EngineDep, home: str) -> Response:
    sessions.end_session(engine, request.cookies.get(SESSION_COOKIE))
    response = RedirectResponse(f"{home}/login", status_code=status.HTTP_303_SEE_OTHER, headers=NO_STORE)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/login", response_class=HTMLResponse, summary="The sign-in page")
def login_form(
    request: Request, next: str | None = None, expired: bool = False, lang: str | None = None
) -> HTMLResponse:
    return login_page(request, next or HOME, EXPIRED if expired else None, language=lang)


@router.post("/login", response_class=HTMLResponse, summary="Sign in with a client token", openapi_extra=FORM_BODY)
async def login(request: Request, engine: EngineDep) -> Response:
    """Form fields ``token`` and ``next``: a good client token opens a session (cookie) and
    redirects (303) to ``next``; a bad one shows the page again with 401."""
    return await _sign_in(request, engine, HOME)


@router.post("/logout", summary="Sign out of the portal")
def logout(request: Request, engine: EngineDep) -> Response:
    """Signing out needs no CSRF token: the worst another site can do is sign a visitor out."""
    return _sign_out(request, engine, HOME)


@console_router.get("/login", response_class=HTMLResponse)
def console_login_form(
    request: Request, next: str | None = None, expired: bool = False, lang: str | None = None
) -> HTMLResponse:
    return login_page(request, next or CONSOLE, EXPIRED if expired else None, home=CONSOLE, language=lang)


@console_router.post("/login", response_class=HTMLResponse)
async def console_login(request: Request, engine: EngineDep) -> Response:
    return await _sign_in(request, engine, CONSOLE)


@console_router.post("/logout")
def console_logout(request: Request, engine: EngineDep) -> Response:
    return _sign_out(request, engine, CONSOLE)


def install(app: FastAPI) -> None:
    """The sign-in routes, and the app's answers to ``SignedIn`` and ``SignInRequired``."""
    app.include_router(router)
    app.include_router(console_router)

    def on_signed_in(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, SignedIn)
        return signed_in(request, exc.location, exc.secret, exc.home)

    def on_sign_in_required(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, SignInRequired)
        if exc.invalid_token:
            invalid = INVALID_FINANCE_TOKEN if exc.home == CONSOLE else INVALID_TOKEN
            return login_page(request, exc.next_url, invalid, status.HTTP_401_UNAUTHORIZED, exc.home)
        location = f"{exc.home}/login?next={quote(safe_next(exc.next_url, exc.home), safe='')}"
        if exc.expired:
            location += "&expired=1"
        return RedirectResponse(location, status_code=status.HTTP_303_SEE_OTHER, headers=NO_STORE)

    app.add_exception_handler(SignedIn, on_signed_in)
    app.add_exception_handler(SignInRequired, on_sign_in_required)


__all__ = ["accepted", "login_page", "safe_next"]
