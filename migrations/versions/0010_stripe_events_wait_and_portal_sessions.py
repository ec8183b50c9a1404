"""Stripe events that wait for their invoice, and portal sessions.

- ``stripe_event`` gains ``status`` (``processed``, or ``waiting`` for an event about a Stripe
  invoice the outbox has not recorded yet), the ``stripe_invoice_id`` it is about and the
  ``data`` applying it needs. Events stored before are ``processed``.
- ``portal_session``: a signed-in portal browser; the cookie's secret is stored only as its
  SHA-256 digest, with the API token it acts as.

Revision ID: 0010
Revises: 0009
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import billing.storage.types

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("stripe_event", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=20), server_default="processed", nullable=False)
        )
        batch_op.add_column(sa.Column("stripe_invoice_id", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True))
        batch_op.add_column(sa.Column("data", sa.JSON(), nullable=True))
        batch_op.create_index(batch_op.f("ix_stripe_event_stripe_invoice_id"), ["stripe_invoice_id"], unique=False)
    op.create_table(
        "portal_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("secret_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("token_id", sa.Integer(), nullable=False),
        sa.Column("created_at", billing.storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", billing.storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["token_id"], ["api_token.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("secret_hash"),
    )
    with op.batch_alter_table("portal_session", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_portal_session_token_id"), ["token_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("portal_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_portal_session_token_id"))
    op.drop_table("portal_session")
    with op.batch_alter_table("stripe_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stripe_event_stripe_invoice_id"))
        batch_op.drop_column("data")
        batch_op.drop_column("stripe_invoice_id")
        batch_op.drop_column("status")
