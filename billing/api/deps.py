"""Dependencies every route shares, as ``Annotated`` aliases: the database session and who
is calling. ``FinanceToken`` refuses client tokens (403); ``ClientToken`` refuses finance
tokens; ``Caller`` accepts either (what it may see is then limited by ``billing.api.scope``).

API routes (``/v1``) take the token from ``Authorization: Bearer``. Portal pages take a
session: ``?token=`` (or the sign-in form) is exchanged for a server-side session whose
random secret goes in the HttpOnly cookie ``billing_session`` (``billing.access.sessions``),
so neither the address bar, the history nor the access log keeps the token.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated
from urllib.parse import urlencode

from fastapi import Depends, HTTPException, Query, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine
from sqlmodel import Session

from billing.access import sessions
from billing.access.tokens import Principal, authenticate
from billing.storage.db import reading

#: The session cookie (HttpOnly, SameSite=Lax, Secure over https; see routes/portal_login.py).
SESSION_COOKIE = "billing_session"
#: The cookie that held the raw token before sessions: deleted whenever a browser signs in.
OLD_TOKEN_COOKIE = "billing_token"

bearer = HTTPBearer(auto_error=False, description="A finance token or a client-scoped token")


def get_engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


EngineDep = Annotated[Engine, Depends(get_engine)]


def get_session(engine: EngineDep) -> Iterator[Session]:
    """A read session for the request. Writes go through the service layer's transactions."""
    with reading(engine) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def _unauthorized() -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED, "missing, unknown or revoked token", headers={"WWW-Authenticate": "Bearer"}
    )


def _principal(engine: Engine, secret: str | None) -> Principal:
    """Authenticate in a short session of its own: a POST then holds no read transaction
    while its service writes (on SQLite every transaction takes the write lock)."""
    principal = None
    if secret:
        with reading(engine) as session:
            principal = authenticate(session, secret)
    if principal is None:
        raise _unauthorized()
    return principal


def caller(
    engine: EngineDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> Principal:
    return _principal(engine, credentials.credentials if credentials else None)


Caller = Annotated[Principal, Depends(caller)]


def finance_caller(principal: Caller) -> Principal:
    if not principal.is_finance:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "this action needs a finance token")
    return principal


FinanceToken = Annotated[Principal, Depends(finance_caller)]


def client_caller(principal: Caller) -> Principal:
    if principal.client_id is None:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "this route needs a client token")
    return principal


ClientToken = Annotated[Principal, Depends(client_caller)]


PortalTokenQuery = Annotated[
    str | None,
    Query(
        description="Sign in with a client token: it is exchanged for a session cookie and the browser is "
        "redirected (303) to the same address without it"
    ),
]


class SignInRequired(Exception):
    """A page request without a live session: the app answers with the sign-in page of
    ``home`` (a redirect to ``/portal/login?next=...``, saying so when a session ``expired``;
    or the page itself with 401 for a bad token)."""

    def __init__(self, next_url: str, invalid_token: bool = False, home: str = "/portal", expired: bool = False):
        super().__init__(next_url)
        self.next_url = next_url
        self.invalid_token = invalid_token
        self.home = home
        self.expired = expired


class SignedIn(Exception):
    """A page request that signed in with ``?token=``: the app answers 303 to ``location``
    (the same address without the token) and sets the session cookie to ``secret``."""

    def __init__(self, location: str, secret: str, home: str = "/portal"):
        super().__init__(location)
        self.location = location
        self.secret = secret
        self.home = home


def without_token(request: Request) -> str:
    """The request's path and query, less any ``token`` parameter."""
    rest = urlencode([(k, v) for k, v in request.query_params.multi_items() if k != "token"])
    return request.url.path + (f"?{rest}" if rest else "")


def client_principal(engine: Engine, secret: str | None) -> Principal | None:
    """The client token ``secret`` names, when it is a live client token."""
    if not secret or len(secret) > 200:
        return None
    with reading(engine) as session:
        principal = authenticate(session, secret)
    return principal if principal is not None and principal.client_id is not None else None


def finance_principal(engine: Engine, secret: str | None) -> Principal | None:
    """The finance token ``secret`` names, when it is a live finance token."""
    if not secret or len(secret) > 200:
        return None
    with reading(engine) as session:
        principal = authenticate(session, secret)
    return principal if principal is not None and principal.is_finance else None


def session_caller(request: Request, engine: EngineDep) -> Principal | None:
    """Who the browser's session cookie signs in (``billing.access.sessions``), or None. The
    shared dependency for pages that use sessions (the portal; later a finance console)."""
    return sessions.current(engine, request.cookies.get(SESSION_COOKIE))


def portal_caller(
    request: Request,
    engine: EngineDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    from_session: Annotated[Principal | None, Depends(session_caller)],
    token: PortalTokenQuery = None,
) -> Principal:
    """A portal page's caller: ``?token=`` signs in (exchanged for a session, then a redirect
    without it), else ``Authorization: Bearer`` (a program reading the portal; 401 when that
    token is bad), else the session cookie. Neither: the sign-in page."""
    if token is not None:
        principal = client_principal(engine, token)
        if principal is None:
            raise SignInRequired(without_token(request), invalid_token=True)
        raise SignedIn(without_token(request), sessions.open_session(engine, principal))
    if credentials is not None:
        principal = _principal(engine, credentials.credentials)
    elif from_session is not None:
        principal = from_session
    else:
        raise SignInRequired(without_token(request), expired=SESSION_COOKIE in request.cookies)
    if principal.client_id is None:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "the portal is for client tokens")
    return principal


PortalClient = Annotated[Principal, Depends(portal_caller)]


def console_caller(request: Request, from_session: Annotated[Principal | None, Depends(session_caller)]) -> Principal:
    """A console page's caller: a session opened with a finance token, nothing else (no
    bearer token, no ``?token=``: a token never travels in a console address). Without a
    session: the console's sign-in page; a client's session: 403."""
    if from_session is None:
        raise SignInRequired(without_token(request), home="/console", expired=SESSION_COOKIE in request.cookies)
    if not from_session.is_finance:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "the console is for finance tokens")
    return from_session


ConsoleUser = Annotated[Principal, Depends(console_caller)]
