"""A daily rollup of outcomes, kept by the importer, so KPIs are read from sums per day.

- ``interaction.local_day``: the contract's calendar day each contact started on. Rows stored
  before this revision have none; ``billing init`` fills them when it builds the rollups
  (``billing.measurement.rollup.ensure_all``), and until then their contracts are measured from
  the rows.
- ``outcome_basis``: per contract, the thresholds and repeat windows its rollup counts against.
- ``outcome_day``: additive sums per (contract, local day, channel, handled_by).

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import billing.storage.types

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COUNTS = [
    "offered",
    "abandoned",
    "answered_within_0",
    "answered_within_1",
    "answered_within_2",
    "answered_within_3",
    "abandoned_within_0",
    "abandoned_within_1",
    "abandoned_within_2",
    "abandoned_within_3",
    "resolved_plain",
    "resolved_escalated",
    "repeated_plain_0",
    "repeated_plain_1",
    "repeated_escalated_0",
    "repeated_escalated_1",
    "csat_n",
    "csat_good",
    "nps_n",
    "nps_promoters",
    "nps_detractors",
    "qa_n",
]


def upgrade() -> None:
    with op.batch_alter_table("interaction", schema=None) as batch_op:
        batch_op.add_column(sa.Column("local_day", sa.Integer(), nullable=True))
    op.create_table(
        "outcome_basis",
        sa.Column("contract_id", sa.Integer(), nullable=False),
        sa.Column("timezone", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        *(sa.Column(f"threshold_{k}", sa.Integer(), nullable=True) for k in range(4)),
        *(sa.Column(f"window_{k}", sa.Integer(), nullable=True) for k in range(2)),
        sa.ForeignKeyConstraint(["contract_id"], ["contract.id"]),
        sa.PrimaryKeyConstraint("contract_id"),
    )
    zero = sa.text("0")
    op.create_table(
        "outcome_day",
        sa.Column("contract_id", sa.Integer(), nullable=False),
        sa.Column("local_day", sa.Integer(), nullable=False),
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
        sa.Column("handled_by", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        *(sa.Column(name, sa.Integer(), server_default=zero, nullable=False) for name in COUNTS[:2]),
        sa.Column("answered_wait_sum", sa.BigInteger(), server_default=zero, nullable=False),
        sa.Column("handle_sum", sa.BigInteger(), server_default=zero, nullable=False),
        *(sa.Column(name, sa.Integer(), server_default=zero, nullable=False) for name in COUNTS[2:]),
        sa.Column("qa_sum", billing.storage.types.Exact(scale=2, precision=18), server_default=zero, nullable=False),
        sa.Column("newest_batch", sa.Integer(), server_default=zero, nullable=False),
        sa.ForeignKeyConstraint(["contract_id"], ["contract.id"]),
        sa.PrimaryKeyConstraint("contract_id", "local_day", "channel", "handled_by"),
    )


def downgrade() -> None:
    op.drop_table("outcome_day")
    op.drop_table("outcome_basis")
    with op.batch_alter_table("interaction", schema=None) as batch_op:
        batch_op.drop_column("local_day")
