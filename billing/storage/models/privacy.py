"""Personal data: the pseudonym keys the stored customer ids were made with, the erasure
requests answered, and the interaction periods deleted by retention (owned by
``billing.measurement`` and ``billing.privacy``; docs/privacy.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from billing.storage.models.common import utcnow
from billing.storage.types import UtcDateTime


class PseudonymKey(SQLModel, table=True):
    """A key customer ids were pseudonymised with, by its public id (never the key itself):
    an import under another key is refused instead of starting unlinked pseudonyms."""

    __tablename__ = "pseudonym_key"

    key_id: str = Field(primary_key=True, max_length=16)
    first_used_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class ErasureRequest(SQLModel, table=True):
    """A data subject's request answered by ``billing privacy erase``: what was unlinked,
    when and by whom. The customer's id is not kept here, in any form."""

    __tablename__ = "erasure_request"

    id: int | None = Field(default=None, primary_key=True)
    contract_id: int = Field(foreign_key="contract.id", index=True)
    requested_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    actor: str = Field(max_length=200)
    reference: str | None = Field(default=None, max_length=200)
    interactions_unlinked: int = 0
    rejected_rows_unlinked: int = 0


class RetentionPurge(SQLModel, table=True):
    """One contract-period whose interaction rows ``billing retention apply`` deleted. Its daily
    rollup stays, counted against ``thresholds`` and ``windows`` only: a measurement of the
    period that needs anything else is refused (``billing.measurement.queries``)."""

    __tablename__ = "retention_purge"
    __table_args__ = (UniqueConstraint("contract_id", "period", name="uq_retention_purge"),)

    id: int | None = Field(default=None, primary_key=True)
    contract_id: int = Field(foreign_key="contract.id", index=True)
    period: str = Field(max_length=7)
    applied_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    actor: str = Field(max_length=200)
    interactions_deleted: int = 0
    timezone: str = Field(max_length=64)
    thresholds: list[int] = Field(default_factory=list, sa_type=JSON)
    windows: list[int] = Field(default_factory=list, sa_type=JSON)
    note: str | None = Field(default=None, sa_type=Text)
    details: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
