"""Invoices from draft to issued to void, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import col, select

from billing.invoicing.documents import DocumentConflict, DocumentNotFound, find_document, lines_of
from billing.invoicing.invoices import issue, issue_many, store_drafts, void
from billing.storage.db import reading
from billing.storage.models import AuditEvent, Document, SeriesCounter
from tests.invoicing.invoice_helpers import EARLY_START, OCTOBER, draft, in_force, load_contract, rated

ISSUE_DAY = date(2026, 11, 3)


def audit_actions(engine: Engine, document_id: int) -> list[str]:
    with reading(engine) as session:
        events = session.exec(
            select(AuditEvent).where(AuditEvent.entity_id == str(document_id)).order_by(col(AuditEvent.id))
        ).all()
    return [event.action for event in events]


def test_a_draft_holds_the_rated_lines_totals_and_service_levels(db: Engine, tmp_path: Path) -> None:
    load_contract(db, tmp_path)
    document_id = draft(db, "ACME-1", resolutions=120)

    with reading(db) as session:
        document = session.get(Document, document_id)
        assert document is not None
        lines = lines_of(session, document_id)
    assert (document.kind, document.status, document.period, document.series) == ("invoice", "draft", "2026-10", "F001")
    assert document.number is None and document.number_text is None
    assert (document.subtotal, document.tax, document.total) == (Decimal("1300"), Decimal("234"), Decimal("1534"))
    assert (document.tax_name, document.tax_rate, document.currency) == ("IGV", Decimal(18), "PEN")
    assert [(line.position, line.charge, line.type, line.amount) for line in lines] == [
        (1, "platform", "fixed", Decimal("1000")),
        (2, "resolutions", "usage", Decimal("300")),
    ]
    assert lines[1].quantity == 120 and lines[1].unit_price == Decimal("2.5")
    assert lines[1].details == {"measured": 120, "unit_price": "2.50"}
    assert document.service_levels[0]["id"] == "answer-speed" and document.service_levels[0]["met"] is True
    assert document.kpis == {"offered": 400, "service_level": "82.50"}
    assert audit_actions(db, document_id) == ["invoice.drafted"]


def test_closing_again_refreshes_the_draft_and_never_duplicates_it(db: Engine, tmp_path: Path) -> None:
    load_contract(db, tmp_path)
    first = draft(db, "ACME-1", resolutions=120)
    again = draft(db, "ACME-1", resolutions=120)
    refreshed = draft(db, "ACME-1", resolutions=200)

    assert first == again == refreshed
    with reading(db) as session:
        documents = session.exec(select(Document)).all()
        lines = lines_of(session, first)
    assert len(documents) == 1 and documents[0].total == Decimal("1770.00")
    assert [line.amount for line in lines] == [Decimal("1000"), Decimal("500")]
    assert audit_actions(db, first) == ["invoice.drafted", "invoice.refreshed"]


def test_close_skips_a_contract_whose_period_is_already_issued(db: Engine, tmp_path: Path) -> None:
    load_contract(db, tmp_path)
    document_id = draft(db, "ACME-1", resolutions=120)
    issue(db, document_id, "finance", ISSUE_DAY)

    result = store_drafts(db, OCTOBER, [(in_force(db, "ACME-1"), rated("ACME-1", 999))], "test", datetime.now(UTC))

    assert [(o.action, o.number) for o in result.outcomes] == [("skipped", "F001-00000001")]
    with reading(db) as session:
        assert session.get(Document, document_id).total == Decimal("1534")  # type: ignore[union-attr]


def test_issuing_numbers_the_series_in_order_and_sets_the_dates(db: Engine, tmp_path: Path) -> None:
    load_contract(db, tmp_path, "ACME-1")
    load_contract(db, tmp_path, "ACME-2")
    load_contract(db, tmp_path, "OTHER-1", series="B002", credit_series="BC02", debit_series="BD02")
    first = issue(db, draft(db, "ACME-1", 10), "finance", ISSUE_DAY)
    other = issue(db, draft(db, "OTHER-1", 10), "finance", ISSUE_DAY)
    second = issue(db, draft(db, "ACME-2", 10), "finance", ISSUE_DAY)

    assert [first.number_text, second.number_text, other.number_text] == [
        "F001-00000001",
        "F001-00000002",
        "B002-00000001",
    ]
    assert (first.status, first.issue_date, first.due_date) == ("issued", ISSUE_DAY, date(2026, 12, 3))
    assert first.issued_at is not None
    with reading(db) as session:
        counters = {c.series: c.last_number for c in session.exec(select(SeriesCounter)).all()}
        assert find_document(session, "F001-00000002").id == second.id
    assert counters == {"F001": 2, "B002": 1}
    assert audit_actions(db, first.id) == ["invoice.drafted", "invoice.issued"]  # type: ignore[arg-type]


def test_the_issue_date_is_the_day_in_the_contracts_time_zone(db: Engine, tmp_path: Path) -> None:
    load_contract(db, tmp_path)
    # 02:30 UTC on 4 November is still 3 November in Lima (UTC-5).
    issued = issue(db, draft(db, "ACME-1", 10), "finance", datetime(2026, 11, 4, 2, 30, tzinfo=UTC))
    assert issued.issue_date == date(2026, 11, 3)
    assert issued.due_date == date(2026, 12, 3)


def test_issuing_twice_is_a_conflict_and_takes_no_second_number(db: Engine, tmp_path: Path) -> None:
    load_contract(db, tmp_path)
    document_id = draft(db, "ACME-1", 10)
    issue(db, document_id, "finance", ISSUE_DAY)

    with pytest.raises(DocumentConflict, match="already issued as F001-00000001"):
        issue(db, document_id, "finance", ISSUE_DAY)
    with pytest.raises(DocumentNotFound):
        issue(db, 9999, "finance", ISSUE_DAY)
    with reading(db) as session:
        assert session.get(SeriesCounter, "F001").last_number == 1  # type: ignore[union-attr]


def test_void_keeps_the_number_and_the_reason_and_frees_the_period(db: Engine, tmp_path: Path) -> None:
    load_contract(db, tmp_path)
    document_id = draft(db, "ACME-1", 10)
    issue(db, document_id, "finance", ISSUE_DAY)

    voided = void(db, document_id, "wrong client address", "finance")

    assert (voided.status, voided.number_text, voided.void_reason) == ("void", "F001-00000001", "wrong client address")
    assert voided.voided_at is not None
    with pytest.raises(DocumentConflict, match="already void"):
        void(db, document_id, "again", "finance")
    with pytest.raises(ValueError, match="reason"):
        void(db, document_id, "  ", "finance")
    # The period can be invoiced again, under the next number.
    replacement = issue(db, draft(db, "ACME-1", 12), "finance", ISSUE_DAY)
    assert replacement.id != document_id and replacement.number_text == "F001-00000002"
    assert audit_actions(db, document_id) == ["invoice.drafted", "invoice.issued", "invoice.voided"]


def test_a_paid_invoice_cannot_be_voided(db: Engine, tmp_path: Path) -> None:
    load_contract(db, tmp_path)
    document_id = draft(db, "ACME-1", 10)
    issue(db, document_id, "finance", ISSUE_DAY)
    from billing.storage.db import transaction

    with transaction(db) as session:
        document = session.get(Document, document_id)
        assert document is not None
        document.status, document.paid_at = "paid", datetime.now(UTC)
        session.add(document)

    with pytest.raises(DocumentConflict, match="paid: refund it with a credit note"):
        void(db, document_id, "client asked", "finance")


def test_a_draft_can_be_discarded_without_using_a_number(db: Engine, tmp_path: Path) -> None:
    load_contract(db, tmp_path)
    document_id = draft(db, "ACME-1", 10)

    discarded = void(db, document_id, "contract paused", "finance")

    assert (discarded.status, discarded.number_text) == ("void", None)
    with reading(db) as session:
        assert session.get(SeriesCounter, "F001") is None


def test_issuing_a_batch_numbers_the_drafts_and_reports_each_refusal(db: Engine, tmp_path: Path) -> None:
    for code in ("ACME-1", "ACME-2", "ACME-3"):
        load_contract(db, tmp_path, code)
    first, second, third = (draft(db, code, 10) for code in ("ACME-1", "ACME-2", "ACME-3"))
    issue(db, second, "finance", ISSUE_DAY)  # F001-00000001

    batch = issue_many(db, [third, second, 999, first], "finance", ISSUE_DAY, chunk=2)

    assert [(d.id, d.number_text) for d in batch.issued] == [(first, "F001-00000002"), (third, "F001-00000003")]
    refused = dict(batch.refused)
    assert sorted(refused) == [second, 999]
    assert "already issued as F001-00000001" in refused[second] and "no document 999" in refused[999]
    with reading(db) as session:
        assert session.get(SeriesCounter, "F001").last_number == 3  # type: ignore[union-attr]
    assert [e for e in audit_actions(db, second) if e == "invoice.issued"] == ["invoice.issued"]


def test_two_issuers_at_once_share_one_gapless_series_on_either_engine(db: Engine, tmp_path: Path) -> None:
    load_contract(db, tmp_path, "ACME-1", start=EARLY_START)
    load_contract(db, tmp_path, "ACME-2", start=EARLY_START)
    batches = [[draft(db, code, 10, OCTOBER.shift(-n)) for n in range(5)] for code in ("ACME-1", "ACME-2")]
    start = threading.Barrier(2)

    def issue_all(ids: list[int]) -> list[str]:
        start.wait()
        return [issue(db, document_id, "finance", ISSUE_DAY).number_text or "" for document_id in ids]

    with ThreadPoolExecutor(2) as pool:
        first, second = pool.map(issue_all, batches)

    assert sorted(first + second) == [f"F001-{n:08d}" for n in range(1, 11)]
