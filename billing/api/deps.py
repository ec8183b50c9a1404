"""Dependencies every route shares, as ``Annotated`` aliases: the database session and who
is calling. ``FinanceToken`` refuses client tokens (403); ``ClientToken`` refuses finance
tokens; ``Caller`` accepts either (what it may see is then limited by ``billing.api.scope``).

API routes take the token from ``Authorization: Bearer``; portal pages also accept the
HttpOnly cookie the portal sets, so a browser never has to keep the token in the URL.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Query, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine
from sqlmodel import Session

from billing.access.tokens import Principal, authenticate
from billing.storage.db import reading

COOKIE = "billing_token"

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
    str | None, Query(max_length=200, description="Sign in once with the token; a cookie keeps the session")
]


def portal_caller(
    request: Request,
    engine: EngineDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    token: PortalTokenQuery = None,
) -> Principal:
    secret = token or (credentials.credentials if credentials else request.cookies.get(COOKIE))
    principal = _principal(engine, secret)
    if principal.client_id is None:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "the portal is for client tokens")
    return principal


PortalClient = Annotated[Principal, Depends(portal_caller)]
