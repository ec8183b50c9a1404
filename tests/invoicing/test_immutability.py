"""An issued document and its lines cannot change or disappear: not through the code, not
through direct SQL. The database triggers enforce it on SQLite and PostgreSQL alike."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from billing.invoicing.invoices import issue, void
from billing.storage.db import reading, transaction
from billing.storage.models import Document, DocumentLine
from tests.invoicing.invoice_helpers import draft, load_contract

ISSUE_DAY = date(2026, 11, 3)


@pytest.fixture
def issued(db: Engine, tmp_path: Path) -> int:
    load_contract(db, tmp_path)
    document_id = draft(db, "ACME-1", 120)
    issue(db, document_id, "finance", ISSUE_DAY)
    return document_id


def refused(db: Engine, sql: str, **params: object) -> None:
    with pytest.raises(DBAPIError, match="immutable"), db.begin() as conn:
        conn.execute(text(sql), params)


def snapshot(db: Engine, document_id: int) -> tuple[object, ...]:
    with db.connect() as conn:
        document = conn.execute(text("SELECT * FROM document WHERE id = :id"), {"id": document_id}).one()
        lines = conn.execute(
            text("SELECT * FROM document_line WHERE document_id = :id ORDER BY id"), {"id": document_id}
        ).all()
    return tuple(document), tuple(tuple(line) for line in lines)


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE document SET total = 1 WHERE id = :id",
        "UPDATE document SET number_text = 'F001-99999999', number = 99999999 WHERE id = :id",
        "UPDATE document SET issue_date = NULL WHERE id = :id",
        "UPDATE document SET status = 'draft' WHERE id = :id",
        "UPDATE document SET kpis = '{}' WHERE id = :id",
        "UPDATE document SET id = 424242 WHERE id = :id",
        "UPDATE document SET void_reason = 'sneaky' WHERE id = :id",
        "DELETE FROM document WHERE id = :id",
        "UPDATE document_line SET amount = 0 WHERE document_id = :id",
        "UPDATE document_line SET description = 'edited' WHERE document_id = :id",
        "DELETE FROM document_line WHERE document_id = :id",
        "INSERT INTO document_line (document_id, position, charge, type, description, quantity, amount, details)"
        " VALUES (:id, 9, 'extra', 'fixed', 'extra', 1, 1, '{}')",
    ],
)
def test_direct_sql_cannot_touch_an_issued_invoice(db: Engine, issued: int, sql: str) -> None:
    before = snapshot(db, issued)
    refused(db, sql, id=issued)
    assert snapshot(db, issued) == before


def test_a_line_cannot_be_moved_into_an_issued_invoice(db: Engine, issued: int, tmp_path: Path) -> None:
    load_contract(db, tmp_path, "ACME-2")
    other = draft(db, "ACME-2", 5)
    refused(db, "UPDATE document_line SET document_id = :id WHERE document_id = :other", id=issued, other=other)


def test_the_code_cannot_change_or_delete_an_issued_invoice(db: Engine, issued: int) -> None:
    with pytest.raises(DBAPIError, match="immutable"), transaction(db) as session:
        document = session.get(Document, issued)
        assert document is not None
        document.total = Decimal(0)
        session.add(document)
    with pytest.raises(DBAPIError, match="immutable"), transaction(db) as session:
        line = session.get(DocumentLine, 1)
        assert line is not None
        session.delete(line)
    with reading(db) as session:
        document = session.get(Document, issued)
        assert document is not None and document.total == Decimal("1534")


def test_a_void_invoice_stays_void_with_its_reason(db: Engine, issued: int) -> None:
    void(db, issued, "duplicate", "finance")
    before = snapshot(db, issued)

    for sql in (
        "UPDATE document SET status = 'issued', voided_at = NULL WHERE id = :id",
        "UPDATE document SET void_reason = 'something else' WHERE id = :id",
        "UPDATE document SET voided_at = NULL WHERE id = :id",
        "DELETE FROM document WHERE id = :id",
        "DELETE FROM document_line WHERE document_id = :id",
    ):
        refused(db, sql, id=issued)
    assert snapshot(db, issued) == before


def test_only_the_lifecycle_moves_on_an_issued_invoice(db: Engine, issued: int) -> None:
    with db.begin() as conn:
        conn.execute(
            text("UPDATE document SET status = 'paid', paid_at = :at WHERE id = :id"),
            {"at": datetime(2026, 11, 20, tzinfo=UTC), "id": issued},
        )
    refused(db, "UPDATE document SET status = 'void' WHERE id = :id", id=issued)
    refused(db, "UPDATE document SET status = 'issued', paid_at = NULL WHERE id = :id", id=issued)


def test_a_draft_stays_editable(db: Engine, tmp_path: Path) -> None:
    load_contract(db, tmp_path)
    document_id = draft(db, "ACME-1", 1)
    with db.begin() as conn:
        edited = conn.execute(
            text("UPDATE document_line SET description = 'x' WHERE document_id = :id"), {"id": document_id}
        )
        assert edited.rowcount >= 1
        conn.execute(text("DELETE FROM document_line WHERE document_id = :id"), {"id": document_id})
        conn.execute(text("DELETE FROM document WHERE id = :id"), {"id": document_id})
    with db.connect() as conn:
        left = conn.execute(text("SELECT COUNT(*) FROM document WHERE id = :id"), {"id": document_id}).scalar_one()
    assert left == 0
