"""The stored schema (SQLModel tables). It changes only through Alembic migrations.

Amounts are ``Exact`` (Decimal on both engines), instants of interactions are ``Epoch``
seconds, every other timestamp is aware UTC. Issued documents are protected by database
triggers (see the migrations), not only by this code.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, ForeignKey, Index, Integer, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from billing.storage.types import Epoch, Exact, UtcDateTime

AMOUNT = Exact(scale=4, precision=24)
QUANTITY = Exact(scale=6, precision=26)


def utcnow() -> datetime:
    return datetime.now(UTC)


# -- contracts -----------------------------------------------------------------------


class Client(SQLModel, table=True):
    """The outsourcing buyer. Its id comes from the contract file (``client.id``)."""

    id: str = Field(primary_key=True, max_length=100)
    name: str = Field(max_length=300)
    locale: str = Field(default="en_US", max_length=20)
    tax_id: str | None = Field(default=None, max_length=50)
    email: str | None = Field(default=None, max_length=300)
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


# -- outcomes ------------------------------------------------------------------------


class ImportBatch(SQLModel, table=True):
    """One run of an import command: what came in, when, and with what result. Interactions
    keep their batch, so a period can be re-measured as of any earlier moment."""

    __tablename__ = "import_batch"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=30)
    source: str = Field(max_length=500)
    started_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    imported: int = 0
    duplicates: int = 0
    rejected: int = 0


class Interaction(SQLModel, table=True):
    """One contact. ``next_contact_at`` is the start of the same customer's next contact on
    the same contract, maintained by the importer in SQL; the repeat-contact rule compares
    it with the contract's window at measurement time. ``local_day`` is the contract's
    calendar day the contact started on (days since 1970-01-01 in its time zone, by the rule
    of ``billing.core.periods.LocalCalendar``): the key of its daily rollup (``OutcomeDay``)."""

    __table_args__ = (
        UniqueConstraint("contract_id", "interaction_id", name="uq_interaction_external_id"),
        Index("ix_interaction_contract_started", "contract_id", "started_at"),
        Index("ix_interaction_customer", "contract_id", "customer_id", "started_at", "id"),
    )

    id: int | None = Field(
        default=None,
        sa_column=Column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    )
    contract_id: int = Field(foreign_key="contract.id")
    interaction_id: str = Field(max_length=100)
    channel: str = Field(max_length=30)
    started_at: datetime = Field(sa_type=Epoch)
    wait_seconds: int
    abandoned: bool
    handle_seconds: int | None = None
    handled_by: str = Field(default="human", max_length=10)
    customer_id: str | None = Field(default=None, max_length=100)
    resolved: bool = False
    escalated: bool = False
    csat: int | None = None
    nps: int | None = None
    qa_score: Decimal | None = Field(default=None, sa_type=Exact(scale=2, precision=7))
    next_contact_at: datetime | None = Field(default=None, sa_type=Epoch)
    batch_id: int = Field(foreign_key="import_batch.id")
    local_day: int | None = None


#: Foreign keys that PostgreSQL enforces with set-based triggers rather than constraints
#: (migration 0007: one check per bulk statement instead of a locking lookup per row);
#: SQLite enforces them natively. (table, column).
SET_CHECKED_FOREIGN_KEYS = frozenset({("interaction", "contract_id"), ("interaction", "batch_id")})

#: Slots of a daily rollup: service-level thresholds and repeat windows it counts against.
THRESHOLD_SLOTS = 4
WINDOW_SLOTS = 2


class OutcomeBasis(SQLModel, table=True):
    """What one contract's daily rollup counts against: the waits (seconds) it counts answers
    and abandons within, and the repeat windows (days) it counts repeated resolutions for,
    taken from every version of the contract's terms. A basis that changes rebuilds the
    contract's rollup from its interactions (``billing.measurement.rollup``). A slot is NULL when
    unused."""

    __tablename__ = "outcome_basis"

    contract_id: int = Field(foreign_key="contract.id", primary_key=True)
    timezone: str = Field(max_length=64)
    threshold_0: int | None = None
    threshold_1: int | None = None
    threshold_2: int | None = None
    threshold_3: int | None = None
    window_0: int | None = None
    window_1: int | None = None


def _count() -> Any:
    return Field(default=0, sa_column_kwargs={"server_default": text("0")})


def _sum() -> Any:
    return Field(default=0, sa_type=BigInteger, sa_column_kwargs={"server_default": text("0")})


class OutcomeDay(SQLModel, table=True):
    """The additive sums of one contract's interactions of one local day, channel and handler,
    kept by every import in the same transaction as the rows (``billing.measurement.rollup``), so a
    period's KPIs are a sum over its days instead of a pass over its interactions.

    ``answered_within_k`` / ``abandoned_within_k`` count waits within the basis's
    ``threshold_k``. ``resolved_plain`` / ``resolved_escalated`` count answered contacts marked
    resolved, not escalated / escalated; ``repeated_*_k`` count those of them whose customer
    came back within ``window_k`` days (the repeat-contact rule), which changes as later
    contacts arrive."""

    __tablename__ = "outcome_day"

    contract_id: int = Field(foreign_key="contract.id", primary_key=True)
    local_day: int = Field(primary_key=True)
    channel: str = Field(max_length=30, primary_key=True)
    handled_by: str = Field(max_length=10, primary_key=True)
    offered: int = _count()
    abandoned: int = _count()
    answered_wait_sum: int = _sum()
    handle_sum: int = _sum()
    answered_within_0: int = _count()
    answered_within_1: int = _count()
    answered_within_2: int = _count()
    answered_within_3: int = _count()
    abandoned_within_0: int = _count()
    abandoned_within_1: int = _count()
    abandoned_within_2: int = _count()
    abandoned_within_3: int = _count()
    resolved_plain: int = _count()
    resolved_escalated: int = _count()
    repeated_plain_0: int = _count()
    repeated_plain_1: int = _count()
    repeated_escalated_0: int = _count()
    repeated_escalated_1: int = _count()
    csat_n: int = _count()
    csat_good: int = _count()
    nps_n: int = _count()
    nps_promoters: int = _count()
    nps_detractors: int = _count()
    qa_n: int = _count()
    qa_sum: Decimal = Field(
        default=Decimal(0), sa_type=Exact(scale=2, precision=18), sa_column_kwargs={"server_default": text("0")}
    )
    newest_batch: int = _count()


class WorkforceEntry(SQLModel, table=True):
    __tablename__ = "workforce_entry"
    __table_args__ = (UniqueConstraint("contract_id", "work_date", "agent_id", name="uq_workforce_day"),)

    id: int | None = Field(default=None, primary_key=True)
    contract_id: int = Field(foreign_key="contract.id")
    work_date: date
    agent_id: str = Field(max_length=100)
    productive_hours: Decimal = Field(sa_type=Exact(scale=4, precision=12))
    batch_id: int = Field(foreign_key="import_batch.id")


class RejectedRow(SQLModel, table=True):
    """A row an import could not take, kept verbatim with every reason, for a later retry."""

    __tablename__ = "rejected_row"
    __table_args__ = (Index("ix_rejected_row_key", "kind", "row_key"),)

    id: int | None = Field(default=None, primary_key=True)
    batch_id: int = Field(foreign_key="import_batch.id", index=True)
    kind: str = Field(max_length=30)
    source: str = Field(max_length=500)
    row_number: int
    #: The row's natural key when it could be read (e.g. ``GOLD-1/i7`` for an interaction), so
    #: a later import of the same row marks this one resolved, and a newer rejection supersedes it.
    row_key: str | None = Field(default=None, max_length=300)
    header: str | None = Field(default=None, sa_type=Text)
    raw: str = Field(sa_type=Text)
    errors: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    status: str = Field(default="open", max_length=20)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    resolved_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class ClientKpi(SQLModel, table=True):
    """A KPI figure as the client measured it, for reconciliation against ours."""

    __tablename__ = "client_kpi"
    __table_args__ = (UniqueConstraint("contract_id", "period", "metric", name="uq_client_kpi"),)

    id: int | None = Field(default=None, primary_key=True)
    contract_id: int = Field(foreign_key="contract.id")
    period: str = Field(max_length=7)
    metric: str = Field(max_length=40)
    value: Decimal = Field(sa_type=Exact(scale=4, precision=18))
    batch_id: int = Field(foreign_key="import_batch.id")


# -- documents: invoices, credit and debit notes -------------------------------------------


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


# -- collection and access ------------------------------------------------------------------


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


__all__ = [
    "ApiToken",
    "AuditEvent",
    "Client",
    "ClientKpi",
    "Contract",
    "ContractVersion",
    "Document",
    "DocumentLine",
    "IdempotencyRecord",
    "ImportBatch",
    "Interaction",
    "Payment",
    "Reconciliation",
    "RejectedRow",
    "SeriesCounter",
    "StripeEvent",
    "StripeOutbox",
    "WorkforceEntry",
    "utcnow",
]
