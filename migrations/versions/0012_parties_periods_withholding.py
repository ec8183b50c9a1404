"""Month-end a finance team can trust: billing entities, the parties and withholding a document
was issued with, provisional drafts, and the withheld part of a payment.

- ``billing_entity``: the issuers (legal name, tax id, address, bank accounts, logo, footer).
- ``client`` gains its legal name, tax scheme, address and billing e-mail (from the contract).
- ``document`` gains ``provisional`` (a ``close --preview`` draft), ``issuer`` and ``buyer``
  (the parties as they were at issue), ``withholding`` and ``withholding_amount``.
- ``payment`` gains ``withheld`` (the part the client paid to a third party, such as Peru's
  detraccion deposit); rows stored before withheld nothing.

The freeze of issued documents (0002, 0004) lists the columns it protects, so it is installed
again with the new ones: ``provisional``, ``withholding_amount`` and the JSON ``issuer``,
``buyer`` and ``withholding`` may be set while the document is a draft and in the very UPDATE
that issues it (``OLD.status = 'draft'``), and never after. A provisional draft cannot leave
``draft`` for ``issued`` or ``paid``, nor be inserted already issued, whatever the client.

A contract version may be replaced before its first use (``billing contracts load --replace``)
but never once a numbered document (issued, paid, or void with its number) was rated under it:
its text, digest, date and contract are refused a change by a trigger on both engines.

Revision ID: 0012
Revises: 0011
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import billing.storage.types

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FROZEN = [
    "kind",
    "contract_id",
    "client_id",
    "period",
    "series",
    "number",
    "number_text",
    "currency",
    "subtotal",
    "tax",
    "total",
    "tax_name",
    "tax_rate",
    "rounding",
    "terms_version_id",
    "corrects_id",
    "reason",
    "issue_date",
    "due_date",
    "rated_at",
    "data_as_of",
    "issued_at",
    "id",
    "created_at",
]
FROZEN_JSON = ["service_levels", "kpis"]
#: What this migration adds to the freeze.
NEW_FROZEN = ["provisional", "withholding_amount"]
NEW_FROZEN_JSON = ["issuer", "buyer", "withholding"]
ALLOWED = (
    "(OLD.status = 'issued' AND NEW.status IN ('issued', 'paid', 'void')) OR "
    "(OLD.status = 'paid' AND NEW.status = 'paid') OR (OLD.status = 'void' AND NEW.status = 'void')"
)
VOIDING = "(OLD.status = 'issued' AND NEW.status = 'void')"
PAYING = "(OLD.status = 'issued' AND NEW.status = 'paid')"
MESSAGE = "issued document is immutable: correct it with a credit note"
PROVISIONAL = "a provisional draft (close --preview) cannot be issued: close the period when it is closable"
LEAVES_DRAFT = "NEW.status IN ('issued', 'paid')"
VERSION_USED = "a contract version that a numbered document uses is immutable: change it with an amendment"
VERSION_CHANGED = " OR ".join(
    f"NEW.{c} IS {{differs}} OLD.{c}"
    for c in ("source_text", "digest", "effective_from", "is_amendment", "contract_id")
)
VERSION_IN_USE = "EXISTS (SELECT 1 FROM document d WHERE d.terms_version_id = OLD.id AND d.number IS NOT NULL)"


def _lifecycle(differs: str) -> str:
    return (
        f"(({differs.format(c='voided_at')} OR {differs.format(c='void_reason')}) AND NOT {VOIDING}) OR "
        f"({VOIDING} AND (NEW.voided_at IS NULL OR NEW.void_reason IS NULL)) OR "
        f"({differs.format(c='paid_at')} AND NOT {PAYING})"
    )


def _guard(sqlite: bool, frozen: list[str], frozen_json: list[str]) -> str:
    differs = "NEW.{c} IS NOT OLD.{c}" if sqlite else "NEW.{c} IS DISTINCT FROM OLD.{c}"
    parts = [differs.format(c=c) for c in frozen]
    if sqlite:
        parts += [differs.format(c=c) for c in frozen_json]
    else:
        parts += [f"NEW.{c}::text IS DISTINCT FROM OLD.{c}::text" for c in frozen_json]
    return f"({' OR '.join(parts)}) OR NOT ({ALLOWED}) OR {_lifecycle(differs)}"


def _install_freeze(frozen: list[str], frozen_json: list[str]) -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS document_frozen_update")
        op.execute(f"""
            CREATE TRIGGER document_frozen_update BEFORE UPDATE ON document
            WHEN OLD.status <> 'draft' AND ({_guard(True, frozen, frozen_json)})
            BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END""")
        return
    op.execute(f"""
        CREATE OR REPLACE FUNCTION document_frozen() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'DELETE' THEN
                IF OLD.status <> 'draft' THEN
                    RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'integrity_constraint_violation';
                END IF;
                RETURN OLD;
            END IF;
            IF OLD.status <> 'draft' AND ({_guard(False, frozen, frozen_json)}) THEN
                RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'integrity_constraint_violation';
            END IF;
            RETURN NEW;
        END $$""")


def _columns() -> None:
    op.create_table(
        "billing_entity",
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("legal_name", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("trade_name", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
        sa.Column("tax_scheme", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
        sa.Column("tax_id", sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
        sa.Column("address", sa.JSON(), nullable=False),
        sa.Column("email", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
        sa.Column("phone", sqlmodel.sql.sqltypes.AutoString(length=50), nullable=True),
        sa.Column("bank_accounts", sa.JSON(), nullable=False),
        sa.Column("logo", sa.LargeBinary(), nullable=True),
        sa.Column("logo_type", sqlmodel.sql.sqltypes.AutoString(length=30), nullable=True),
        sa.Column("footer", sa.Text(), nullable=True),
        sa.Column("source_name", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("digest", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("loaded_at", billing.storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("code"),
    )
    # Plain ADD COLUMN (no batch mode): SQLite must not rebuild ``document`` or ``payment``,
    # which would drop the triggers that protect them.
    op.add_column("client", sa.Column("legal_name", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True))
    op.add_column("client", sa.Column("tax_scheme", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True))
    op.add_column("client", sa.Column("address", sa.JSON(), nullable=True))
    op.add_column("client", sa.Column("billing_email", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True))
    op.add_column("document", sa.Column("provisional", sa.Boolean(), server_default=sa.false(), nullable=False))
    op.add_column("document", sa.Column("issuer", sa.JSON(), nullable=True))
    op.add_column("document", sa.Column("buyer", sa.JSON(), nullable=True))
    op.add_column("document", sa.Column("withholding", sa.JSON(), nullable=True))
    op.add_column(
        "document",
        sa.Column("withholding_amount", billing.storage.types.Exact(scale=4, precision=24), nullable=True),
    )
    op.add_column(
        "payment",
        sa.Column("withheld", billing.storage.types.Exact(scale=4, precision=24), server_default="0", nullable=False),
    )


def _provisional_guard() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name, when, condition in (
            ("document_provisional_insert", "BEFORE INSERT", f"{LEAVES_DRAFT} AND NEW.provisional"),
            (
                "document_provisional_update",
                "BEFORE UPDATE",
                f"OLD.status = 'draft' AND {LEAVES_DRAFT} AND NEW.provisional",
            ),
        ):
            op.execute(
                f"CREATE TRIGGER {name} {when} ON document WHEN {condition} "
                f"BEGIN SELECT RAISE(ABORT, '{PROVISIONAL}'); END"
            )
        return
    op.execute(f"""
        CREATE FUNCTION document_provisional() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF (TG_OP = 'INSERT' OR OLD.status = 'draft') AND {LEAVES_DRAFT} AND NEW.provisional THEN
                RAISE EXCEPTION '{PROVISIONAL}' USING ERRCODE = 'integrity_constraint_violation';
            END IF;
            RETURN NEW;
        END $$""")
    op.execute(
        "CREATE TRIGGER document_provisional BEFORE INSERT OR UPDATE ON document "
        "FOR EACH ROW EXECUTE FUNCTION document_provisional()"
    )


def _version_guard() -> None:
    if op.get_bind().dialect.name == "sqlite":
        changed = VERSION_CHANGED.format(differs="NOT")
        op.execute(
            "CREATE TRIGGER contract_version_used_update BEFORE UPDATE ON contract_version "
            f"WHEN ({changed}) AND {VERSION_IN_USE} BEGIN SELECT RAISE(ABORT, '{VERSION_USED}'); END"
        )
        return
    changed = VERSION_CHANGED.format(differs="DISTINCT FROM")
    op.execute(f"""
        CREATE FUNCTION contract_version_used() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF ({changed}) AND {VERSION_IN_USE} THEN
                RAISE EXCEPTION '{VERSION_USED}' USING ERRCODE = 'integrity_constraint_violation';
            END IF;
            RETURN NEW;
        END $$""")
    op.execute(
        "CREATE TRIGGER contract_version_used BEFORE UPDATE ON contract_version "
        "FOR EACH ROW EXECUTE FUNCTION contract_version_used()"
    )


def upgrade() -> None:
    _columns()
    _install_freeze(FROZEN + NEW_FROZEN, FROZEN_JSON + NEW_FROZEN_JSON)
    _provisional_guard()
    _version_guard()


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS document_provisional_insert")
        op.execute("DROP TRIGGER IF EXISTS document_provisional_update")
        op.execute("DROP TRIGGER IF EXISTS contract_version_used_update")
    else:
        op.execute("DROP TRIGGER IF EXISTS document_provisional ON document")
        op.execute("DROP FUNCTION IF EXISTS document_provisional()")
        op.execute("DROP TRIGGER IF EXISTS contract_version_used ON contract_version")
        op.execute("DROP FUNCTION IF EXISTS contract_version_used()")
    _install_freeze(FROZEN, FROZEN_JSON)
    op.drop_column("payment", "withheld")
    for column in ("withholding_amount", "withholding", "buyer", "issuer", "provisional"):
        op.drop_column("document", column)
    for column in ("billing_email", "address", "tax_scheme", "legal_name"):
        op.drop_column("client", column)
    op.drop_table("billing_entity")
