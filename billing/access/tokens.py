"""API tokens: random secrets shown once, stored only as their SHA-256 digest.

A finance token acts on every client; a client token (``scope == "client"``) sees one
client's documents and nothing else. Revoked tokens stay listed (for the audit trail) but
no longer authenticate.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from billing.storage import audit
from billing.storage.models import ApiToken, Client, utcnow

FINANCE = "finance"
CLIENT = "client"


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Principal:
    """Who is calling: the token's id (idempotency keys are scoped by it) and, for a client
    token, the only client it may see."""

    token_id: int
    name: str
    scope: str
    client_id: str | None

    @property
    def is_finance(self) -> bool:
        return self.scope == FINANCE


def create_token(session: Session, name: str, client_id: str | None = None, actor: str = "cli") -> tuple[ApiToken, str]:
    """Store a new token and return it with its secret (the only time the secret exists)."""
    if client_id is not None and session.get(Client, client_id) is None:
        raise LookupError(f"no client {client_id!r}")
    secret = secrets.token_urlsafe(32)
    row = ApiToken(name=name, token_hash=digest(secret), scope=CLIENT if client_id else FINANCE, client_id=client_id)
    session.add(row)
    session.flush()
    audit.record(session, actor, "token.create", "api_token", row.id or 0, {"name": name, "scope": row.scope})
    return row, secret


def authenticate(session: Session, secret: str) -> Principal | None:
    row = session.exec(select(ApiToken).where(ApiToken.token_hash == digest(secret))).first()
    if row is None or row.revoked_at is not None or row.id is None:
        return None
    return Principal(row.id, row.name, row.scope, row.client_id)


def list_tokens(session: Session) -> list[ApiToken]:
    return list(session.exec(select(ApiToken).order_by(col(ApiToken.id))).all())


def revoke_token(session: Session, token_id: int, actor: str = "cli", now: datetime | None = None) -> ApiToken:
    row = session.get(ApiToken, token_id)
    if row is None:
        raise LookupError(f"no token {token_id}")
    if row.revoked_at is None:
        row.revoked_at = now or utcnow()
        session.add(row)
        audit.record(session, actor, "token.revoke", "api_token", token_id, {"name": row.name})
    return row
