"""Issue dates follow the rules of ``billing.invoicing.dating``: within the engine's date bounds,
never in the future (in the contract's zone), an invoice not before its month ends, a note not
before its invoice, and within a series never going back as numbers go up. A refused date
takes no number."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import select
from typer.testing import CliRunner

from billing.cli import app
from billing.invoicing.documents import DocumentConflict
from billing.invoicing.invoices import issue, issue_many
from billing.invoicing.notes import create_credit_note
from billing.storage.db import reading
from billing.storage.models import Document, SeriesCounter
from tests.invoicing.invoice_helpers import OCTOBER, draft, load_contract

#: 09:00 in Lima on December 3rd, 2026.
NOW = datetime(2026, 12, 3, 14, 0, tzinfo=UTC)


def state(engine: Engine) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    with reading(engine) as session:
        documents = [(d.id, d.status, d.number_text, d.issue_date) for d in session.exec(select(Document)).all()]
        counters = [(c.series, c.last_number) for c in session.exec(select(SeriesCounter)).all()]
    return sorted(documents), sorted(counters)


@pytest.fixture
def two_drafts(db: Engine, tmp_path: Path) -> tuple[int, int]:
    load_contract(db, tmp_path, "ACME-1")
    load_contract(db, tmp_path, "ACME-2")
    return draft(db, "ACME-1", 10), draft(db, "ACME-2", 10)


def test_dates_never_go_back_as_numbers_go_up(db: Engine, two_drafts: tuple[int, int]) -> None:
    first, second = two_drafts
    assert issue(db, first, "finance", date(2026, 11, 20), NOW).number_text == "F001-00000001"
    before = state(db)

    with pytest.raises(DocumentConflict, match=r"F001-00000002 cannot be dated 2026-11-19.*dated 2026-11-20"):
        issue(db, second, "finance", date(2026, 11, 19), NOW)

    assert state(db) == before  # no number taken, the draft is still a draft
    assert issue(db, second, "finance", date(2026, 11, 20), NOW).number_text == "F001-00000002"


@pytest.mark.parametrize(
    ("day", "reason"),
    [
        (date(1900, 1, 1), "must be between 2000-01-01 and 2099-12-31"),
        (date(2999, 1, 1), "must be between 2000-01-01 and 2099-12-31"),
        (date(2026, 12, 4), r"after today \(2026-12-03 in America/Lima\)"),
        (date(2026, 10, 30), "before the period ends on 2026-10-31"),
        (date(2026, 1, 1), "before the period ends on 2026-10-31"),
    ],
)
def test_an_invoice_is_dated_after_its_month_and_not_in_the_future(
    db: Engine, two_drafts: tuple[int, int], day: date, reason: str
) -> None:
    before = state(db)
    with pytest.raises(ValueError, match=reason):
        issue(db, two_drafts[0], "finance", day, NOW)
    assert state(db) == before


def test_today_is_the_contract_zones_today(db: Engine, two_drafts: tuple[int, int]) -> None:
    """At 03:00 UTC on November 1st it is still October 31st in Lima: the invoice for October
    may be dated the 31st (its last day), not the 1st."""
    now = datetime(2026, 11, 1, 3, 0, tzinfo=UTC)
    with pytest.raises(ValueError, match=r"after today \(2026-10-31 in America/Lima\)"):
        issue(db, two_drafts[0], "finance", date(2026, 11, 1), now)
    issued = issue(db, two_drafts[0], "finance", now, now)  # "today", as the CLI and API pass it
    assert (issued.issue_date, issued.number_text) == (OCTOBER.last_day, "F001-00000001")


def test_a_note_is_not_dated_before_its_invoice(db: Engine, two_drafts: tuple[int, int]) -> None:
    invoice = issue(db, two_drafts[0], "finance", date(2026, 11, 10), NOW)
    assert invoice.id is not None
    note = create_credit_note(db, invoice.id, "finance", "late answers", amount=Decimal("10"))
    assert note.id is not None
    before = state(db)

    with pytest.raises(DocumentConflict, match="before invoice F001-00000001 it corrects \\(dated 2026-11-10\\)"):
        issue(db, note.id, "finance", date(2026, 11, 9), NOW)
    with pytest.raises(ValueError, match="after today"):
        issue(db, note.id, "finance", date(2026, 12, 4), NOW)

    assert state(db) == before
    assert issue(db, note.id, "finance", date(2026, 11, 10), NOW).number_text == "FC01-00000001"


def test_a_batch_refuses_the_dates_it_must_and_issues_the_rest(db: Engine, two_drafts: tuple[int, int]) -> None:
    batch = issue_many(db, list(two_drafts), "finance", date(2026, 10, 15), now=NOW)
    assert batch.issued == [] and [d for d, _ in batch.refused] == list(two_drafts)
    assert "before the period ends on 2026-10-31" in batch.refused[0][1]


def test_the_cli_refuses_a_date_in_one_line(db_url: str, db: Engine, two_drafts: tuple[int, int]) -> None:
    runner = CliRunner()
    first = runner.invoke(app, ["--db", db_url, "invoices", "issue", str(two_drafts[0]), "--date", "2026-11-20"])
    assert first.exit_code == 0, first.output

    for day, reason in (
        ("2026-11-19", "F001-00000002 cannot be dated 2026-11-19"),
        ("1900-01-01", "must be between 2000-01-01 and 2099-12-31"),
        ("2999-01-01", "must be between 2000-01-01 and 2099-12-31"),
    ):
        result = runner.invoke(app, ["--db", db_url, "invoices", "issue", str(two_drafts[1]), "--date", day])
        assert result.exit_code == 1
        assert result.stderr.count("\n") == 1 and reason in result.stderr and "Traceback" not in result.output
    with reading(db) as session:
        assert session.get(SeriesCounter, "F001").last_number == 1  # type: ignore[union-attr]
