"""Rejected rows say how their raw row is stored.

A row whose bytes are not UTF-8, or hold a NUL (which PostgreSQL's text cannot store), is kept
with those bytes escaped (``raw_format = 'escaped'``); a row longer than an import reads keeps
only its start (``'prefix'``). NULL, as every row kept before, is the row's text as read.

Revision ID: 0011
Revises: 0010
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("rejected_row", schema=None) as batch_op:
        batch_op.add_column(sa.Column("raw_format", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("rejected_row", schema=None) as batch_op:
        batch_op.drop_column("raw_format")
