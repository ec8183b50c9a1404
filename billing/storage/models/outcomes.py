"""Import batches, interactions, the daily rollup, workforce hours, rejected rows and the
client's own KPI figures (owned by ``billing.measurement``)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, Integer, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from billing.storage.models.common import utcnow
from billing.storage.types import Epoch, Exact, UtcDateTime


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
    #: The row as read. ``raw_format`` says how: NULL, its text; ``escaped``, its bytes (not
    #: UTF-8, or holding a NUL) with ``\\`` doubled and each such byte as ``\\xNN``;
    #: ``prefix``, only the first bytes, so escaped, of a row longer than an import reads.
    raw: str = Field(sa_type=Text)
    raw_format: str | None = Field(default=None, max_length=10)
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
