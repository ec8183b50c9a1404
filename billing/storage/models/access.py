"""Stripe's outbox and received events (``billing.collection``), API tokens, portal sessions
and idempotency records (``billing.access``, ``billing.api``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Text
from sqlmodel import Field, SQLModel

from billing.storage.models.common import utcnow
from billing.storage.types import UtcDateTime


class StripeOutbox(SQLModel, table=True):
    """What must reach Stripe, written in the same transaction as the change that needs it,
    then sent with an idempotency key derived from the document number."""

    __tablename__ = "stripe_outbox"

    id: int | None = Field(default=None, primary_key=True)
    document_id: int = Field(foreign_key="document.id", index=True)
    operation: str = Field(max_length=50)
    idempotency_key: str = Field(max_length=200, unique=True)
    status: str = Field(default="pending", max_length=20, index=True)
    attempts: int = 0
    last_error: str | None = Field(default=None, sa_type=Text)
    stripe_id: str | None = Field(default=None, max_length=100)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class StripeEvent(SQLModel, table=True):
    """Webhook events received. A ``processed`` event id is never acted on again. A
    ``waiting`` event is about a Stripe invoice the outbox has not recorded yet: ``data``
    keeps what applying it needs, and the push that records ``stripe_invoice_id`` applies it."""

    __tablename__ = "stripe_event"

    id: str = Field(primary_key=True, max_length=100)
    type: str = Field(max_length=100)
    received_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    status: str = Field(default="processed", max_length=20, sa_column_kwargs={"server_default": "processed"})
    stripe_invoice_id: str | None = Field(default=None, max_length=100, index=True)
    data: dict[str, Any] | None = Field(default=None, sa_type=JSON)


class ApiToken(SQLModel, table=True):
    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    token_hash: str = Field(max_length=128, unique=True)
    scope: str = Field(max_length=20)
    client_id: str | None = Field(default=None, foreign_key="client.id", max_length=100)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class PortalSession(SQLModel, table=True):
    """A signed-in portal browser (``billing.access.sessions``): the cookie holds a random
    secret, stored here only as its SHA-256 digest; the session acts as its API token."""

    __tablename__ = "portal_session"

    id: int | None = Field(default=None, primary_key=True)
    secret_hash: str = Field(max_length=64, unique=True)
    token_id: int = Field(foreign_key="api_token.id", index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    last_seen_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    #: The language the reader chose (``en``, ``es``); None: the client's, then the browser's.
    language: str | None = Field(default=None, max_length=10)


class IdempotencyRecord(SQLModel, table=True):
    __tablename__ = "idempotency_record"

    token_id: int = Field(foreign_key="api_token.id", primary_key=True)
    key: str = Field(primary_key=True, max_length=200)
    request_hash: str = Field(max_length=64)
    status_code: int
    response_body: str = Field(sa_type=Text)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
