"""Close the holes tests found in the freeze of issued documents (0002).

0002 froze amounts, number, dates and lines, but an issued or void document could still
have its ``id`` or ``created_at`` rewritten, be given a ``void_reason`` without being voided,
have its ``void_reason`` or ``voided_at`` rewritten after the void, or have ``paid_at``
moved without being paid. Now:

- ``id`` and ``created_at`` are frozen like the amounts;
- ``voided_at`` and ``void_reason`` change only in the move issued -> void, which must set both;
- ``paid_at`` changes only in the move issued -> paid.

Only ``stripe_invoice_id`` stays free (the collection gateway records it after issue).

Revision ID: 0004
Revises: 0002
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0002"
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
]
FROZEN_NOW = ["id", "created_at"]
FROZEN_JSON = ["service_levels", "kpis"]
ALLOWED = (
    "(OLD.status = 'issued' AND NEW.status IN ('issued', 'paid', 'void')) OR "
    "(OLD.status = 'paid' AND NEW.status = 'paid') OR (OLD.status = 'void' AND NEW.status = 'void')"
)
VOIDING = "(OLD.status = 'issued' AND NEW.status = 'void')"
PAYING = "(OLD.status = 'issued' AND NEW.status = 'paid')"
MESSAGE = "issued document is immutable: correct it with a credit note"


def _lifecycle(differs: str) -> str:
    """The lifecycle columns move only with their transition."""
    return (
        f"(({differs.format(c='voided_at')} OR {differs.format(c='void_reason')}) AND NOT {VOIDING}) OR "
        f"({VOIDING} AND (NEW.voided_at IS NULL OR NEW.void_reason IS NULL)) OR "
        f"({differs.format(c='paid_at')} AND NOT {PAYING})"
    )


def _sqlite_guard(frozen: list[str], strict: bool) -> str:
    differs = "NEW.{c} IS NOT OLD.{c}"
    parts = [differs.format(c=c) for c in frozen + FROZEN_JSON]
    guard = f"({' OR '.join(parts)}) OR NOT ({ALLOWED})"
    return f"{guard} OR {_lifecycle(differs)}" if strict else guard


def _pg_guard(frozen: list[str], strict: bool) -> str:
    differs = "NEW.{c} IS DISTINCT FROM OLD.{c}"
    parts = [differs.format(c=c) for c in frozen]
    parts += [f"NEW.{c}::text IS DISTINCT FROM OLD.{c}::text" for c in FROZEN_JSON]
    guard = f"({' OR '.join(parts)}) OR NOT ({ALLOWED})"
    return f"{guard} OR {_lifecycle(differs)}" if strict else guard


def _install(strict: bool) -> None:
    frozen = FROZEN + FROZEN_NOW if strict else FROZEN
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS document_frozen_update")
        op.execute(f"""
            CREATE TRIGGER document_frozen_update BEFORE UPDATE ON document
            WHEN OLD.status <> 'draft' AND ({_sqlite_guard(frozen, strict)})
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
            IF OLD.status <> 'draft' AND ({_pg_guard(frozen, strict)}) THEN
                RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'integrity_constraint_violation';
            END IF;
            RETURN NEW;
        END $$""")


def upgrade() -> None:
    _install(strict=True)


def downgrade() -> None:
    _install(strict=False)
