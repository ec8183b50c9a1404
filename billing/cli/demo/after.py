"""After the months: late data, reconciliation, a pricing simulation and client statements."""

from __future__ import annotations

import csv
import json
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from billing.cli.common import console
from billing.core.periods import Period

if TYPE_CHECKING:
    from sqlalchemy import Engine


if TYPE_CHECKING:
    pass

from billing.cli.demo.month import ACTOR, money_formatter


def late_data(engine: Engine, period: Period, out: Path) -> None:
    """Interactions of ``period`` that a vendor delivered after the invoice was issued, and
    customers coming back early next month after a contact that was billed as resolved."""
    from sqlmodel import col, select

    from billing.measurement.ingest import import_interactions
    from billing.storage.db import reading
    from billing.storage.models import Contract, Interaction
    from fixtures.generator import COLUMNS

    start, end = period.bounds("America/Lima")
    late_rows = []
    for i in range(1500):
        at = start + timedelta(days=3 + i % 25, hours=14, minutes=i % 60, seconds=i)
        late_rows.append(
            {
                "interaction_id": f"late-{i:04d}",
                "contract": "BANDINO-2026",
                "channel": "chat",
                "customer_id": f"late-cust-{i:04d}",
                "started_at": at.isoformat(),
                "wait_seconds": 0,
                "abandoned": "false",
                "handle_seconds": 240,
                "handled_by": "ai",
                "resolved": "true",
                "escalated": "false",
                "csat": "",
                "nps": "",
                "qa_score": "",
            }
        )
    with reading(engine) as session:
        billed_resolutions = session.exec(
            select(Interaction.customer_id, Interaction.started_at)
            .join(Contract)
            .where(
                Contract.code == "BANDINO-2026",
                Interaction.handled_by == "ai",
                col(Interaction.resolved),
                ~col(Interaction.escalated),
                ~col(Interaction.abandoned),
                col(Interaction.customer_id).is_not(None),
                col(Interaction.next_contact_at).is_(None),
                Interaction.started_at >= end - timedelta(days=2),
                Interaction.started_at < end,
            )
            .order_by(col(Interaction.started_at))
            .limit(40)
        ).all()
    for j, (customer, started) in enumerate(billed_resolutions):
        late_rows.append(
            {
                "interaction_id": f"comeback-{j:04d}",
                "contract": "BANDINO-2026",
                "channel": "voice",
                "customer_id": customer,
                "started_at": (started + timedelta(days=3)).isoformat(),
                "wait_seconds": 12,
                "abandoned": "false",
                "handle_seconds": 380,
                "handled_by": "human",
                "resolved": "true",
                "escalated": "false",
                "csat": "",
                "nps": "",
                "qa_score": "",
            }
        )
    path = out / "late-interactions.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(COLUMNS))
        writer.writeheader()
        writer.writerows(late_rows)
    summary = import_interactions(engine, path, progress=None)
    console.print(
        f"  {path.name}: {len(late_rows) - len(billed_resolutions)} late AI resolutions and "
        f"{len(billed_resolutions)} customers coming back: {json.dumps(summary.as_json())}",
        highlight=False,
    )


def reconcile(engine: Engine, period: Period) -> None:
    from billing.invoicing.invoices import issue
    from billing.reconciliation.service import reconcile_period

    today = period.next().first_day + timedelta(days=20)
    for outcome in reconcile_period(engine, period, ACTOR, propose_note=True):
        result = outcome.result.as_json()
        causes = sorted({d["cause"] for d in result.get("discrepancies", [])})
        console.print(
            f"  {result['contract']} {result['period']}: net difference {result['net_difference']} "
            f"{result.get('currency', '')} causes: {', '.join(causes) or 'none'}",
            highlight=False,
        )
        if outcome.proposed_document_id is not None:
            note = issue(engine, outcome.proposed_document_id, ACTOR, today)
            money = money_formatter(note.currency)
            console.print(
                f"    issued {note.kind.replace('_', ' ')} {note.number_text} for {money(note.total)} "
                f"{note.currency} (tax included)",
                highlight=False,
            )


def simulate(engine: Engine, contracts: Path, months: list[Period], out: Path) -> None:
    """The current terms against the alternatives with the example costs (margins, break-evens,
    sensitivities), and a prospect priced under two sets of terms; reports in es and en."""
    from datetime import UTC, datetime

    from rich.table import Table

    from billing.simulation.prospect import simulate_prospect
    from billing.simulation.report import report_html
    from billing.simulation.serialize import simulation_json
    from billing.simulation.service import read_alternatives, read_costs, read_profile, simulate_contract

    files = sorted((contracts / "alternatives").glob("banco-andino-*.yaml"))
    workbench = contracts / "workbench"
    if not files or not (workbench / "costs.yaml").exists():
        console.print("  no alternative terms or costs found", highlight=False)
        return
    result = simulate_contract(
        engine,
        "BANDINO-2026",
        read_alternatives(files),
        months[0],
        months[-1],
        now=datetime.now(UTC),
        sweep=True,
        costs=read_costs(workbench / "costs.yaml"),
    )
    _scenario_table(Table, simulation_json(result))
    for check in simulation_json(result)["invoices"]:
        steps = ", ".join(f"{s['cause']} {s['total']}" for s in check["steps"]) or "none"
        console.print(
            f"  {check['period']} invoice {check['number']} {check['issued']['total']} -> current terms "
            f"{check['simulated']['total']} (after tax); differences: {steps}",
            highlight=False,
        )
    for language, locale in (("es", "es_PE"), ("en", "en_US")):
        report = out / f"simulation-BANDINO-2026-{language}.html"
        report.write_text(report_html(result, locale, generated_at=date.today().isoformat()), encoding="utf-8")
        console.print(f"  report: {report}", highlight=False)
    terms = [(a.name, a.source, a.terms) for a in read_alternatives(
        [contracts / "tienda-iberica.yaml", contracts / "alternatives" / "tienda-iberica-graduated.yaml"], reserved=()
    )]  # fmt: skip
    prospect = simulate_prospect(
        read_profile(workbench / "prospect-profile.yaml"),
        terms,
        6,
        7,
        sweep=True,
        costs=read_costs(workbench / "prospect-costs.yaml"),
    )
    console.print(f"  prospect {prospect.contract}, 6 months generated (seed 7):", highlight=False)
    _scenario_table(Table, simulation_json(prospect))
    report = out / f"simulation-{prospect.contract}.html"
    report.write_text(report_html(prospect, "es_ES", generated_at=date.today().isoformat()), encoding="utf-8")
    console.print(f"  report: {report}", highlight=False)


def _scenario_table(table_class: Any, data: dict[str, Any]) -> None:
    table = table_class("scenario", "revenue", "margin", "margin %", "per resolution")
    for scenario in data["scenarios"]:
        table.add_row(
            scenario["name"],
            scenario["revenue"],
            scenario["margin"] or "",
            scenario["margin_percent"] or "",
            scenario["client_per_resolution"] or "",
        )
    console.print(table)
    console.print(
        f"  amounts in {data['currency']} before tax; cost {data['scenarios'][0]['cost']} in every scenario",
        highlight=False,
    )


def statements(engine: Engine, months: list[Period], out: Path, as_of: date) -> None:
    from sqlmodel import col, select

    from billing.cli.common import print_json  # noqa: F401  (same JSON encoder as the CLI)
    from billing.presentation.templating import pdf
    from billing.statements.rendering import statement_html
    from billing.statements.serialize import statement_json
    from billing.statements.store import load_statement
    from billing.storage.db import reading
    from billing.storage.models import Client

    with reading(engine) as session:
        clients = session.exec(select(Client).order_by(col(Client.id))).all()
        for client in clients:
            # Documents are dated by issue: the last month's invoice and its notes are issued the month after.
            statement = load_statement(session, client.id, months[0], months[-1].next(), as_of)
            base = out / f"statement-{client.id}"
            Path(f"{base}.json").write_text(
                json.dumps(statement_json(statement), indent=2, ensure_ascii=False, default=str), encoding="utf-8"
            )
            Path(f"{base}.html").write_text(statement_html(statement), encoding="utf-8")
            Path(f"{base}.pdf").write_bytes(pdf(statement_html(statement, for_pdf=True)))
            overdue = ", ".join(d.number_text or "" for d in statement.overdue) or "none"
            console.print(
                f"  {client.name} ({client.locale}): {base}.pdf, .html, .json; overdue on {as_of}: {overdue}",
                highlight=False,
            )
