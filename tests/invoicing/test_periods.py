"""Period readiness: a month is open until it ends (in the contract's zone), in grace for
close_after_days (the repeat window by default), then closable; close drafts only closable
contracts and names the date of the others; --preview drafts are provisional and never issued."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select
from typer.testing import CliRunner

from billing.cli import app
from billing.core.periods import Period
from billing.invoicing.documents import DocumentConflict
from billing.invoicing.invoices import close_period, issue
from billing.invoicing.periods import local_today, period_status
from billing.invoicing.readiness import closable_on, time_state
from billing.measurement.contracts import load_contracts
from billing.storage.models import Document, Reconciliation
from tests.conftest import CONTRACTS, load_example_entities
from tests.invoicing.invoice_helpers import OCTOBER, load_contract

NOVEMBER, DECEMBER = Period(2026, 11), Period(2026, 12)
runner = CliRunner()


@pytest.mark.parametrize(
    ("today", "days", "state"),
    [
        (date(2026, 10, 31), 7, "open"),  # the last day: not ended yet
        (date(2026, 11, 1), 7, "grace"),
        (date(2026, 11, 7), 7, "grace"),
        (date(2026, 11, 8), 7, "closable"),  # 1 November + 7 days
        (date(2026, 11, 1), 0, "closable"),  # no grace: closable the day after the month
        (date(2026, 10, 15), 0, "open"),
    ],
)
def test_a_period_is_open_then_in_grace_then_closable(today: date, days: int, state: str):
    assert time_state(OCTOBER, days, today) == state
    assert closable_on(OCTOBER, days) == date(2026, 11, 1 + days)


def test_today_is_the_contracts_own_date():
    instant = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)  # still 30 November in Lima (UTC-5)
    assert local_today(instant, "America/Lima") == date(2026, 11, 30)
    assert local_today(instant, "Europe/Madrid") == date(2026, 12, 1)
    assert time_state(NOVEMBER, 0, local_today(instant, "America/Lima")) == "open"


def _examples(db: Engine) -> None:
    load_example_entities(db)
    load_contracts(db, sorted(CONTRACTS.glob("*.yaml")))


def test_closing_a_month_that_has_not_ended_refuses_every_contract_and_names_its_date(db: Engine):
    _examples(db)
    today = datetime(2026, 12, 3, 15, tzinfo=UTC)
    result = close_period(db, DECEMBER, "finance", today)
    assert result.partial and result.count("created") == 0
    assert {(o.contract, o.reason, o.closable_on) for o in result.outcomes} == {
        ("BANDINO-2026", "not_closable", "2027-01-08"),  # 7-day repeat window
        ("NWH-2026", "not_closable", "2027-01-08"),
        ("TIBERICA-2026", "not_closable", "2027-01-04"),  # 3-day repeat window
    }
    bandino = next(o for o in result.outcomes if o.contract == "BANDINO-2026")
    assert "2026-12 is open until 2026-12-31 (America/Lima); closable from 2027-01-08" in bandino.message
    with Session(db) as session:
        assert session.exec(select(Document)).all() == []


def test_closing_a_month_in_grace_refuses_it_with_its_date(db: Engine):
    _examples(db)
    result = close_period(db, NOVEMBER, "finance", datetime(2026, 12, 3, 15, tzinfo=UTC))
    assert {(o.contract, o.action, o.closable_on) for o in result.outcomes} == {
        ("BANDINO-2026", "skipped", "2026-12-08"),
        ("NWH-2026", "skipped", "2026-12-08"),
        ("TIBERICA-2026", "skipped", "2026-12-04"),
    }
    assert "in grace for 7 day(s)" in next(o.message for o in result.outcomes if o.contract == "NWH-2026")
    # a day later Tienda Iberica's three days have passed: it alone is drafted
    later = close_period(db, NOVEMBER, "finance", datetime(2026, 12, 4, 15, tzinfo=UTC))
    assert sorted((o.contract, o.action) for o in later.outcomes) == [
        ("BANDINO-2026", "skipped"),
        ("NWH-2026", "skipped"),
        ("TIBERICA-2026", "created"),
    ]


def test_preview_drafts_cannot_be_issued_until_a_real_close_refreshes_them(db: Engine, tmp_path: Path):
    load_contract(db, tmp_path)
    preview = close_period(db, OCTOBER, "finance", datetime(2026, 11, 2, 9, tzinfo=UTC), preview=True)
    (outcome,) = preview.outcomes
    assert (outcome.action, outcome.provisional, outcome.closable_on) == ("created", True, "2026-11-08")
    assert not preview.partial and "cannot be issued" in outcome.message
    draft_id = outcome.document_id
    assert draft_id is not None
    with pytest.raises(DocumentConflict, match="provisional"):
        issue(db, draft_id, "finance", date(2026, 11, 2))
    with db.begin() as conn, pytest.raises(IntegrityError, match="provisional draft"):
        conn.execute(
            text(
                "UPDATE document SET status = 'issued', number = 1, number_text = 'F001-00000001', "
                "issue_date = '2026-11-02' WHERE id = :id"
            ),
            {"id": draft_id},
        )
    # a plain close before the date keeps the provisional draft and says so
    early = close_period(db, OCTOBER, "finance", datetime(2026, 11, 5, 9, tzinfo=UTC))
    assert early.outcomes[0].reason == "not_closable" and "provisional draft is kept" in early.outcomes[0].message
    closed = close_period(db, OCTOBER, "finance", datetime(2026, 11, 8, 9, tzinfo=UTC))
    assert (closed.outcomes[0].action, closed.outcomes[0].provisional) == ("refreshed", False)
    issued = issue(db, draft_id, "finance", date(2026, 11, 8))
    assert issued.number_text == "F001-00000001" and issued.provisional is False


def test_status_follows_a_contracts_month_from_open_to_reconciled(db: Engine, tmp_path: Path):
    load_contract(db, tmp_path)

    def state(on: datetime | date) -> str:
        with Session(db) as session:
            (found,), _ = period_status(session, OCTOBER, on)
        return found.state

    assert state(date(2026, 10, 20)) == "open"
    assert state(date(2026, 11, 3)) == "grace"
    close_period(db, OCTOBER, "finance", datetime(2026, 11, 3, tzinfo=UTC), preview=True)
    assert state(date(2026, 11, 3)) == "grace"  # a provisional draft does not make it drafted
    assert state(date(2026, 11, 8)) == "closable"
    result = close_period(db, OCTOBER, "finance", datetime(2026, 11, 8, 12, tzinfo=UTC))
    assert state(date(2026, 11, 8)) == "drafted"
    document_id = result.outcomes[0].document_id
    assert document_id is not None
    issue(db, document_id, "finance", date(2026, 11, 9))
    assert state(date(2026, 11, 9)) == "issued"
    with Session(db) as session:
        contract_id = session.exec(select(Document.contract_id)).first()
        assert contract_id is not None
        session.add(Reconciliation(contract_id=contract_id, period="2026-10", document_id=document_id))
        session.commit()
    assert state(date(2026, 11, 20)) == "reconciled"


def test_the_command_line_exits_3_and_names_each_date(db_url: str, db: Engine):
    _examples(db)
    # a month far ahead of any real clock: open for the contracts without an end
    closed = runner.invoke(app, ["--db", db_url, "close", "--period", "2099-11"])
    assert closed.exit_code == 3, closed.output
    assert "NWH-2026 not drafted: 2099-11 is open until 2099-11-30 (America/New_York); closable from 2099-12-08" in (
        closed.stderr
    )
    assert "TIBERICA-2026 not drafted" in closed.stderr and "closable from 2099-12-04" in closed.stderr
    status = runner.invoke(app, ["--db", db_url, "periods", "status", "--period", "2099-11", "--json"])
    assert status.exit_code == 0, status.output
    assert '"state": "open"' in status.stdout and '"closable_on": "2099-12-04"' in status.stdout
    past = runner.invoke(app, ["--db", db_url, "close", "--period", "2026-09", "--json"])
    assert past.exit_code == 0, past.output
    assert '"created": 3' in past.stdout
