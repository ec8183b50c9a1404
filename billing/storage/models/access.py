"""Stripe's outbox and processed events (``billing.collection``), API tokens and idempotency
records (``billing.access``, ``billing.api``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Text
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
    """Webhook events already processed: a replayed event id is ignored."""

    __tablename__ = "stripe_event"

    id: str = Field(primary_key=True, max_length=100)
    type: str = Field(max_length=100)
    received_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class ApiToken(SQLModel, table=True):
    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    token_hash: str = Field(max_length=128, unique=True)
    scope: str = Field(max_length=20)
    client_id: str | None = Field(default=None, foreign_key="client.id", max_length=100)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class IdempotencyRecord(SQLModel, table=True):
    __tablename__ = "idempotency_record"

    token_id: int = Field(foreign_key="api_token.id", primary_key=True)
    key: str = Field(primary_key=True, max_length=200)
    request_hash: str = Field(max_length=64)
    status_code: int
    response_body: str = Field(sa_type=Text)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
