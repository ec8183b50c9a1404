"""Signing in to the portal: the sign-in page and form, signing out, and how the app answers
a portal request that signs in (``SignedIn``: 303 with the session cookie) or needs to
(``SignInRequired``: 303 to the sign-in page, or the page itself with 401 for a bad token).

``install(app)`` adds the router and those two answers. The page is deliberately minimal
(``billing/presentation/templates/portal_login.html``): restyle it there.

The session cookie ``billing_session`` is HttpOnly, SameSite=Lax, ``Path=/``, lives at most
``sessions.MAX_AGE``, and is Secure when the request came over https (behind a proxy, only
when ``billing serve --forwarded-allow-ips`` trusts that proxy's X-Forwarded-Proto). The
form is refused (403) when the browser says it was posted from another site (``Origin`` or
``Sec-Fetch-Site``), so no site can sign a visitor in to someone else's portal.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from fastapi import APIRouter, FastAPI, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from billing.access import sessions
from billing.api.deps import (
    OLD_TOKEN_COOKIE,
    SESSION_COOKIE,
    EngineDep,
    SignedIn,
    SignInRequired,
    client_principal,
)
from billing.presentation.templating import environment

router = APIRouter(prefix="/portal", tags=["portal"])

HOME = "/portal"
MAX_FORM_BYTES = 4096
INVALID_TOKEN = "This access token is not valid: it may have been revoked. Ask your account manager for a new one."
NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}

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


def safe_next(value: str | None) -> str:
    """A portal address on this site to send the browser to after signing in; anything else
    (another site, a scheme, a control character) is the statement page."""
    if not value or len(value) > 2000 or any(ord(c) < 0x20 or c == "\\" for c in value):
        return HOME
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or not (parts.path == HOME or parts.path.startswith(HOME + "/")):
        return HOME
    if parts.path == HOME + "/login":
        return HOME
    query = "&".join(p for p in parts.query.split("&") if p and p.split("=", 1)[0] != "token")
    return parts.path + (f"?{query}" if query else "")


def login_page(next_url: str = HOME, error: str | None = None, status_code: int = 200) -> HTMLResponse:
    html = environment().get_template("portal_login.html").render(next=safe_next(next_url), error=error)
    return HTMLResponse(html, status_code=status_code, headers=NO_STORE)


def signed_in(request: Request, location: str, secret: str) -> Response:
    response = RedirectResponse(safe_next(location), status_code=status.HTTP_303_SEE_OTHER, headers=NO_STORE)
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


def _cross_site(request: Request) -> bool:
    if request.headers.get("sec-fetch-site") == "cross-site":
        return True
    origin = request.headers.get("origin")
    return origin is not None and origin != f"{request.url.scheme}://{request.url.netloc}"


@router.get("/login", response_class=HTMLResponse, summary="The sign-in page")
def login_form(next: str | None = None) -> HTMLResponse:
    return login_page(next or HOME)


@router.post("/login", response_class=HTMLResponse, summary="Sign in with a client token", openapi_extra=FORM_BODY)
async def login(request: Request, engine: EngineDep) -> Response:
    """Form fields ``token`` and ``next``: a good client token opens a session (cookie) and
    redirects (303) to ``next``; a bad one shows the page again with 401."""
    if _cross_site(request):
        return login_page(error="Sign in from this site's own page.", status_code=status.HTTP_403_FORBIDDEN)
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            return login_page(error="The form is too large.", status_code=status.HTTP_413_CONTENT_TOO_LARGE)
    try:
        fields = parse_qs(body.decode("utf-8", errors="replace"), max_num_fields=10)
    except ValueError:  # more fields than a sign-in form has
        return login_page(error="The form has too many fields.", status_code=status.HTTP_400_BAD_REQUEST)
    token, next_url = (fields.get("token") or [""])[0].strip(), (fields.get("next") or [HOME])[0]
    principal = client_principal(engine, token)
    if principal is None:
        return login_page(next_url, INVALID_TOKEN, status.HTTP_401_UNAUTHORIZED)
    return signed_in(request, next_url, sessions.open_session(engine, principal))


@router.post("/logout", summary="Sign out of the portal")
def logout(request: Request, engine: EngineDep) -> Response:
    sessions.end_session(engine, request.cookies.get(SESSION_COOKIE))
    response = RedirectResponse(f"{HOME}/login", status_code=status.HTTP_303_SEE_OTHER, headers=NO_STORE)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def install(app: FastAPI) -> None:
    """The sign-in routes, and the app's answers to ``SignedIn`` and ``SignInRequired``."""
    app.include_router(router)

    def on_signed_in(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, SignedIn)
        return signed_in(request, exc.location, exc.secret)

    def on_sign_in_required(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, SignInRequired)
        if exc.invalid_token:
            return login_page(exc.next_url, INVALID_TOKEN, status.HTTP_401_UNAUTHORIZED)
        location = f"{HOME}/login?next={quote(safe_next(exc.next_url), safe='')}"
        return RedirectResponse(location, status_code=status.HTTP_303_SEE_OTHER, headers=NO_STORE)

    app.add_exception_handler(SignedIn, on_signed_in)
    app.add_exception_handler(SignInRequired, on_sign_in_required)
