"""Clients, contracts, contract versions and billing entities (owned by ``billing.contracts``)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, LargeBinary, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from billing.storage.models.common import utcnow
from billing.storage.types import UtcDateTime


class Client(SQLModel, table=True):
    """The outsourcing buyer. Its id comes from the contract file (``client.id``)."""

    id: str = Field(primary_key=True, max_length=100)
    name: str = Field(max_length=300)
    locale: str = Field(default="en_US", max_length=20)
    tax_id: str | None = Field(default=None, max_length=50)
    email: str | None = Field(default=None, max_length=300)
    #: From the contract's client block (the latest loaded version): who documents are addressed to.
    legal_name: str | None = Field(default=None, max_length=300)
    tax_scheme: str | None = Field(default=None, max_length=20)
    address: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    billing_email: str | None = Field(default=None, max_length=300)
    stripe_customer_id: str | None = Field(default=None, max_length=100)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class Contract(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=100, unique=True)
    client_id: str = Field(foreign_key="client.id", index=True, max_length=100)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class ContractVersion(SQLModel, table=True):
    """One version of a contract's terms: the base file or an amendment. The source text is
    kept verbatim; terms are rebuilt from it, so what was loaded is what is rated."""

    __tablename__ = "contract_version"
    __table_args__ = (UniqueConstraint("contract_id", "effective_from", name="uq_contract_version_effective"),)

    id: int | None = Field(default=None, primary_key=True)
    contract_id: int = Field(foreign_key="contract.id", index=True)
    effective_from: date
    is_amendment: bool = False
    source_name: str = Field(max_length=500)
    source_text: str = Field(sa_type=Text)
    digest: str = Field(max_length=64)
    document: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    loaded_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class BillingEntity(SQLModel, table=True):
    """A company that issues documents (the seller): its legal identity, bank accounts per
    currency, logo and footer, loaded from an entity file (``billing entities load``). A
    document keeps a snapshot of its issuer as it was when it was issued (``Document.issuer``),
    so a later change of address never rewrites a legal document."""

    __tablename__ = "billing_entity"

    code: str = Field(primary_key=True, max_length=64)
    legal_name: str = Field(max_length=300)
    trade_name: str | None = Field(default=None, max_length=300)
    tax_scheme: str | None = Field(default=None, max_length=20)
    tax_id: str = Field(max_length=50)
    address: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    email: str | None = Field(default=None, max_length=300)
    phone: str | None = Field(default=None, max_length=50)
    bank_accounts: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    logo: bytes | None = Field(default=None, sa_type=LargeBinary)
    logo_type: str | None = Field(default=None, max_length=30)
    footer: str | None = Field(default=None, sa_type=Text)
    source_name: str = Field(max_length=500)
    digest: str = Field(max_length=64)
    loaded_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
