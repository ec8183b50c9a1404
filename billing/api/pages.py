"""What the server-rendered pages (the portal and the console) share: who is reading and in
which language, forms checked against cross-site posts, and errors as pages.

- **Reader.** ``ReaderDep`` is the browser's live session (``billing.access.sessions``), or
  None, with the ``Accept-Language`` it sent. ``locale_for`` picks the language: the one the
  reader chose (remembered by the session), else the client's locale, else the browser's.
- **Forms.** ``read_form`` refuses a form posted from another site (``Origin`` or
  ``Sec-Fetch-Site``), one larger than its limit, and, for a signed-in session, one without
  the session's CSRF token; the session cookie is also SameSite=Lax.
- **Errors.** Under ``/portal`` and ``/console`` an HTTP error or an invalid parameter is a
  page in the reader's language (``error.html``), never JSON; elsewhere FastAPI's answers stay.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from babel.core import Locale, UnknownLocaleError, negotiate_locale
from fastapi import Depends, FastAPI, HTTPException, Request, status
from fastapi.exception_handlers import http_exception_handler, request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException as StarletteHTTPException

from billing.access import sessions
from billing.api.deps import SESSION_COOKIE, EngineDep
from billing.presentation.formatting import Formatter
from billing.presentation.i18n import LANGUAGES, N_
from billing.presentation.templating import environment
from billing.storage.db import reading
from billing.storage.models import Client

NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
#: The languages a reader can switch to, each named in itself.
LANGUAGE_NAMES = (("es", "Español"), ("en", "English"))
#: The locale of a language when the client's territory has none in it (en for a Peruvian client).
DEFAULT_LOCALES = {"en": "en_US", "es": "es_ES"}
PAGE_PREFIXES = ("/portal", "/console")
MAX_FORM_BYTES = 16_384

MESSAGES = {
    400: N_("The request could not be read."),
    403: N_("You may not open this page with the token you signed in with."),
    404: N_("There is no such page, or it is not yours to see."),
    409: N_("This could not be done: the document changed in the meantime."),
    413: N_("The form is too large."),
    422: N_("Some of the values given are not valid."),
}


@dataclass(frozen=True)
class Reader:
    """Who is reading a page: their live session (None when signed out), the raw session
    cookie (to end it or remember a language), and the browser's Accept-Language."""

    browser: sessions.Browser | None
    secret: str | None
    accept_language: str | None
    had_cookie: bool

    @property
    def language(self) -> str | None:
        return self.browser.language if self.browser else None

    @property
    def csrf(self) -> str:
        return self.browser.csrf if self.browser else ""


def reader(request: Request, engine: EngineDep) -> Reader:
    secret = request.cookies.get(SESSION_COOKIE)
    browser = sessions.browser_of(engine, secret) if secret else None
    return Reader(browser, secret, request.headers.get("accept-language"), secret is not None)


ReaderDep = Annotated[Reader, Depends(reader)]


def accepted(accept_language: str | None) -> str | None:
    """The best locale the browser asks for among our languages (``es-MX`` -> ``es_MX``)."""
    if not accept_language or len(accept_language) > 500:
        return None
    tags = []
    for part in accept_language.split(","):
        tag = part.split(";")[0].strip().replace("-", "_")
        if tag and tag != "*":
            tags.append(tag)
    chosen = negotiate_locale(tags, list(LANGUAGES) + [t for t in tags if t.split("_")[0].lower() in LANGUAGES])
    return _known(chosen) if chosen else None


def _known(tag: str | None) -> str | None:
    if not tag:
        return None
    try:
        Locale.parse(tag)
    except (UnknownLocaleError, ValueError, TypeError):
        return None
    return tag


def locale_for(chosen: str | None, client_locale: str | None, accept_language: str | None) -> str:
    """The reader's locale: the language they chose (in the client's territory when babel has
    that locale: ``es`` for an es_PE client stays es_PE), else the client's locale, else the
    browser's, else English."""
    if chosen in LANGUAGES:
        for candidate in (client_locale, accepted(accept_language)):
            if candidate and candidate.split("_")[0] == chosen:
                return candidate
        territory = client_locale.split("_")[1] if client_locale and "_" in client_locale else None
        return _known(f"{chosen}_{territory}" if territory else None) or DEFAULT_LOCALES[str(chosen)]
    if client_locale:
        return client_locale
    return accepted(accept_language) or "en_US"


def render(template: str, locale: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    fmt = Formatter.for_locale(locale)
    html = environment(fmt.language).get_template(template).render(fmt=fmt, **context)
    return HTMLResponse(html, status_code=status_code, headers=NO_STORE)


def cross_site(request: Request) -> bool:
    """Whether the browser says the form was posted from another site: ``Sec-Fetch-Site``
    when it sends one (anything but this origin or the address bar), else ``Origin``. Pages
    send no referrer, so a browser may send ``Origin: null`` with a same-origin form: the
    fetch metadata decides then."""
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None:
        return fetch_site not in ("same-origin", "none")
    origin = request.headers.get("origin")
    return origin is not None and origin != f"{request.url.scheme}://{request.url.netloc}"


async def read_form(request: Request, who: Reader | None, limit: int = MAX_FORM_BYTES) -> FormData:
    """The posted form, refused (HTTPException, shown as a page) when it comes from another
    site, is larger than ``limit`` or, with ``who`` signed in, lacks the session's CSRF token."""
    if cross_site(request):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "forms are accepted from this site's own pages only")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, "the form is too large")
    request._body = body  # starlette reads the form from the body kept here
    try:
        form = await request.form(max_files=2, max_fields=40)
    except Exception as exc:  # a malformed body: a page that says so, not a traceback
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "the form could not be read") from exc
    if who is not None and not sessions.csrf_ok(who.secret, _text(form.get("csrf"))):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "the form has expired: open the page again and resend it")
    return form


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def field(form: FormData, name: str, limit: int = 500) -> str:
    """A text field of the form, stripped; refused (422) when longer than ``limit``."""
    value = _text(form.get(name)) or ""
    if len(value) > limit or "\x00" in value:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"the field {name} is not valid")
    return value.strip()


def _page_reader(request: Request) -> tuple[sessions.Browser | None, str]:
    """The signed-in reader of an error page (if any) and their locale, as for the page asked."""
    engine = request.app.state.engine
    secret = request.cookies.get(SESSION_COOKIE)
    browser = sessions.browser_of(engine, secret) if secret else None
    client_locale = None
    if browser is not None and browser.principal.client_id is not None:
        with reading(engine) as session:
            client = session.get(Client, browser.principal.client_id)
            client_locale = client.locale if client else None
    language = browser.language if browser else None
    return browser, locale_for(language, client_locale, request.headers.get("accept-language"))


def error_page(request: Request, status_code: int, detail: object = None) -> HTMLResponse:
    """The error as a page in the reader's language, leading back to their start page. A
    finance reader also sees the engine's reason (to fix the data); a client only the message."""
    browser, locale = _page_reader(request)
    fmt = Formatter.for_locale(locale)
    message = fmt._(MESSAGES.get(status_code, N_("Something went wrong.")))
    finance = browser is not None and browser.principal.is_finance
    if browser is not None:
        home = "/console" if finance else "/portal"
    else:
        home = "/console" if request.url.path.startswith("/console") else "/portal"
    shown = detail if finance and isinstance(detail, str) else None
    return render("error.html", locale, status_code, message=message, status=status_code, home=home, detail=shown)


def install(app: FastAPI) -> None:
    """Errors under ``/portal`` and ``/console`` as pages (see the module docstring)."""

    def is_page(request: Request) -> bool:
        path = request.url.path
        return any(path == p or path.startswith(p + "/") for p in PAGE_PREFIXES)

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if is_page(request) and exc.status_code != status.HTTP_401_UNAUTHORIZED:
            return error_page(request, exc.status_code, exc.detail)
        return await http_exception_handler(request, exc)

    async def on_invalid(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        if is_page(request):
            return error_page(request, status.HTTP_422_UNPROCESSABLE_CONTENT)
        return await request_validation_exception_handler(request, exc)

    handlers: dict[type[Exception], Callable[[Request, Exception], Any]] = {
        StarletteHTTPException: on_http,
        RequestValidationError: on_invalid,
    }
    for kind, handler in handlers.items():
        app.add_exception_handler(kind, handler)
