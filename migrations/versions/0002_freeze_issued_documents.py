"""Freeze issued documents in the database itself.

Once a document leaves ``draft`` its amounts, number, dates, terms and lines can no longer
change or disappear, whatever the client: this code, a script, or a direct SQL UPDATE or
DELETE. Only the lifecycle columns may still move (issued -> paid or void, Stripe id).

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
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
FROZEN_JSON = ["service_levels", "kpis"]
# Allowed moves once issued: issued -> paid | void, paid -> void is refused (refund by credit note).
ALLOWED = (
    "(OLD.status = 'issued' AND NEW.status IN ('issued', 'paid', 'void')) OR "
    "(OLD.status = 'paid' AND NEW.status = 'paid') OR (OLD.status = 'void' AND NEW.status = 'void')"
)


def _sqlite_changed() -> str:
    parts = [f"NEW.{c} IS NOT OLD.{c}" for c in FROZEN + FROZEN_JSON]
    return " OR ".join(parts)


def _pg_changed() -> str:
    parts = [f"NEW.{c} IS DISTINCT FROM OLD.{c}" for c in FROZEN]
    parts += [f"NEW.{c}::text IS DISTINCT FROM OLD.{c}::text" for c in FROZEN_JSON]
    return " OR ".join(parts)


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"""
            CREATE TRIGGER document_frozen_update BEFORE UPDATE ON document
            WHEN OLD.status <> 'draft' AND (({_sqlite_changed()}) OR NOT ({ALLOWED}))
            BEGIN SELECT RAISE(ABORT, 'issued document is immutable: correct it with a credit note'); END""")
        op.execute("""
            CREATE TRIGGER document_frozen_delete BEFORE DELETE ON document
            WHEN OLD.status <> 'draft'
            BEGIN SELECT RAISE(ABORT, 'issued document is immutable: correct it with a credit note'); END""")
        for action, ref in (("INSERT", "NEW"), ("UPDATE", "OLD"), ("DELETE", "OLD")):
            op.execute(f"""
                CREATE TRIGGER document_line_frozen_{action.lower()} BEFORE {action} ON document_line
                WHEN (SELECT status FROM document WHERE id = {ref}.document_id) <> 'draft'
                BEGIN SELECT RAISE(ABORT, 'lines of an issued document are immutable'); END""")
        op.execute("""
            CREATE TRIGGER document_line_frozen_move BEFORE UPDATE OF document_id ON document_line
            WHEN (SELECT status FROM document WHERE id = NEW.document_id) <> 'draft'
            BEGIN SELECT RAISE(ABORT, 'lines of an issued document are immutable'); END""")
        return
    op.execute(f"""
        CREATE FUNCTION document_frozen() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'DELETE' THEN
                IF OLD.status <> 'draft' THEN
                    RAISE EXCEPTION 'issued document is immutable: correct it with a credit note'
                        USING ERRCODE = 'integrity_constraint_violation';
                END IF;
                RETURN OLD;
            END IF;
            IF OLD.status <> 'draft' AND (({_pg_changed()}) OR NOT ({ALLOWED})) THEN
                RAISE EXCEPTION 'issued document is immutable: correct it with a credit note'
                    USING ERRCODE = 'integrity_constraint_violation';
            END IF;
            RETURN NEW;
        END $$""")
    op.execute("""
        CREATE TRIGGER document_frozen BEFORE UPDATE OR DELETE ON document
        FOR EACH ROW EXECUTE FUNCTION document_frozen()""")
    op.execute("""
        CREATE FUNCTION document_line_frozen() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP IN ('UPDATE', 'DELETE') AND
               (SELECT status FROM document WHERE id = OLD.document_id) <> 'draft' THEN
                RAISE EXCEPTION 'lines of an issued document are immutable'
                    USING ERRCODE = 'integrity_constraint_violation';
            END IF;
            IF TG_OP IN ('INSERT', 'UPDATE') AND
               (SELECT status FROM document WHERE id = NEW.document_id) <> 'draft' THEN
                RAISE EXCEPTION 'lines of an issued document are immutable'
                    USING ERRCODE = 'integrity_constraint_violation';
            END IF;
            IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
            RETURN NEW;
        END $$""")
    op.execute("""
        CREATE TRIGGER document_line_frozen BEFORE INSERT OR UPDATE OR DELETE ON document_line
        FOR EACH ROW EXECUTE FUNCTION document_line_frozen()""")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in (
            "document_frozen_update",
            "document_frozen_delete",
            "document_line_frozen_insert",
            "document_line_frozen_update",
            "document_line_frozen_delete",
            "document_line_frozen_move",
        ):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        return
    op.execute("DROP TRIGGER IF EXISTS document_line_frozen ON document_line")
    op.execute("DROP FUNCTION IF EXISTS document_line_frozen()")
    op.execute("DROP TRIGGER IF EXISTS document_frozen ON document")
    op.execute("DROP FUNCTION IF EXISTS document_frozen()")
