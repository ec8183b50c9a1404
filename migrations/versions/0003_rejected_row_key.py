"""Rejected rows remember their natural key.

A row rejected by an import and imported later (after a fix) is marked resolved; a newer
rejection of the same row supersedes the older one. Both need the key the row would have had.

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("rejected_row", schema=None) as batch_op:
        batch_op.add_column(sa.Column("row_key", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True))
        batch_op.create_index("ix_rejected_row_key", ["kind", "row_key"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("rejected_row", schema=None) as batch_op:
        batch_op.drop_index("ix_rejected_row_key")
        batch_op.drop_column("row_key")
