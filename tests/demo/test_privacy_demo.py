"""Erasure and retention (issue 15, item 4) on a copy of the demo database: erasing a customer
unlinks it everywhere and changes no count and no invoice; retention deletes only the rows of
periods that are issued and past their reconciliation window, keeps the daily rollup and every
document, refuses the rest with the reason, and measurements that would need deleted rows are
refused too."""

from __future__ import annotations

import json
import shutil

import pytest
from sqlalchemy import func, select
from sqlmodel import Session
from typer.testing import CliRunner

from billing.cli import app
from billing.core.periods import Period
from billing.measurement.purged import PeriodPurged
from billing.rating.service import rate_contract
from billing.storage.db import make_engine, reading
from billing.storage.models import AuditEvent, Document, DocumentLine, ErasureRequest, Interaction
from tests.outcome_helpers import outcomes_of, pseudonym


@pytest.fixture
def copy(demo_url, demo, tmp_path):
    demo.dispose()
    path = tmp_path / "copy.db"
    shutil.copy(demo_url.removeprefix("sqlite:///"), path)
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    yield url, engine
    engine.dispose()


def _figures(engine) -> list:
    out = []
    for period in ("2026-09", "2026-10", "2026-11"):
        for from_rows in (False, True):
            cells = outcomes_of(engine, "BANDINO-2026", period, from_rows=from_rows).cells
            out.append([(c.channel, c.handled_by, c.offered, c.resolutions) for c in cells])
        out.append(outcomes_of(engine, "BANDINO-2026", "2026-10", as_of_batch=1).cells)
    return out


def test_erasing_a_customer_unlinks_every_row_and_changes_no_count(copy):
    url, engine = copy
    customer = "late-cust-0007"  # in the demo's late October data
    hidden = pseudonym("BANDINO-2026", customer)
    with Session(engine) as s:
        before_rows = s.execute(select(func.count()).where(Interaction.customer_id == hidden)).scalar_one()
    assert before_rows >= 1
    figures = _figures(engine)
    result = CliRunner().invoke(
        app,
        ["--db", url, "privacy", "erase", "--contract", "BANDINO-2026", "--customer", customer, "--reference", "DSR-7"],
    )
    assert result.exit_code == 0, result.output
    assert customer not in result.output and hidden not in result.output
    assert json.loads(result.stdout)["interactions_unlinked"] == before_rows
    with Session(engine) as s:
        assert s.execute(select(func.count()).where(Interaction.customer_id == hidden)).scalar_one() == 0
        [request] = s.execute(select(ErasureRequest)).scalars().all()
        assert (request.reference, request.interactions_unlinked) == ("DSR-7", before_rows)
        assert s.execute(select(AuditEvent).where(AuditEvent.action == "privacy.erased")).scalar_one()
    assert _figures(engine) == figures
    again = CliRunner().invoke(
        app, ["--db", url, "privacy", "erase", "--contract", "BANDINO-2026", "--customer", customer]
    )
    assert json.loads(again.stdout)["interactions_unlinked"] == 0


def test_retention_deletes_only_what_nothing_needs_and_keeps_the_evidence(copy):
    url, engine = copy
    run = CliRunner()
    with Session(engine) as s:
        rows_before = s.execute(select(func.count()).select_from(Interaction)).scalar_one()
    args = ["--db", url, "retention", "apply", "--keep-months", "2", "--today", "2027-01-15", "--json", "--dry-run"]
    applied = run.invoke(app, args)
    assert applied.exit_code == 0, applied.output
    verdicts = {(p["contract"], p["period"]): p for p in json.loads(applied.stdout)["periods"]}
    # BANDINO looks back 3 months for earnback: its later periods are still open for reconciliation.
    assert verdicts[("BANDINO-2026", "2026-08")]["action"] == "keep"
    assert "earnback" in verdicts[("BANDINO-2026", "2026-08")]["reason"]
    assert verdicts[("TIBERICA-2026", "2026-08")]["action"] == "delete"  # its window closed on 2026-11-29
    with Session(engine) as s:
        assert s.execute(select(func.count()).select_from(Interaction)).scalar_one() == rows_before  # a dry run

    later = run.invoke(
        app, ["--db", url, "retention", "apply", "--keep-months", "1", "--today", "2027-06-01", "--json"]
    )
    assert later.exit_code == 0, later.output
    periods = {(p["contract"], p["period"]): p for p in json.loads(later.stdout)["periods"]}
    assert periods[("BANDINO-2026", "2026-11")]["action"] == "keep"
    assert "not issued" in periods[("BANDINO-2026", "2026-11")]["reason"]
    deleted = [key for key, p in periods.items() if p["action"] == "delete"]
    assert ("BANDINO-2026", "2026-09") in deleted and ("NWH-2026", "2026-10") in deleted
    with Session(engine) as s:
        left = s.execute(select(func.count()).select_from(Interaction)).scalar_one()
        assert left == rows_before - sum(periods[k]["interactions"] for k in deleted) == 40
        invoice = s.execute(select(Document).where(Document.number_text == "F001-00000002")).scalar_one()
        billed = s.execute(
            select(DocumentLine.charge, DocumentLine.amount).where(DocumentLine.document_id == invoice.id)
        ).all()
    with reading(engine) as session:  # rated again from the kept daily totals: the same invoice
        rated = rate_contract(session, "BANDINO-2026", Period(2026, 9))
        assert [(line.charge, line.amount) for line in rated.lines] == [tuple(row) for row in billed]
        with pytest.raises(PeriodPurged, match="deleted by retention"):
            rate_contract(session, "BANDINO-2026", Period(2026, 9), as_of_batch=1)
    check = run.invoke(app, ["--db", url, "kpis", "check"])
    assert check.exit_code == 0, check.output
    refused = run.invoke(app, ["--db", url, "reconcile", "BANDINO-2026", "--period", "2026-09"])
    assert refused.exit_code == 1 and "deleted by retention" in refused.stderr
    trace = run.invoke(app, ["--db", url, "trace", "F001-00000002", "--line", "2"])
    assert trace.exit_code == 0  # the document is still there; its contacts are gone
