"""The statements that changed an issued document without firing the row triggers of 0002/0004,
and the tables beside the documents (numbering, audit trail, payments): every one is refused by
the database (migration 0009) and leaves every row as it was.

On SQLite each statement runs through a plain ``sqlite3`` connection, as a shell would: no
``foreign_keys``, no ``recursive_triggers``, none of the engine's settings. On PostgreSQL it runs
through the engine."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from billing.invoicing.invoices import issue, void
from billing.invoicing.notes import create_credit_note
from billing.invoicing.payments import record_payment
from tests.invoicing.invoice_helpers import draft, load_contract

ISSUE_DAY = date(2026, 11, 3)
TABLES = ("document", "document_line", "series_counter", "audit_event", "payment", "contract", "contract_version")
#: Document columns a copied row needs (the rest keep their defaults or stay NULL).
COPIED = "kind, contract_id, client_id, period, series, currency, tax_rate, rounding, rated_at, service_levels, kpis"


class World:
    def __init__(self, engine: Engine, url: str, issued: int, other_draft: int) -> None:
        self.engine, self.url, self.issued, self.other_draft = engine, url, issued, other_draft

    def execute(self, sql: str) -> None:
        """Run one statement as a user with direct access would (see the module docstring)."""
        params = {"id": self.issued, "draft": self.other_draft}
        if self.url.startswith("sqlite"):
            connection = sqlite3.connect(self.url.removeprefix("sqlite:///"), isolation_level=None)
            try:
                connection.execute(sql, params)
            finally:
                connection.close()
            return
        with self.engine.begin() as conn:
            conn.execute(text(sql), params)

    def snapshot(self) -> dict[str, list[tuple[Any, ...]]]:
        with self.engine.connect() as conn:
            return {
                table: [tuple(row) for row in conn.execute(text(f"SELECT * FROM {table} ORDER BY 1"))]
                for table in TABLES
            }


@pytest.fixture
def world(db: Engine, db_url: str, tmp_path: Path) -> Iterator[World]:
    """An issued invoice F001-00000001 with a payment, an issued credit note FC01-00000001 and a
    draft of another contract for the same period."""
    load_contract(db, tmp_path, "ACME-1")
    load_contract(db, tmp_path, "ACME-2")
    issued = draft(db, "ACME-1", 120)
    issue(db, issued, "finance", ISSUE_DAY)
    note = create_credit_note(db, issued, "finance", "late answers", amount=Decimal("10.00"))
    assert note.id is not None
    issue(db, note.id, "finance", ISSUE_DAY)
    record_payment(db, issued, Decimal("100.00"), datetime(2026, 11, 20, tzinfo=UTC), "BANK-1", "transfer", "finance")
    yield World(db, db_url, issued, draft(db, "ACME-2", 5))


def assert_refused(world: World, sql: str) -> None:
    before = world.snapshot()
    with pytest.raises((DBAPIError, sqlite3.DatabaseError)):
        world.execute(sql)
    assert world.snapshot() == before


EITHER_ENGINE = [
    # the numbering: forward by one only, to a number an issued document holds; never deleted
    "UPDATE series_counter SET last_number = 0",
    "UPDATE series_counter SET last_number = last_number + 1 WHERE series = 'F001'",
    "UPDATE series_counter SET last_number = 7 WHERE series = 'F001'",
    "UPDATE series_counter SET series = 'F999' WHERE series = 'F001'",
    "DELETE FROM series_counter",
    "INSERT INTO series_counter (series, last_number) VALUES ('F001', 0)",
    "INSERT INTO series_counter (series, last_number) VALUES ('F777', 5)",
    "INSERT INTO series_counter (series, last_number) VALUES ('F001', 0)"
    " ON CONFLICT (series) DO UPDATE SET last_number = 0",
    "INSERT INTO series_counter (series, last_number) VALUES ('F001', 0) ON CONFLICT DO NOTHING",
    # the audit trail is append-only
    "UPDATE audit_event SET actor = 'mallory'",
    "DELETE FROM audit_event",
    "INSERT INTO audit_event (id, at, actor, action, entity, entity_id, data)"
    " SELECT id, at, 'mallory', action, entity, entity_id, data FROM audit_event WHERE true"
    " ON CONFLICT (id) DO UPDATE SET actor = 'mallory'",
    # payments are append-only
    "UPDATE payment SET amount = 1",
    "DELETE FROM payment",
    "INSERT INTO payment (id, document_id, amount, currency, received_at, method, reference)"
    " SELECT id, document_id, 1, currency, received_at, method, reference FROM payment WHERE true"
    " ON CONFLICT (id) DO UPDATE SET amount = 1",
    # an upsert on an issued document or line
    f"INSERT INTO document (id, status, subtotal, tax, total, created_at, {COPIED})"
    f" SELECT id, 'draft', 0, 0, 0, created_at, {COPIED} FROM document WHERE id = :id"
    " ON CONFLICT (id) DO UPDATE SET total = 0",
    "INSERT INTO document_line (id, document_id, position, charge, type, description, quantity, amount, details)"
    " SELECT id, document_id, position, charge, type, description, quantity, 0, details FROM document_line"
    " WHERE document_id = :id ON CONFLICT (id) DO UPDATE SET amount = 0",
    # what an issued document refers to
    "DELETE FROM contract_version WHERE contract_id = (SELECT contract_id FROM document WHERE id = :id)",
    "DELETE FROM contract WHERE id = (SELECT contract_id FROM document WHERE id = :id)",
    "DELETE FROM client WHERE id = (SELECT client_id FROM document WHERE id = :id)",
    "UPDATE contract SET id = 999 WHERE id = (SELECT contract_id FROM document WHERE id = :id)",
    # issuing by hand out of order: a gap, a number taken twice, a date before the one before
    "UPDATE document SET status = 'issued', number = 3, number_text = 'F001-00000003', issue_date = '2026-11-30'"
    " WHERE id = :draft",
    "UPDATE document SET status = 'issued', number = 2, number_text = 'F001-00000002', issue_date = '2026-11-01'"
    " WHERE id = :draft",
    "UPDATE document SET status = 'issued', number = 2, number_text = 'F001-00000002' WHERE id = :draft",
]

SQLITE_ONLY = [
    # a REPLACE deletes the row it collides with, without DELETE triggers
    f"REPLACE INTO document (id, status, subtotal, tax, total, created_at, {COPIED})"
    f" SELECT id, 'draft', 0, 0, 0, created_at, {COPIED} FROM document WHERE id = :id",
    f"INSERT OR REPLACE INTO document (status, subtotal, tax, total, created_at, {COPIED})"
    f" SELECT 'draft', 0, 0, 0, created_at, {COPIED} FROM document WHERE id = :id",  # same contract and period
    "UPDATE OR REPLACE document SET number_text = (SELECT number_text FROM document WHERE id = :id) WHERE id = :draft",
    "UPDATE OR REPLACE document SET series = 'F001', number = 1 WHERE id = :draft",
    "UPDATE OR REPLACE document SET id = :id WHERE id = :draft",
    "UPDATE OR REPLACE document SET contract_id = (SELECT contract_id FROM document WHERE id = :id) WHERE id = :draft",
    "INSERT OR REPLACE INTO document_line (id, document_id, position, charge, type, description, quantity, amount,"
    " details) SELECT id, :draft, position, charge, type, description, quantity, 0, details FROM document_line"
    " WHERE document_id = :id",
    "UPDATE OR REPLACE document_line SET id = (SELECT MIN(id) FROM document_line WHERE document_id = :id)"
    " WHERE document_id = :draft",
    "INSERT OR REPLACE INTO series_counter (series, last_number) VALUES ('F001', 0)",
    "REPLACE INTO series_counter (series, last_number) VALUES ('FC01', 0)",
    "UPDATE OR REPLACE series_counter SET series = 'F001' WHERE series = 'FC01'",
    "INSERT OR REPLACE INTO audit_event (id, at, actor, action, entity, entity_id, data)"
    " SELECT id, at, 'mallory', action, entity, entity_id, data FROM audit_event",
    "INSERT OR REPLACE INTO payment (document_id, amount, currency, received_at, method, reference)"
    " SELECT document_id, 1, currency, received_at, method, reference FROM payment",
    "INSERT OR IGNORE INTO series_counter (series, last_number) VALUES ('F001', 0)",
]

POSTGRESQL_ONLY = [
    "TRUNCATE document_line",
    "TRUNCATE document CASCADE",
    "TRUNCATE payment",
    "TRUNCATE series_counter",
    "TRUNCATE audit_event",
    "TRUNCATE contract CASCADE",
]


@pytest.mark.parametrize("sql", EITHER_ENGINE)
def test_direct_sql_on_either_engine_is_refused_and_changes_nothing(world: World, sql: str) -> None:
    assert_refused(world, sql)


@pytest.mark.parametrize("sql", SQLITE_ONLY)
def test_sqlite_replace_and_conflict_clauses_are_refused(world: World, sql: str) -> None:
    if not world.url.startswith("sqlite"):
        pytest.skip("statement forms of SQLite")
    assert_refused(world, sql)


@pytest.mark.parametrize("sql", POSTGRESQL_ONLY)
def test_postgresql_truncate_is_refused(world: World, sql: str) -> None:
    if world.url.startswith("sqlite"):
        pytest.skip("SQLite has no TRUNCATE")
    assert_refused(world, sql)


def test_the_refusals_say_why(world: World) -> None:
    for sql, reason in (
        ("UPDATE series_counter SET last_number = 0", "series counters move only forward"),
        ("DELETE FROM audit_event", "audit_event is append-only"),
        ("UPDATE payment SET amount = 1", "payment is append-only"),
        (
            "UPDATE document SET status = 'issued', number = 3, number_text = 'F001-00000003',"
            " issue_date = '2026-11-30' WHERE id = :draft",
            "takes the next number of its series",
        ),
    ):
        with pytest.raises((DBAPIError, sqlite3.DatabaseError), match=reason):
            world.execute(sql)


def test_an_issue_by_hand_in_order_is_accepted_and_the_numbering_catches_up(world: World, tmp_path: Path) -> None:
    """The database holds a hand-made issue to the series' order; the next issue through the
    service then continues after it instead of failing on a lagging counter."""
    world.execute(
        "UPDATE document SET status = 'issued', number = 2, number_text = 'F001-00000002',"
        " issue_date = '2026-11-04' WHERE id = :draft"
    )
    load_contract(world.engine, tmp_path, "ACME-3")
    following = issue(world.engine, draft(world.engine, "ACME-3", 1), "finance", date(2026, 11, 5))
    assert following.number_text == "F001-00000003"
    with world.engine.connect() as conn:
        counter = conn.execute(text("SELECT last_number FROM series_counter WHERE series = 'F001'")).scalar_one()
    assert counter == 3


def test_the_normal_flows_still_write_what_they_must(world: World) -> None:
    """Voiding (the note first, then the invoice) and a draft's refresh and discard still work."""
    before = world.snapshot()
    void(world.engine, 2, "wrong amount", "finance")  # the credit note
    void(world.engine, world.issued, "wrong client", "finance")
    draft(world.engine, "ACME-2", 7)  # a refresh rewrites the draft's lines
    void(world.engine, world.other_draft, "not needed", "finance")  # a draft is discarded
    after = world.snapshot()
    statuses = {row[0]: row[2] for row in after["document"]}
    assert statuses == {world.issued: "void", 2: "void", world.other_draft: "void"}
    assert after["series_counter"] == before["series_counter"] == [("F001", 1), ("FC01", 1)]
    assert after["payment"] == before["payment"]
    assert len(after["audit_event"]) == len(before["audit_event"]) + 4
