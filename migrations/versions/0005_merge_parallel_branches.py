"""Merge the two branches that grew from 0002 in parallel (rejected-row keys, and the
tightened document triggers); no schema change of its own.

Revision ID: 0005
Revises: 0003, 0004
"""

from collections.abc import Sequence

revision: str = "0005"
down_revision: str | tuple[str, ...] | None = ("0003", "0004")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
