"""``billing demo``: the whole month-end job on the embedded SQLite default.

It tells one story with the example clients: three months of generated outcomes are imported
and measured, each month is closed and its invoices issued; a goodwill credit note corrects
one invoice; late October data arrives (interactions a vendor sent late, and customers coming
back after their resolution was billed); reconciliation explains the difference and drafts the
note that settles it, which is issued; an account manager simulates per-resolution pricing;
and every client gets a statement in their language, as JSON, HTML and PDF.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from billing.cli.common import console, state
from billing.core.periods import Period

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from billing.storage.models import Document


if TYPE_CHECKING:
    from fixtures.profiles import GenerationSpec

REPO = Path(__file__).resolve().parents[2]
ACTOR = "demo"


def register(app: typer.Typer) -> None:
    @app.command("demo")
    def demo(
        out: Path = typer.Option(Path("demo-output"), "--out", help="Where statements and reports are written."),
        contracts_dir: Path = typer.Option(REPO / "contracts", "--contracts", help="Contract files to load."),
        seed: int = typer.Option(7, "--seed", help="Seed of the generated outcomes."),
    ) -> None:
        """The month-end job on the example clients, end to end, on a fresh SQLite database.

        Import, KPIs, close, issue, credit, reconcile late data, simulate, and write
        statements into OUT. With --db, that database is used instead.
        """
        run_demo(out, contracts_dir, seed)


def run_demo(out: Path, contracts_dir: Path, seed: int) -> None:
    from billing.storage.db import database_url, get_engine, migrate
    from fixtures.scenarios import DEMO_MONTHS, demo_specs

    out.mkdir(parents=True, exist_ok=True)
    url = database_url(state.db_url) if state.db_url else _fresh_sqlite(out / "billing-demo.db")
    migrate(url)
    engine = get_engine(url)
    months = [Period.parse(m) for m in DEMO_MONTHS]
    last = months[-1]
    console.rule("1. Contracts")
    _load_contracts(engine, sorted(contracts_dir.glob("*.yaml")))

    console.rule("2. Outcomes")
    specs = demo_specs()
    _import_outcomes(engine, specs, seed, out)

    console.rule(f"3. KPIs measured in the database ({last})")
    _show_kpis(engine, [spec.contract for spec in specs], last)

    console.rule("4. Close and issue each month")
    issued = {}
    for period in months:
        issued[period] = _close_and_issue(engine, period)

    console.rule("5. A goodwill credit note")
    _goodwill_credit(engine, last)

    console.rule(f"6. Late data for {last}, reconciliation, and the note that settles it")
    _late_data(engine, last, out)
    _reconcile(engine, last)

    console.rule("7. Pricing simulation for an account manager")
    _simulate(engine, contracts_dir / "alternatives", months, out)

    console.rule("8. Client statements")
    _statements(engine, months, out)
    console.print(f"\nDone. Database: {url}\nStatements and reports: {out.resolve()}", highlight=False)


def _fresh_sqlite(path: Path) -> str:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return f"sqlite:///{path}"


def _load_contracts(engine: Engine, paths: list[Path]) -> None:
    from billing.measurement.contracts import load_contracts

    for outcome in load_contracts(engine, paths, actor=ACTOR):
        console.print(
            f"  {outcome.code:<15} {outcome.action:<9} effective {outcome.effective_from} "
            f"({Path(outcome.source).name})",
            highlight=False,
        )


def _import_outcomes(engine: Engine, specs: list[GenerationSpec], seed: int, out: Path) -> None:
    from billing.measurement.ingest import import_interactions, import_workforce
    from fixtures.generator import COLUMNS, WORKFORCE_COLUMNS, generate_many, write_csv
    from fixtures.generator import generate_workforce as workforce_rows

    interactions = out / "interactions.csv"
    workforce = out / "workforce.csv"
    rows = write_csv(generate_many(specs, seed), interactions, COLUMNS)
    hours = write_csv((row for spec in specs for row in workforce_rows(spec, seed)), workforce, WORKFORCE_COLUMNS)
    console.print(f"  generated {rows:,} interactions and {hours:,} workforce days (seed {seed})", highlight=False)
    for path, importer in ((interactions, import_interactions), (workforce, import_workforce)):
        summary = importer(engine, path, progress=None)
        console.print(f"  {path.name}: {json.dumps(summary.as_json())}", highlight=False)


def _show_kpis(engine: Engine, codes: list[str], period: Period) -> None:
    from rich.table import Table

    from billing.contracts.store import terms_in_force
    from billing.measurement.kpis import kpi_report
    from billing.rating.service import outcomes_for
    from billing.storage.db import reading

    names = (
        "offered",
        "answered",
        "service_level",
        "asa_seconds",
        "aht_seconds",
        "abandonment_rate",
        "resolutions",
        "fcr_rate",
        "csat",
        "nps",
        "qa_score",
        "handled_minutes",
        "productive_hours",
    )
    reports = {}
    with reading(engine) as session:
        for code in codes:
            item = terms_in_force(session, code, period)
            reports[code] = kpi_report(outcomes_for(session, item, [period])[period])
    table = Table("KPI (all channels, 20 s)", *codes)
    for name in names:
        table.add_row(name, *(str(reports[code][name]) for code in codes))
    console.print(table)


def _close_and_issue(engine: Engine, period: Period) -> list[str]:
    from rich.table import Table
    from sqlmodel import col, func, select

    from billing.invoicing.invoices import close_period, drafts_of_period, issue
    from billing.storage.db import reading
    from billing.storage.models import Document

    issue_day = period.next().first_day + timedelta(days=2)
    now = datetime.combine(issue_day, datetime.min.time(), tzinfo=UTC)
    closed = close_period(engine, period, ACTOR, now)
    numbers = []
    table = Table(f"{period}", "invoice", "cur.", "subtotal", "credits", "tax", "total")
    for document_id in drafts_of_period(engine, period):
        document = issue(engine, document_id, ACTOR, issue_day)
        numbers.append(document.number_text or "")
    with reading(engine) as session:
        from billing.storage.models import Contract, Document, DocumentLine

        credits = func.coalesce(func.sum(DocumentLine.amount), 0)
        rows = session.exec(
            select(Document, Contract.code, credits)
            .join(Contract)
            .outerjoin(
                DocumentLine,
                (col(DocumentLine.document_id) == Document.id) & (col(DocumentLine.type) == "service_credit"),
            )
            .where(Document.period == str(period), Document.kind == "invoice")
            .group_by(col(Document.id), col(Contract.code))
            .order_by(col(Contract.code))
        ).all()
        for document, code, credited in rows:
            money = _money_formatter(document.currency)
            table.add_row(
                code,
                document.number_text or document.status,
                document.currency,
                money(document.subtotal),
                money(credited),
                money(document.tax),
                money(document.total),
            )
    console.print(f"  closed {len(closed.outcomes)} contracts, issued {len(numbers)} invoices", highlight=False)
    console.print(table)
    return numbers


def _money_formatter(code: str) -> Callable[[Decimal], str]:
    from billing.core.currencies import currency
    from billing.core.money import quantum

    step = quantum(currency(code).minor_units)
    return lambda value: str(Decimal(value).quantize(step))


def _invoice_of(engine: Engine, code: str, period: Period) -> Document:
    from sqlmodel import col, select

    from billing.storage.db import reading
    from billing.storage.models import Contract, Document

    with reading(engine) as session:
        return session.exec(
            select(Document)
            .join(Contract)
            .where(
                Contract.code == code,
                Document.period == str(period),
                Document.kind == "invoice",
                col(Document.status).in_(["issued", "paid"]),
            )
        ).one()


def _goodwill_credit(engine: Engine, period: Period) -> None:
    from billing.invoicing.invoices import issue
    from billing.invoicing.notes import create_credit_note

    invoice = _invoice_of(engine, "TIBERICA-2026", period)
    assert invoice.id is not None
    note = create_credit_note(
        engine, invoice.id, ACTOR, "Compensación por caída de la plataforma de correo", amount=Decimal("250.00")
    )
    assert note.id is not None
    note = issue(engine, note.id, ACTOR, period.next().first_day + timedelta(days=5))
    money = _money_formatter(note.currency)
    console.print(
        f"  {note.number_text} credits {money(note.total)} {note.currency} (tax included) "
        f"against {invoice.number_text} "
        f"({note.reason})",
        highlight=False,
    )


def _late_data(engine: Engine, period: Period, out: Path) -> None:
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


def _reconcile(engine: Engine, period: Period) -> None:
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
            money = _money_formatter(note.currency)
            console.print(
                f"    issued {note.kind.replace('_', ' ')} {note.number_text} for {money(note.total)} "
                f"{note.currency} (tax included)",
                highlight=False,
            )


def _simulate(engine: Engine, alternatives: Path, months: list[Period], out: Path) -> None:
    from rich.table import Table

    from billing.simulation.report import simulation_html
    from billing.simulation.service import read_alternatives, simulate_contract

    files = sorted(alternatives.glob("banco-andino-*.yaml"))
    if not files:
        console.print("  no alternative terms found", highlight=False)
        return
    result = simulate_contract(engine, "BANDINO-2026", read_alternatives(files), months[0], months[-1], sweep=True)
    data = result.as_json()
    table = Table("scenario", "total", "difference", "per resolution", "per contact")
    for scenario in data["scenarios"]:
        table.add_row(
            scenario["name"],
            scenario["total"],
            scenario.get("difference") or "",
            scenario.get("price_per_resolution") or "",
            scenario.get("price_per_contact") or "",
        )
    console.print(table)
    report = out / "simulation-BANDINO-2026.html"
    report.write_text(simulation_html(result, generated_at=date.today().isoformat()), encoding="utf-8")
    console.print(f"  report: {report}", highlight=False)


def _statements(engine: Engine, months: list[Period], out: Path) -> None:
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
            statement = load_statement(session, client.id, months[0], months[-1].next())
            base = out / f"statement-{client.id}"
            Path(f"{base}.json").write_text(
                json.dumps(statement_json(statement), indent=2, ensure_ascii=False, default=str), encoding="utf-8"
            )
            Path(f"{base}.html").write_text(statement_html(statement), encoding="utf-8")
            Path(f"{base}.pdf").write_bytes(pdf(statement_html(statement, for_pdf=True)))
            console.print(f"  {client.name} ({client.locale}): {base}.pdf, .html, .json", highlight=False)
