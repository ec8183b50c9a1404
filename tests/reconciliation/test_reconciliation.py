"""Reconciliation stories on SQLite and PostgreSQL: October is closed and issued, then data
keeps arriving (late interactions, a repeat contact, more volume than forecast, workforce
hours, the client's own figures), and reconciling explains each difference with its cause and
exact amount, and drafts the one note that settles it, never twice."""

from __future__ import annotations

import csv
import json
from datetime import UTC, date, datetime
from decimal import Decimal as D
from pathlib import Path
from textwrap import dedent

from sqlalchemy import Engine
from sqlmodel import col, select

from billing.core.periods import Period
from billing.invoicing.documents import lines_of
from billing.invoicing.invoices import close_period, drafts_of_period, issue
from billing.measurement.contracts import load_contracts
from billing.measurement.ingest.batches import run_import
from billing.measurement.ingest.client_kpis import ClientKpiKind
from billing.measurement.ingest.interactions import COLUMNS, InteractionKind
from billing.measurement.ingest.workforce import WorkforceKind
from billing.reconciliation.service import reconcile_contract
from billing.storage.db import reading
from billing.storage.models import Document, Reconciliation

OCT = Period(2026, 10)
CLOSED_AT = datetime(2026, 11, 9, 12, tzinfo=UTC)  # after the 7-day grace
ISSUED_ON = date(2026, 11, 3)

OUTCOME_CONTRACT = """
    contract: RECON-1
    client: {{id: recon, name: "Recon S.A.", locale: en_US}}
    currency: USD
    timezone: America/Lima
    start: 2026-01-01
    invoicing: {{series: R001, credit_note_series: RC01, debit_note_series: RD01, payment_terms_days: 30}}
    resolution: {{repeat_window_days: 7, exclude_escalated: true}}
    reconciliation: {{tolerance_percent: "0.5"}}
    charges:
      - {{id: platform, type: fixed, description: "Platform", amount: "100.00"}}
      - {{id: resolutions, type: usage, description: "Resolutions", metric: resolutions,
         pricing: {{model: flat, unit_price: "2.00"}}}}
    service_levels:
      at_risk_percent: "10"
      {forecast}
      levels:
        - {{id: answer-speed, metric: service_level, threshold_seconds: 20, target: "80", allocation_percent: "50"}}
"""

FTE_CONTRACT = """
    contract: FTE-1
    client: {id: fte-client, name: "FTE Client", locale: en_US}
    currency: USD
    timezone: America/Lima
    start: 2026-01-01
    invoicing: {series: E001, credit_note_series: EC01, debit_note_series: ED01, payment_terms_days: 30}
    charges:
      - {id: agents, type: fte, description: "Dedicated agents", rate: "4000.00",
         headcount: [{from: 2026-01-01, fte: 2}], hours_per_fte: 150}
"""


def load(engine: Engine, tmp_path: Path, text: str, name: str = "contract.yaml") -> None:
    path = tmp_path / name
    path.write_text(dedent(text))
    load_contracts(engine, [path])


def contact(
    iid: str,
    customer: str,
    day: str,
    *,
    wait: int = 5,
    resolved: bool = True,
    contract: str = "RECON-1",
) -> dict[str, str]:
    """An answered voice contact at 10:00 Lima time on ``day`` (``10-05`` = 2026-10-05)."""
    return {
        "interaction_id": iid,
        "contract": contract,
        "channel": "voice",
        "customer_id": customer,
        "started_at": f"2026-{day}T10:00:00-05:00",
        "wait_seconds": str(wait),
        "abandoned": "false",
        "handle_seconds": "300",
        "handled_by": "human",
        "resolved": "true" if resolved else "false",
        "escalated": "false",
        "csat": "",
        "nps": "",
        "qa_score": "",
    }


def import_file(engine: Engine, tmp_path: Path, name: str, columns: tuple[str, ...], rows: list[dict[str, str]]):
    path = tmp_path / name
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    kind = {"interactions": InteractionKind, "workforce": WorkforceKind, "kpis": ClientKpiKind}[name.split("-")[0]]
    summary = run_import(engine, path, kind(), progress=False)
    assert summary.rejected == 0
    return summary


def interactions(engine: Engine, tmp_path: Path, name: str, rows: list[dict[str, str]]) -> None:
    import_file(engine, tmp_path, f"interactions-{name}.csv", COLUMNS, rows)


def close_and_issue(engine: Engine) -> int:
    close_period(engine, OCT, "test", CLOSED_AT)
    (invoice_id,) = drafts_of_period(engine, OCT)
    issue(engine, invoice_id, "test", ISSUED_ON)
    return invoice_id


def five_resolutions(engine: Engine, tmp_path: Path, forecast: str = "") -> int:
    """RECON-1 with five resolved contacts by customers c1..c5 on 10-26..10-30, answered in 5 s:
    invoice 100.00 + 5 x 2.00 = 110.00, the answer-speed level met."""
    load(engine, tmp_path, OUTCOME_CONTRACT.format(forecast=forecast))
    interactions(engine, tmp_path, "october", [contact(f"i{n}", f"c{n}", f"10-{25 + n}") for n in range(1, 6)])
    return close_and_issue(engine)


def causes(result) -> list[tuple[str, str, D, D]]:
    return [(d.cause.value, d.charge, d.quantity, d.amount) for d in result.discrepancies]


def test_late_interactions_add_billable_resolutions_and_propose_a_debit_note(db: Engine, tmp_path: Path) -> None:
    invoice_id = five_resolutions(db, tmp_path)
    interactions(db, tmp_path, "late", [contact("late-1", "c10", "10-28"), contact("late-2", "c11", "10-29")])

    outcome = reconcile_contract(db, "RECON-1", OCT, "finance", propose_note=True)

    result = outcome.result
    assert causes(result) == [("late_interactions", "resolutions", D(2), D("4.00"))]
    assert result.discrepancies[0].severity.value == "material"  # tolerance 0.5% of 110.00 = 0.55
    usage = next(line for line in result.lines if line.charge == "resolutions")
    assert (usage.billed_quantity, usage.billed_amount) == (D(5), D("10.00"))
    assert (usage.remeasured_quantity, usage.remeasured_amount) == (D(7), D("14.00"))
    assert result.net_difference == D("4.00")
    with reading(db) as session:
        note = session.get(Document, outcome.proposed_document_id)
        assert note is not None
        assert (note.kind, note.status, note.corrects_id, note.total) == ("debit_note", "draft", invoice_id, D("4.00"))


def test_a_repeat_contact_after_issue_removes_a_billed_resolution(db: Engine, tmp_path: Path) -> None:
    five_resolutions(db, tmp_path)
    # c3's resolution of 10-28 is followed by another contact on 10-31, within 7 days,
    # imported only after the invoice: it was never a resolution.
    interactions(db, tmp_path, "late", [contact("again-c3", "c3", "10-31", resolved=False)])

    outcome = reconcile_contract(db, "RECON-1", OCT, "finance", propose_note=True)

    result = outcome.result
    assert causes(result) == [("repeat_contact_after_issue", "resolutions", D(-1), D("-2.00"))]
    assert result.net_difference == D("-2.00")
    with reading(db) as session:
        note = session.get(Document, outcome.proposed_document_id)
        assert note is not None and (note.kind, note.total) == ("credit_note", D("2.00"))


def test_a_repeat_in_the_next_month_and_a_late_resolution_are_told_apart(db: Engine, tmp_path: Path) -> None:
    five_resolutions(db, tmp_path)
    interactions(
        db,
        tmp_path,
        "late",
        [
            contact("nov-c4", "c4", "11-02", resolved=False),  # within 7 days of c4's 10-29: it falls
            contact("late-c20", "c20", "10-30"),  # a new October resolution
        ],
    )

    result = reconcile_contract(db, "RECON-1", OCT, "finance").result

    assert causes(result) == [
        ("repeat_contact_after_issue", "resolutions", D(-1), D("-2.00")),
        ("late_interactions", "resolutions", D(1), D("2.00")),
    ]
    assert result.net_difference == 0 and result.proposal is None


def test_more_volume_than_forecast_excuses_the_credit_after_issue(db: Engine, tmp_path: Path) -> None:
    load(
        db,
        tmp_path,
        OUTCOME_CONTRACT.format(forecast="excuse_above_forecast_percent: 110\n      forecast: {2026-10: 10}"),
    )
    # ten contacts, seven answered within 20 s: 70% against a target of 80, missed
    rows = [contact(f"i{n}", f"c{n}", f"10-{10 + n}", wait=5 if n <= 7 else 60, resolved=n <= 5) for n in range(1, 11)]
    interactions(db, tmp_path, "october", rows)
    close_and_issue(db)  # 100 + 5 x 2 = 110; at risk 11.00; credit 50% = -5.50
    # two more October contacts, not resolved: 12 offered > 110% of 10, the month is excused
    interactions(
        db,
        tmp_path,
        "late",
        [contact("x1", "c30", "10-30", resolved=False), contact("x2", "c31", "10-30", resolved=False)],
    )

    outcome = reconcile_contract(db, "RECON-1", OCT, "finance", propose_note=True)

    result = outcome.result
    assert causes(result) == [("excusal_change", "answer-speed", D(-1), D("5.50"))]
    level = result.service_levels[0]
    assert (level.billed_credit, level.credit_due, level.excused, level.met) == (D("-5.50"), D("0.00"), True, False)
    with reading(db) as session:
        note = session.get(Document, outcome.proposed_document_id)
        assert note is not None and (note.kind, note.total) == ("debit_note", D("5.50"))


def test_fte_months_billed_against_hours_delivered(db: Engine, tmp_path: Path) -> None:
    load(db, tmp_path, FTE_CONTRACT)
    # two agents, 18 days of 7.5 productive hours each: 270 h = 1.8 FTE at 150 h, 2 billed
    hours = [
        {"contract": "FTE-1", "date": f"2026-10-{day:02d}", "agent_id": agent, "productive_hours": "7.5"}
        for agent in ("a1", "a2")
        for day in range(1, 19)
    ]
    import_file(db, tmp_path, "workforce-october.csv", ("contract", "date", "agent_id", "productive_hours"), hours)
    close_and_issue(db)  # 2 FTE x 4000.00 = 8000.00

    outcome = reconcile_contract(db, "FTE-1", OCT, "finance", propose_note=True)

    result = outcome.result
    (fte,) = result.fte
    assert (fte.billed_fte, fte.productive_hours, fte.delivered_fte) == (D(2), D(270), D("1.8"))
    assert (fte.difference_fte, fte.difference_amount) == (D("-0.2"), D("-800.00"))
    assert causes(result) == [("hours_short", "agents", D("-0.2"), D("-800.00"))]
    with reading(db) as session:
        note = session.get(Document, outcome.proposed_document_id)
        assert note is not None and (note.kind, note.total) == ("credit_note", D("800.00"))


def test_without_workforce_hours_nothing_is_called_short(db: Engine, tmp_path: Path) -> None:
    load(db, tmp_path, FTE_CONTRACT)
    close_and_issue(db)

    result = reconcile_contract(db, "FTE-1", OCT, "finance").result

    (fte,) = result.fte
    assert (fte.delivered_fte, fte.difference_amount) == (D(0), D(0)) and "no workforce hours" in fte.note
    assert result.discrepancies == () and result.proposal is None


def test_a_client_figure_that_flips_a_level_is_reported_not_settled(db: Engine, tmp_path: Path) -> None:
    five_resolutions(db, tmp_path)  # our service level: 100%, met
    import_file(
        db,
        tmp_path,
        "kpis-client.csv",
        ("contract", "period", "metric", "value"),
        [{"contract": "RECON-1", "period": "2026-10", "metric": "service_level", "value": "75.5"}],
    )

    result = reconcile_contract(db, "RECON-1", OCT, "finance", propose_note=True).result

    (figure,) = result.client_figures
    assert (figure.level, figure.ours, figure.theirs, figure.gap) == ("answer-speed", D(100), D("75.5"), D("-24.5"))
    assert (figure.met_ours, figure.met_theirs, figure.flips) == (True, False, True)
    assert figure.credit_difference == D("-5.50")  # 50% of 10% of 110.00
    (item,) = result.discrepancies
    assert (item.cause.value, item.amount, item.settles) == ("client_figure_differs", D("-5.50"), False)
    assert result.net_difference == 0 and result.proposal is None


def test_a_settled_difference_is_never_proposed_twice(db: Engine, tmp_path: Path) -> None:
    five_resolutions(db, tmp_path)
    interactions(db, tmp_path, "late", [contact("late-1", "c10", "10-28")])
    first = reconcile_contract(db, "RECON-1", OCT, "finance", propose_note=True)
    assert first.proposed_document_id is not None

    second = reconcile_contract(db, "RECON-1", OCT, "finance", propose_note=True)  # the note is still a draft
    assert second.proposed_document_id is None and second.result.net_difference == 0
    assert second.result.already_adjusted == D("2.00")

    issue(db, first.proposed_document_id, "finance", date(2026, 11, 20))
    interactions(db, tmp_path, "later", [contact("late-2", "c11", "10-29")])
    third = reconcile_contract(db, "RECON-1", OCT, "finance", propose_note=True)
    assert third.result.net_difference == D("2.00")  # only the new resolution
    with reading(db) as session:
        notes = session.exec(
            select(Document).where(col(Document.kind) == "debit_note").order_by(col(Document.id))
        ).all()
        assert [(n.status, n.total) for n in notes] == [("issued", D("2.00")), ("draft", D("2.00"))]
        records = session.exec(select(Reconciliation).order_by(col(Reconciliation.id))).all()
        assert [r.proposed_document_id is not None for r in records] == [True, False, True]
        assert records[0].data_as_of is not None and records[0].result["net_difference"] == "2.00"


def test_a_credit_that_grows_with_the_charges_is_netted_into_one_note(db: Engine, tmp_path: Path) -> None:
    load(db, tmp_path, OUTCOME_CONTRACT.format(forecast=""))
    # ten contacts, five answered within 20 s (missed), five resolved: 110.00, credit -5.50
    rows = [contact(f"i{n}", f"c{n}", f"10-{10 + n}", wait=5 if n <= 5 else 60, resolved=n <= 5) for n in range(1, 11)]
    interactions(db, tmp_path, "october", rows)
    close_and_issue(db)
    interactions(db, tmp_path, "late", [contact("late-1", "c40", "10-30")])  # 112.00: at risk 11.20, credit -5.60

    first = reconcile_contract(db, "RECON-1", OCT, "finance", propose_note=True)

    assert causes(first.result) == [
        ("late_interactions", "resolutions", D(1), D("2.00")),
        ("late_interactions", "answer-speed", D(0), D("-0.10")),
    ]
    proposal = first.result.proposal
    assert proposal is not None and proposal.kind == "debit_note"
    (line,) = proposal.lines
    assert (line.charge, line.amount) == ("resolutions", D("1.90"))
    assert line.settles == (("resolutions", "usage", D("2.00")), ("answer-speed", "service_credit", D("-0.10")))
    second = reconcile_contract(db, "RECON-1", OCT, "finance", propose_note=True)
    assert second.result.net_difference == 0 and second.proposed_document_id is None


def test_reconcile_command_table_json_and_csv(db_url: str, db: Engine, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from billing.cli import app

    five_resolutions(db, tmp_path)
    interactions(db, tmp_path, "late", [contact("late-1", "c10", "10-28")])
    run = CliRunner().invoke

    table = run(app, ["--db", db_url, "reconcile", "RECON-1", "--period", "2026-10"])
    assert table.exit_code == 0, table.output
    assert "late_interactions" in table.output and "Would propose a debit note of 2.00" in table.output

    as_csv = run(app, ["--db", db_url, "reconcile", "RECON-1", "--period", "2026-10", "--csv"])
    assert as_csv.output.splitlines() == [
        "contract,period,invoice,currency,cause,charge,type,quantity,amount,severity,settles,note",
        "RECON-1,2026-10,R001-00000001,USD,late_interactions,resolutions,usage,1,2.00,material,yes,",
    ]

    as_json = run(app, ["--db", db_url, "reconcile", "--all", "--period", "2026-10", "--json", "--propose"])
    data = json.loads(as_json.output)
    assert data["count"] == 1 and data["data"][0]["proposal"]["kind"] == "debit_note"
    assert data["data"][0]["proposed_document_id"] is not None

    missing = run(app, ["--db", db_url, "reconcile", "RECON-1", "--period", "2026-09"])
    assert missing.exit_code == 1 and "no issued invoice for 2026-09" in missing.output


def test_two_reconciliations_at_once_draft_one_note(pg_only_url: str, tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from billing.storage.db import make_engine

    engine = make_engine(pg_only_url)
    try:
        five_resolutions(engine, tmp_path)
        interactions(engine, tmp_path, "late", [contact("late-1", "c10", "10-28")])

        with ThreadPoolExecutor(2) as pool:
            outcomes = list(
                pool.map(lambda who: reconcile_contract(engine, "RECON-1", OCT, who, propose_note=True), ["a", "b"])
            )

        assert sorted(o.proposed_document_id is not None for o in outcomes) == [False, True]
        with reading(engine) as session:
            notes = session.exec(select(Document).where(col(Document.kind) == "debit_note")).all()
            assert [n.total for n in notes] == [D("2.00")]
    finally:
        engine.dispose()


def test_a_level_missed_only_with_late_data_is_credited_on_an_adjustment_line(db: Engine, tmp_path: Path) -> None:
    five_resolutions(db, tmp_path)  # 5 of 5 within 20 s: met, no credit line on the invoice
    late = [contact(f"slow-{n}", f"s{n}", "10-31", wait=60, resolved=False) for n in range(3)]
    interactions(db, tmp_path, "late", late)  # 5 of 8: 62.5%, missed

    outcome = reconcile_contract(db, "RECON-1", OCT, "finance", propose_note=True)

    assert causes(outcome.result) == [("late_interactions", "answer-speed", D(1), D("-5.50"))]
    with reading(db) as session:
        note = session.get(Document, outcome.proposed_document_id)
        assert note is not None and (note.kind, note.total) == ("credit_note", D("5.50"))
        (line,) = lines_of(session, note.id)  # type: ignore[arg-type]
        assert (line.charge, line.amount) == ("adjustment", D("5.50"))
        assert line.details["reconciliation"] == [
            {"charge": "answer-speed", "type": "service_credit", "amount": "-5.50"}
        ]
    again = reconcile_contract(db, "RECON-1", OCT, "finance", propose_note=True)
    assert again.result.net_difference == 0 and again.proposed_document_id is None


HOURLY_CONTRACT = """
    contract: HOURS-1
    client: {id: hours-client, name: "Hours Client", locale: en_US}
    currency: USD
    timezone: America/New_York
    start: 2026-01-01
    invoicing: {series: H001, credit_note_series: HC01, debit_note_series: HD01, payment_terms_days: 30}
    charges:
      - {id: agent-hours, type: hourly, description: "Productive agent hours", rate: "18.50"}
"""
WORKFORCE = ("contract", "date", "agent_id", "productive_hours")


def test_workforce_hours_sent_after_issue_are_billed_by_a_debit_note(db: Engine, tmp_path: Path) -> None:
    load(db, tmp_path, HOURLY_CONTRACT)
    day = {"contract": "HOURS-1", "date": "2026-10-05", "agent_id": "a1", "productive_hours": "8"}
    import_file(db, tmp_path, "workforce-october.csv", WORKFORCE, [day])
    close_and_issue(db)  # 8 h x 18.50 = 148.00
    import_file(db, tmp_path, "workforce-late.csv", WORKFORCE, [{**day, "date": "2026-10-06", "productive_hours": "5"}])

    result = reconcile_contract(db, "HOURS-1", OCT, "finance").result

    assert causes(result) == [("late_workforce_hours", "agent-hours", D(5), D("92.50"))]
    assert result.proposal is not None and result.proposal.kind == "debit_note"
