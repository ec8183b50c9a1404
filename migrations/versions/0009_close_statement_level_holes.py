"""Close the holes left in the freeze of issued documents (0002, 0004) by statements that change
rows without the row triggers those installed, and protect the numbering and the audit trail.

Found by direct SQL on main:

- PostgreSQL: ``TRUNCATE document_line`` (or ``document``, ``payment``, ``series_counter``,
  ``audit_event``) fires no row trigger. A statement-level ``BEFORE TRUNCATE`` trigger now
  refuses it on each of these tables (``TRUNCATE contract CASCADE`` reaches them and is
  refused too).
- SQLite: a conflict resolved by ``REPLACE`` (``INSERT OR REPLACE``, ``REPLACE INTO``,
  ``UPDATE OR REPLACE``) deletes the row it collides with without firing DELETE triggers
  (unless ``recursive_triggers`` is on, which a ``sqlite3`` shell does not set). The triggers
  below refuse, before any conflict is resolved, an INSERT or a key-changing UPDATE whose key
  collides with an issued document, one of its lines, a payment, an audit event or a series
  counter; upserts (``ON CONFLICT DO UPDATE``) are refused the same way. They do not depend on
  a connection setting, so they hold in any client.
- SQLite with ``foreign_keys`` off (the ``sqlite3`` shell's default): deleting the contract,
  client or contract version an issued document refers to went through, leaving the document
  without its terms. Refused by triggers; PostgreSQL's foreign keys already refuse it.
- ``series_counter`` was unprotected: ``UPDATE series_counter SET last_number = 0`` broke the
  next issue. Now a counter is created at the highest number its series' documents hold, is
  never deleted, and moves only forward by exactly one, to a number an issued document
  already holds (``billing.invoicing.numbering`` gives the number to the document first, then
  advances the counter), so a counter cannot be moved to make a gap or a duplicate.
- Numbers are gapless and dates in order in the database itself: a document that leaves
  ``draft`` (or is inserted already issued) must hold the next number of its series and an
  issue date no earlier than the document numbered before it.
- ``audit_event`` and ``payment`` are append-only: no UPDATE, no DELETE.

Revision ID: 0009
Revises: 0008
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

IMMUTABLE = "issued document is immutable: correct it with a credit note"
LINES = "lines of an issued document are immutable"
COUNTER = "series counters move only forward by one, to a number an issued document holds, and are never deleted"
APPEND_ONLY = "{table} is append-only: rows are never changed or deleted"
NUMBERING = (
    "a document leaving draft takes the next number of its series, "
    "with an issue date no earlier than the document numbered before it"
)
REFERENCED = "{table} is referred to by an issued document and cannot be deleted or renumbered"
TRUNCATE_TABLES = ("document", "document_line", "payment", "series_counter", "audit_event")
APPEND_ONLY_TABLES = ("audit_event", "payment")
#: (parent table, referring column of ``document``) for the SQLite parent guards.
PARENTS = (("contract", "contract_id"), ("client", "client_id"), ("contract_version", "terms_version_id"))

# -- shared conditions (the same SQL on both engines) --------------------------------------

#: The numbering rule for a row NEW that holds a number: next in its series, dated in order.
OUT_OF_ORDER = (
    "NEW.number IS NULL OR NEW.number_text IS NULL OR NEW.issue_date IS NULL"
    " OR NEW.number <> COALESCE((SELECT MAX(d.number) FROM document d WHERE d.series = NEW.series), 0) + 1"
    " OR NEW.issue_date < (SELECT d.issue_date FROM document d"
    " WHERE d.series = NEW.series AND d.number = NEW.number - 1)"
)
#: A counter row NEW that does not agree with the documents of its series.
COUNTER_INSERT_REFUSED = (
    "EXISTS (SELECT 1 FROM series_counter c WHERE c.series = NEW.series)"
    " OR NEW.last_number <> COALESCE((SELECT MAX(d.number) FROM document d WHERE d.series = NEW.series), 0)"
)
COUNTER_UPDATE_REFUSED = (
    "NEW.series <> OLD.series OR NEW.last_number <> OLD.last_number + 1"
    " OR NOT EXISTS (SELECT 1 FROM document d WHERE d.series = NEW.series"
    " AND d.number = NEW.last_number AND d.status <> 'draft')"
)


def _sqlite_document_collides(exclude_self: str) -> str:
    """NEW's unique keys are held by another, non-draft document (each test uses an index)."""
    other = f"d.status <> 'draft'{exclude_self}"
    return (
        f"EXISTS (SELECT 1 FROM document d WHERE d.id = NEW.id AND {other})"
        f" OR EXISTS (SELECT 1 FROM document d WHERE d.number_text = NEW.number_text AND {other})"
        f" OR EXISTS (SELECT 1 FROM document d WHERE d.series = NEW.series AND d.number = NEW.number AND {other})"
        " OR (NEW.kind = 'invoice' AND NEW.status <> 'void' AND EXISTS (SELECT 1 FROM document d"
        " WHERE d.contract_id = NEW.contract_id AND d.period = NEW.period AND d.kind = 'invoice'"
        f" AND d.status <> 'void' AND {other}))"
    )


KEY_CHANGED = " OR ".join(
    f"NEW.{c} IS NOT OLD.{c}"
    for c in ("id", "number_text", "series", "number", "contract_id", "period", "kind", "status")
)
LEAVES_DRAFT = "(NEW.status IN ('issued', 'paid') OR (NEW.status = 'void' AND NEW.number IS NOT NULL))"


def _sqlite_trigger(name: str, when: str, table: str, condition: str, message: str) -> None:
    op.execute(f"CREATE TRIGGER {name} {when} ON {table} WHEN {condition} BEGIN SELECT RAISE(ABORT, '{message}'); END")


def _sqlite_upgrade() -> None:
    _sqlite_trigger("document_no_replace_insert", "BEFORE INSERT", "document", _sqlite_document_collides(""), IMMUTABLE)
    _sqlite_trigger(
        "document_no_replace_update",
        "BEFORE UPDATE",
        "document",
        f"({KEY_CHANGED}) AND ({_sqlite_document_collides(' AND d.id <> OLD.id')})",
        IMMUTABLE,
    )
    _sqlite_trigger(
        "document_numbered_insert", "BEFORE INSERT", "document", f"{LEAVES_DRAFT} AND ({OUT_OF_ORDER})", NUMBERING
    )
    _sqlite_trigger(
        "document_numbered_update",
        "BEFORE UPDATE",
        "document",
        f"OLD.status = 'draft' AND {LEAVES_DRAFT} AND ({OUT_OF_ORDER})",
        NUMBERING,
    )
    issued_line = (
        "EXISTS (SELECT 1 FROM document_line l JOIN document d ON d.id = l.document_id"
        " WHERE l.id = NEW.id AND d.status <> 'draft'{extra})"
    )
    _sqlite_trigger(
        "document_line_no_replace_insert", "BEFORE INSERT", "document_line", issued_line.format(extra=""), LINES
    )
    _sqlite_trigger(
        "document_line_no_replace_update",
        "BEFORE UPDATE OF id",
        "document_line",
        "NEW.id IS NOT OLD.id AND " + issued_line.format(extra=" AND l.id <> OLD.id"),
        LINES,
    )
    _sqlite_trigger("series_counter_insert", "BEFORE INSERT", "series_counter", COUNTER_INSERT_REFUSED, COUNTER)
    _sqlite_trigger("series_counter_update", "BEFORE UPDATE", "series_counter", COUNTER_UPDATE_REFUSED, COUNTER)
    _sqlite_trigger("series_counter_delete", "BEFORE DELETE", "series_counter", "1", COUNTER)
    for table in APPEND_ONLY_TABLES:
        message = APPEND_ONLY.format(table=table)
        _sqlite_trigger(f"{table}_append_only_update", "BEFORE UPDATE", table, "1", message)
        _sqlite_trigger(f"{table}_append_only_delete", "BEFORE DELETE", table, "1", message)
        collides = f"EXISTS (SELECT 1 FROM {table} t WHERE t.id = NEW.id)"
        if table == "payment":
            collides += " OR EXISTS (SELECT 1 FROM payment t WHERE t.reference = NEW.reference)"
        _sqlite_trigger(f"{table}_append_only_insert", "BEFORE INSERT", table, collides, message)
    for table, column in PARENTS:
        referred = f"EXISTS (SELECT 1 FROM document d WHERE d.{column} = OLD.id AND d.status <> 'draft')"
        message = REFERENCED.format(table=table)
        _sqlite_trigger(f"{table}_referred_delete", "BEFORE DELETE", table, referred, message)
        _sqlite_trigger(
            f"{table}_referred_update", "BEFORE UPDATE OF id", table, f"NEW.id IS NOT OLD.id AND {referred}", message
        )


def _pg_function(name: str, body: str) -> None:
    op.execute(f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n{body}\nEND $$")


def _pg_raise(message: str) -> str:
    return f"RAISE EXCEPTION '{message}' USING ERRCODE = 'integrity_constraint_violation';"


def _pg_upgrade() -> None:
    _pg_function(
        "refuse_truncate",
        "    RAISE EXCEPTION 'TRUNCATE % is refused: it holds issued documents, their numbering or their trail', "
        "TG_TABLE_NAME USING ERRCODE = 'integrity_constraint_violation';\n    RETURN NULL;",
    )
    for table in TRUNCATE_TABLES:
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION refuse_truncate()"
        )
    _pg_function(
        "document_numbered",
        f"""    IF (TG_OP = 'INSERT' OR OLD.status = 'draft') AND {LEAVES_DRAFT} AND ({OUT_OF_ORDER}) THEN
        {_pg_raise(NUMBERING)}
    END IF;
    RETURN NEW;""",
    )
    op.execute(
        "CREATE TRIGGER document_numbered BEFORE INSERT OR UPDATE ON document "
        "FOR EACH ROW EXECUTE FUNCTION document_numbered()"
    )
    _pg_function(
        "series_counter_guard",
        f"""    IF TG_OP = 'DELETE'
       OR (TG_OP = 'INSERT' AND ({COUNTER_INSERT_REFUSED}))
       OR (TG_OP = 'UPDATE' AND ({COUNTER_UPDATE_REFUSED})) THEN
        {_pg_raise(COUNTER)}
    END IF;
    RETURN NEW;""",
    )
    op.execute(
        "CREATE TRIGGER series_counter_guard BEFORE INSERT OR UPDATE OR DELETE ON series_counter "
        "FOR EACH ROW EXECUTE FUNCTION series_counter_guard()"
    )
    for table in APPEND_ONLY_TABLES:
        _pg_function(f"{table}_append_only", f"    {_pg_raise(APPEND_ONLY.format(table=table))}\n    RETURN NULL;")
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {table}_append_only()"
        )


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_upgrade()
    else:
        _pg_upgrade()


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        names = [
            "document_no_replace_insert",
            "document_no_replace_update",
            "document_numbered_insert",
            "document_numbered_update",
            "document_line_no_replace_insert",
            "document_line_no_replace_update",
            "series_counter_insert",
            "series_counter_update",
            "series_counter_delete",
        ]
        for table in APPEND_ONLY_TABLES:
            names += [f"{table}_append_only_{event}" for event in ("update", "delete", "insert")]
        for table, _ in PARENTS:
            names += [f"{table}_referred_delete", f"{table}_referred_update"]
        for name in names:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        return
    for table in APPEND_ONLY_TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        op.execute(f"DROP FUNCTION IF EXISTS {table}_append_only()")
    op.execute("DROP TRIGGER IF EXISTS series_counter_guard ON series_counter")
    op.execute("DROP FUNCTION IF EXISTS series_counter_guard()")
    op.execute("DROP TRIGGER IF EXISTS document_numbered ON document")
    op.execute("DROP FUNCTION IF EXISTS document_numbered()")
    for table in TRUNCATE_TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
    op.execute("DROP FUNCTION IF EXISTS refuse_truncate()")
