"""``close_period``: rate every active contract and keep one draft per contract and period."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import select

from billing.invoicing.documents import lines_of
from billing.invoicing.invoices import close_period, issue, store_drafts
from billing.storage.db import reading
from billing.storage.models import Document
from tests.invoicing.invoice_helpers import OCTOBER, draft, in_force, load_contract, rated

NOW = datetime(2026, 11, 9, 9, 0, tzinfo=UTC)  # October is closable from 11-08 (7-day grace)


def test_close_drafts_every_active_contract_and_reruns_change_nothing(db: Engine, tmp_path: Path) -> None:
    load_contract(db, tmp_path, "ACME-1")
    load_contract(db, tmp_path, "ACME-2")
    progress: list[tuple[int, int, str]] = []

    first = close_period(db, OCTOBER, "finance", NOW, on_progress=lambda *step: progress.append(step))
    again = close_period(db, OCTOBER, "finance", NOW)

    assert [(o.contract, o.action, o.total) for o in first.outcomes] == [
        ("ACME-1", "created", Decimal("1180.00")),  # 1000.00 platform + no resolutions yet, IGV 18%
        ("ACME-2", "created", Decimal("1180.00")),
    ]
    assert progress == [(1, 2, "ACME-1"), (2, 2, "ACME-2")]
    assert [o.action for o in again.outcomes] == ["unchanged", "unchanged"]
    with reading(db) as session:
        documents = session.exec(select(Document)).all()
        lines = lines_of(session, documents[0].id)  # type: ignore[arg-type]
    assert len(documents) == 2
    assert [(line.charge, line.type, line.amount) for line in lines] == [
        ("platform", "fixed", Decimal("1000")),
        ("resolutions", "usage", Decimal("0")),
    ]
    assert documents[0].terms_version_id is not None and documents[0].rated_at == NOW


def test_close_reports_contracts_already_issued_for_the_period(db: Engine, tmp_path: Path) -> None:
    load_contract(db, tmp_path, "ACME-1")
    load_contract(db, tmp_path, "ACME-2")
    first = close_period(db, OCTOBER, "finance", NOW)
    issued_id = first.outcomes[0].document_id
    assert issued_id is not None
    issue(db, issued_id, "finance", date(2026, 11, 3))

    rerun = close_period(db, OCTOBER, "finance", NOW)

    assert [(o.contract, o.action, o.number) for o in rerun.outcomes] == [
        ("ACME-1", "skipped", "F001-00000001"),
        ("ACME-2", "unchanged", None),
    ]
    assert rerun.as_json()["skipped"] == 1 and rerun.as_json()["unchanged"] == 1


def test_a_crash_mid_close_leaves_no_half_written_invoice(db: Engine, tmp_path: Path) -> None:
    for code in ("ACME-1", "ACME-2", "ACME-3"):
        load_contract(db, tmp_path, code)
    kept = draft(db, "ACME-1", 120)
    broken = rated("ACME-1", 200)
    # A line no column can hold fails the write after the header was already updated.
    broken = replace(broken, lines=(*broken.lines, replace(broken.lines[1], amount=Decimal("0.00001"))))
    batch = [
        (in_force(db, "ACME-2"), rated("ACME-2", 5)),
        (in_force(db, "ACME-3"), rated("ACME-3", 5)),
        (in_force(db, "ACME-1"), broken),
    ]

    result = store_drafts(db, OCTOBER, batch, "t", NOW, chunk=2)

    # The failing chunk is written again contract by contract: only ACME-1 is skipped.
    assert [(o.contract, o.action, o.reason) for o in result.outcomes] == [
        ("ACME-2", "created", None),
        ("ACME-3", "created", None),
        ("ACME-1", "skipped", "not_stored"),
    ]
    assert "more than 4 decimal places" in result.outcomes[2].message

    with reading(db) as session:
        documents = {d.id: d for d in session.exec(select(Document)).all()}
        kept_lines = lines_of(session, kept)
    assert len(documents) == 3  # the first chunk (ACME-2 and ACME-3) was written whole
    assert documents[kept].total == Decimal("1534.00")  # ACME-1 is the draft it was before
    assert [line.amount for line in kept_lines] == [Decimal("1000"), Decimal("300")]


def test_one_chunk_creates_refreshes_keeps_and_skips_side_by_side(db: Engine, tmp_path: Path) -> None:
    for code in ("ACME-1", "ACME-2", "ACME-3", "ACME-4"):
        load_contract(db, tmp_path, code)
    draft(db, "ACME-2", 10)
    draft(db, "ACME-3", 10)
    issue(db, draft(db, "ACME-4", 10), "finance", date(2026, 11, 3))
    batch = [(in_force(db, code), rated(code, n)) for code, n in (("ACME-4", 99), ("ACME-3", 10), ("ACME-2", 20))]
    batch.append((in_force(db, "ACME-1"), rated("ACME-1", 30)))

    result = store_drafts(db, OCTOBER, batch, "t", NOW)

    assert [(o.contract, o.action) for o in result.outcomes] == [
        ("ACME-4", "skipped"),
        ("ACME-3", "unchanged"),
        ("ACME-2", "refreshed"),
        ("ACME-1", "created"),
    ]
    with reading(db) as session:
        totals = {d.contract_id: (d.status, d.total) for d in session.exec(select(Document)).all()}
        lines = {d: [line.amount for line in lines_of(session, d)] for d in (1, 2, 3, 4)}
    assert totals == {
        4: ("issued", Decimal("1209.50")),
        3: ("draft", Decimal("1209.50")),
        2: ("draft", Decimal("1239.00")),
        1: ("draft", Decimal("1268.50")),
    }
    assert [len(amounts) for amounts in lines.values()] == [2, 2, 2, 2]
