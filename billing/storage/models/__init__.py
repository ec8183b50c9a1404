"""The stored schema (SQLModel tables). It changes only through Alembic migrations.

Amounts are ``Exact`` (Decimal on both engines), instants of interactions are ``Epoch``
seconds, every other timestamp is aware UTC. Issued documents are protected by database
triggers (see the migrations), not only by this code.
"""

from __future__ import annotations

from billing.storage.models.access import ApiToken, IdempotencyRecord, PortalSession, StripeEvent, StripeOutbox
from billing.storage.models.common import AMOUNT, QUANTITY, utcnow
from billing.storage.models.contracts import BillingEntity, Client, Contract, ContractVersion
from billing.storage.models.documents import AuditEvent, Document, DocumentLine, Payment, Reconciliation, SeriesCounter
from billing.storage.models.outcomes import (
    SET_CHECKED_FOREIGN_KEYS,
    THRESHOLD_SLOTS,
    WINDOW_SLOTS,
    ClientKpi,
    ImportBatch,
    Interaction,
    OutcomeBasis,
    OutcomeDay,
    RejectedRow,
    WorkforceEntry,
)
from billing.storage.models.privacy import ErasureRequest, PseudonymKey, RetentionPurge

__all__ = [
    "AMOUNT",
    "QUANTITY",
    "SET_CHECKED_FOREIGN_KEYS",
    "THRESHOLD_SLOTS",
    "WINDOW_SLOTS",
    "ApiToken",
    "AuditEvent",
    "BillingEntity",
    "Client",
    "ClientKpi",
    "Contract",
    "ContractVersion",
    "Document",
    "DocumentLine",
    "ErasureRequest",
    "IdempotencyRecord",
    "ImportBatch",
    "Interaction",
    "OutcomeBasis",
    "OutcomeDay",
    "Payment",
    "PortalSession",
    "PseudonymKey",
    "Reconciliation",
    "RejectedRow",
    "RetentionPurge",
    "SeriesCounter",
    "StripeEvent",
    "StripeOutbox",
    "WorkforceEntry",
    "utcnow",
]
