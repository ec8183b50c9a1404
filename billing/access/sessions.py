"""Browser sessions: sign in once with a token, then carry a random session secret (in an
HttpOnly cookie, set by ``billing.api``), never the token itself.

- **Secret.** ``secrets.token_urlsafe(32)`` (256 bits), given once to the browser; only its
  SHA-256 digest is stored (``portal_session``), like API tokens. A database dump signs no
  one in.
- **Who.** A session acts as the API token it was opened with, re-read on every request:
  revoking the token ends every session opened with it at once. What a session may see is
  the token's scope (the portal takes client tokens; a finance console may take finance ones).
- **Expiry.** ``IDLE_TIMEOUT`` (8 hours) after its last request (sliding), and never more than
  ``MAX_AGE`` (24 hours) after sign-in, whatever the activity. The last use is written at most
  once per ``TOUCH_EVERY`` (5 minutes), so most requests only read.
- **Language.** A session remembers the language its reader chose (``set_language``).
- **CSRF.** Forms posted with a session carry ``csrf_token(secret)``: an HMAC of the session's
  secret, which only the browser holding the HttpOnly cookie (and this server) can know, so
  no other site can make a signed-in browser post a form it did not render.
- **End.** Signing out deletes the session; sessions past their expiry are deleted whenever a
  new one opens.

``open_session``, ``current`` and ``end_session`` are service functions (they open their
own transactions); ``find`` is the repository query they share.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, or_
from sqlmodel import Session, col, select

from billing.access.tokens import Principal, digest
from billing.storage.db import reading, transaction
from billing.storage.models import ApiToken, PortalSession, utcnow

IDLE_TIMEOUT = timedelta(hours=8)
MAX_AGE = timedelta(hours=24)
TOUCH_EVERY = timedelta(minutes=5)
#: Longer than any secret we issue (43 characters); a longer cookie is not ours.
MAX_SECRET_LENGTH = 100


@dataclass(frozen=True)
class Browser:
    """A live session: who it acts as, the language its reader chose, and the CSRF token
    its forms carry."""

    principal: Principal
    language: str | None
    csrf: str


def csrf_token(secret: str) -> str:
    """The CSRF token of the session with this secret (see the module docstring)."""
    return hmac.new(secret.encode("utf-8"), b"billing-csrf-v1", hashlib.sha256).hexdigest()


def csrf_ok(secret: str | None, token: str | None) -> bool:
    return bool(secret and token) and hmac.compare_digest(csrf_token(secret or ""), token or "")


def find(session: Session, secret: str, now: datetime) -> tuple[PortalSession, Principal] | None:
    """The live session with this secret and who it acts as; None when unknown, expired, or
    its token was revoked."""
    if not secret or len(secret) > MAX_SECRET_LENGTH:
        return None
    found = session.exec(
        select(PortalSession, ApiToken)
        .join(ApiToken, col(ApiToken.id) == col(PortalSession.token_id))
        .where(col(PortalSession.secret_hash) == digest(secret))
    ).first()
    if found is None:
        return None
    row, token = found
    if token.revoked_at is not None or token.id is None or not _alive(row, now):
        return None
    return row, Principal(token.id, token.name, token.scope, token.client_id)


def _alive(row: PortalSession, now: datetime) -> bool:
    return now < row.last_seen_at + IDLE_TIMEOUT and now < row.created_at + MAX_AGE


def open_session(engine: Engine, principal: Principal, now: datetime | None = None) -> str:
    """Open a session acting as ``principal``'s token; returns its secret (shown only now)."""
    now = now or utcnow()
    secret = secrets.token_urlsafe(32)
    with transaction(engine) as session:
        _purge_expired(session, now)
        session.add(
            PortalSession(secret_hash=digest(secret), token_id=principal.token_id, created_at=now, last_seen_at=now)
        )
    return secret


def current(engine: Engine, secret: str | None, now: datetime | None = None) -> Principal | None:
    """Who the session with this secret acts as, its idle expiry moved on; None when there is
    no such live session."""
    browser = browser_of(engine, secret, now)
    return None if browser is None else browser.principal


def browser_of(engine: Engine, secret: str | None, now: datetime | None = None) -> Browser | None:
    """The live session with this secret (its idle expiry moved on), or None."""
    now = now or utcnow()
    if not secret:
        return None
    with reading(engine) as session:
        found = find(session, secret, now)
    if found is None:
        return None
    row, principal = found
    if now - row.last_seen_at >= TOUCH_EVERY:
        with transaction(engine) as session:
            stored = session.get(PortalSession, row.id)
            if stored is not None and stored.last_seen_at < now:
                stored.last_seen_at = now
    return Browser(principal, row.language, csrf_token(secret))


def set_language(engine: Engine, secret: str | None, language: str) -> bool:
    """Remember the language the session's reader chose. True when there was such a session."""
    if not secret or len(secret) > MAX_SECRET_LENGTH:
        return False
    with transaction(engine) as session:
        row = session.exec(select(PortalSession).where(col(PortalSession.secret_hash) == digest(secret))).first()
        if row is None:
            return False
        row.language = language
        return True


def end_session(engine: Engine, secret: str | None) -> bool:
    """Sign out: delete the session with this secret. True when there was one."""
    if not secret or len(secret) > MAX_SECRET_LENGTH:
        return False
    with transaction(engine) as session:
        result = session.execute(delete(PortalSession).where(col(PortalSession.secret_hash) == digest(secret)))
        return bool(result.rowcount)  # type: ignore[attr-defined]


def _purge_expired(session: Session, now: datetime) -> None:
    session.execute(
        delete(PortalSession).where(
            or_(col(PortalSession.last_seen_at) <= now - IDLE_TIMEOUT, col(PortalSession.created_at) <= now - MAX_AGE)
        )
    )
