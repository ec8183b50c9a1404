"""Customer ids pseudonymised; erasure requests and retention recorded (docs/privacy.md).

Creates ``pseudonym_key`` (the public ids of the keys customer ids were pseudonymised with),
``erasure_request`` and ``retention_purge``. Every stored customer id is replaced by its
pseudonym under the deployment's key (``billing.measurement.pseudonyms``), and every kept
rejected interaction row is stored without the customer id it held: pseudonymised where its
fields can be read, sealed otherwise (``billing.measurement.ingest.private``). A database with
customer ids to pseudonymise needs the key: ``billing init`` creates the key file first.

Revision ID: 0013
Revises: 0012
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
import sqlmodel
from alembic import op

import billing.storage.types

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "pseudonym_key",
        sa.Column("key_id", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("first_used_at", billing.storage.types.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key_id"),
    )
    op.create_table(
        "erasure_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contract_id", sa.Integer(), nullable=False),
        sa.Column("requested_at", billing.storage.types.UtcDateTime(), nullable=False),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("reference", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("interactions_unlinked", sa.Integer(), nullable=False),
        sa.Column("rejected_rows_unlinked", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["contract_id"], ["contract.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("erasure_request", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_erasure_request_contract_id"), ["contract_id"], unique=False)
    op.create_table(
        "retention_purge",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contract_id", sa.Integer(), nullable=False),
        sa.Column("period", sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
        sa.Column("applied_at", billing.storage.types.UtcDateTime(), nullable=False),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("interactions_deleted", sa.Integer(), nullable=False),
        sa.Column("timezone", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("thresholds", sa.JSON(), nullable=False),
        sa.Column("windows", sa.JSON(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["contract_id"], ["contract.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("contract_id", "period", name="uq_retention_purge"),
    )
    with op.batch_alter_table("retention_purge", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_retention_purge_contract_id"), ["contract_id"], unique=False)
    _pseudonymise(op.get_bind())


def _pseudonymise(connection: sa.Connection) -> None:
    """Every stored customer id and kept rejected interaction row, under the deployment's key."""
    has_customers = connection.execute(sa.text("SELECT 1 FROM interaction WHERE customer_id IS NOT NULL LIMIT 1"))
    has_rejects = connection.execute(sa.text("SELECT 1 FROM rejected_row WHERE kind = 'interactions' LIMIT 1"))
    if has_customers.first() is None and has_rejects.first() is None:
        return
    from billing.measurement.ingest.private import private_stored
    from billing.measurement.pseudonyms import load_key

    pseudonymizer = load_key(connection.engine.url.render_as_string(hide_password=False))
    keys = sa.table(
        "pseudonym_key", sa.column("key_id"), sa.column("first_used_at", billing.storage.types.UtcDateTime())
    )
    connection.execute(sa.insert(keys).values(key_id=pseudonymizer.key_id, first_used_at=datetime.now(UTC)))
    pairs = connection.execute(
        sa.text(
            "SELECT DISTINCT i.contract_id, c.code, i.customer_id FROM interaction i "
            "JOIN contract c ON c.id = i.contract_id WHERE i.customer_id IS NOT NULL"
        )
    ).all()
    changes = [
        {"contract_id": cid, "old": customer, "new": pseudonymizer.of(code, customer)}
        for cid, code, customer in pairs
        if not pseudonymizer.is_own(customer)
    ]
    update = sa.text(
        "UPDATE interaction SET customer_id = :new WHERE contract_id = :contract_id AND customer_id = :old"
    )
    for start in range(0, len(changes), 5000):
        connection.execute(update, changes[start : start + 5000])
    rejected = sa.table(
        "rejected_row",
        sa.column("id", sa.Integer()),
        sa.column("kind"),
        sa.column("raw"),
        sa.column("raw_format"),
        sa.column("header"),
        sa.column("errors", sa.JSON()),
    )
    kept = connection.execute(
        sa.select(rejected.c.id, rejected.c.raw, rejected.c.raw_format, rejected.c.header, rejected.c.errors).where(
            rejected.c.kind == "interactions"
        )
    ).all()
    for row_id, raw, raw_format, header, errors in kept:
        new_raw, new_format = private_stored(raw, raw_format, header, pseudonymizer)
        new_errors = [_hidden(error) for error in errors or []]
        if (new_raw, new_format, new_errors) != (raw, raw_format, errors or []):
            connection.execute(
                sa.update(rejected)
                .where(rejected.c.id == row_id)
                .values(raw=new_raw, raw_format=new_format, errors=new_errors)
            )


def _hidden(error: dict) -> dict:  # type: ignore[type-arg]
    """A kept problem of a customer id no longer shows the value (messages used to quote it)."""
    if error.get("field") != "customer_id" or error.get("code") != "bad_characters":
        return error
    return {**error, "message": "a customer id is made of printable characters; this one was not (not shown)"}


def downgrade() -> None:
    # Pseudonyms cannot be turned back into the customer ids they were made from.
    op.drop_table("retention_purge")
    op.drop_table("erasure_request")
    op.drop_table("pseudonym_key")
