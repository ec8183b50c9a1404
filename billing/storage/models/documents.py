"""Invoices, credit and debit notes, their lines and numbering, payments, reconciliations and
the audit trail (owned by ``billing.invoicing``, ``billing.reconciliation`` and ``billing.storage.audit``)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Column, ForeignKey, Index, Integer, Text, UniqueConstraint, false, text
from sqlmodel import Field, SQLModel

from billing.storage.models.common import AMOUNT, QUANTITY, utcnow
from billing.storage.types import Exact, UtcDateTime


class SeriesCounter(SQLModel, table=True):
    """The last number used in a series. Taken inside the issuing transaction, so a rollback
    gives the number back and the series stays gapless."""

    __tablename__ = "series_counter"

    series: str = Field(primary_key=True, max_length=30)
    last_number: int = 0


class Document(SQLModel, table=True):
    """An invoice, credit note or debit note. Drafts are refreshed freely; once issued the
    amounts, number and lines are frozen (database triggers enforce it)."""

    __table_args__ = (
        Index(
            "uq_document_open_invoice",
            "contract_id",
            "period",
            unique=True,
            sqlite_where=text("kind = 'invoice' AND status <> 'void'"),
            postgresql_where=text("kind = 'invoice' AND status <> 'void'"),
        ),
        UniqueConstraint("series", "number", name="uq_document_number"),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(default="invoice", max_length=20)
    status: str = Field(default="draft", max_length=20, index=True)
    contract_id: int = Field(foreign_key="contract.id", index=True)
    client_id: str = Field(foreign_key="client.id", index=True, max_length=100)
    period: str = Field(max_length=7, index=True)
    series: str = Field(max_length=30)
    number: int | None = None
    number_text: str | None = Field(default=None, max_length=50, unique=True)
    currency: str = Field(max_length=3)
    subtotal: Decimal = Field(sa_type=AMOUNT)
    tax: Decimal = Field(sa_type=AMOUNT)
    total: Decimal = Field(sa_type=AMOUNT)
    tax_name: str | None = Field(default=None, max_length=50)
    tax_rate: Decimal = Field(default=Decimal(0), sa_type=Exact(scale=4, precision=9))
    rounding: str = Field(default="half_up", max_length=10)
    terms_version_id: int | None = Field(default=None, foreign_key="contract_version.id")
    corrects_id: int | None = Field(default=None, sa_column=Column(Integer, ForeignKey("document.id"), index=True))
    reason: str | None = Field(default=None, sa_type=Text)
    issue_date: date | None = None
    due_date: date | None = None
    rated_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    data_as_of: int | None = None
    service_levels: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    kpis: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    issued_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    voided_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    void_reason: str | None = Field(default=None, sa_type=Text)
    paid_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    stripe_invoice_id: str | None = Field(default=None, max_length=100)
    #: A draft stored by ``billing close --preview`` for a period that is not closable yet: it
    #: shows what the month would bill so far and can never be issued (the database refuses it).
    provisional: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    #: The parties as they were when the document was issued (migration 0012 freezes them):
    #: the issuing entity and the client block of the terms in force. None on a draft.
    issuer: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    buyer: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    #: What the client withholds and pays to a third party (Peru's detraccion): the contract's
    #: rule and the amount, when the document is above its threshold; payable = total - this.
    withholding: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    withholding_amount: Decimal | None = Field(default=None, sa_type=AMOUNT)


class DocumentLine(SQLModel, table=True):
    __tablename__ = "document_line"

    id: int | None = Field(default=None, primary_key=True)
    document_id: int = Field(foreign_key="document.id", index=True)
    position: int
    charge: str = Field(max_length=100)
    type: str = Field(max_length=30)
    description: str = Field(max_length=500)
    quantity: Decimal = Field(sa_type=QUANTITY)
    unit_price: Decimal | None = Field(default=None, sa_type=QUANTITY)
    amount: Decimal = Field(sa_type=AMOUNT)
    details: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)


class AuditEvent(SQLModel, table=True):
    """Who changed what, when: every change of a document's state, and every money action."""

    __tablename__ = "audit_event"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    actor: str = Field(max_length=200)
    action: str = Field(max_length=50)
    entity: str = Field(max_length=50)
    entity_id: str = Field(max_length=100, index=True)
    data: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)


class Payment(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    document_id: int = Field(foreign_key="document.id", index=True)
    amount: Decimal = Field(sa_type=AMOUNT)
    currency: str = Field(max_length=3)
    received_at: datetime = Field(sa_type=UtcDateTime)
    method: str = Field(default="stripe", max_length=30)
    reference: str = Field(max_length=200, unique=True)
    #: The part the client withheld and paid to a third party instead (a detraccion deposit):
    #: it settles the document like money received. ``amount`` is what reached us.
    withheld: Decimal = Field(default=Decimal(0), sa_type=AMOUNT, sa_column_kwargs={"server_default": text("0")})


class Reconciliation(SQLModel, table=True):
    """A re-measurement of an issued period: when, against which data, what it found, and
    which note (if any) was proposed to settle it."""

    id: int | None = Field(default=None, primary_key=True)
    contract_id: int = Field(foreign_key="contract.id", index=True)
    period: str = Field(max_length=7)
    document_id: int = Field(foreign_key="document.id", index=True)
    reconciled_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    data_as_of: int | None = None
    result: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    proposed_document_id: int | None = Field(default=None, foreign_key="document.id")
