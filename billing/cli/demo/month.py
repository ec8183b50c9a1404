"""The demo's months: contracts, generated outcomes, KPIs, close and issue, a goodwill credit."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from billing.cli.common import console
from billing.core.periods import Period

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from billing.storage.models import Document


if TYPE_CHECKING:
    from fixtures.profiles import GenerationSpec

ACTOR = "demo"


def load_contracts(engine: Engine, paths: list[Path], entities: list[Path]) -> None:
    from billing.contracts.entities import load_entities
    from billing.measurement.contracts import load_contracts

    for loaded in load_entities(engine, entities, actor=ACTOR):
        console.print(f"  {loaded.code:<15} {loaded.action:<9} ({Path(loaded.source).name})", highlight=False)
    for outcome in load_contracts(engine, paths, actor=ACTOR):
        console.print(
            f"  {outcome.code:<15} {outcome.action:<9} effective {outcome.effective_from} "
            f"({Path(outcome.source).name})",
            highlight=False,
        )


def import_outcomes(engine: Engine, specs: list[GenerationSpec], seed: int, out: Path) -> None:
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


def show_kpis(engine: Engine, codes: list[str], period: Period) -> None:
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


def not_closable_yet(engine: Engine, last: Period) -> None:
    """What close says of a month that has not ended and of one in its grace days: nothing is
    drafted, each contract named with the day it becomes closable."""
    from billing.invoicing.invoices import close_period

    for period, on in ((last, last.last_day - timedelta(days=3)), (last, last.next().first_day + timedelta(days=2))):
        now = datetime.combine(on, datetime.min.time(), tzinfo=UTC) + timedelta(hours=15)
        result = close_period(engine, period, ACTOR, now)
        console.print(f"  close {period} on {on}: {result.count('created')} drafted", highlight=False)
        for outcome in result.outcomes:
            console.print(f"    {outcome.contract}: {outcome.message}", highlight=False)


def close_and_issue(engine: Engine, period: Period) -> list[str]:
    from rich.table import Table
    from sqlmodel import col, func, select

    from billing.invoicing.invoices import close_period, drafts_of_period, issue
    from billing.storage.db import reading
    from billing.storage.models import Document

    # Closable once the longest repeat window (7 days) after the month has passed.
    issue_day = period.next().first_day + timedelta(days=7)
    now = datetime.combine(issue_day, datetime.min.time(), tzinfo=UTC) + timedelta(hours=15)
    closed = close_period(engine, period, ACTOR, now)
    numbers = []
    table = Table(f"{period}", "invoice", "cur.", "subtotal", "credits", "tax", "total")
    for document_id in drafts_of_period(engine, period):
        document = issue(engine, document_id, ACTOR, issue_day, now)
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
            money = money_formatter(document.currency)
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


def money_formatter(code: str) -> Callable[[Decimal], str]:
    from billing.core.currencies import currency
    from billing.core.money import quantum

    step = quantum(currency(code).minor_units)
    return lambda value: str(Decimal(value).quantize(step))


def invoice_of(engine: Engine, code: str, period: Period) -> Document:
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


def goodwill_credit(engine: Engine, period: Period) -> None:
    from billing.invoicing.invoices import issue
    from billing.invoicing.notes import create_credit_note

    invoice = invoice_of(engine, "TIBERICA-2026", period)
    assert invoice.id is not None
    note = create_credit_note(
        engine, invoice.id, ACTOR, "Compensación por caída de la plataforma de correo", amount=Decimal("250.00")
    )
    assert note.id is not None
    note = issue(engine, note.id, ACTOR, period.next().first_day + timedelta(days=9))
    money = money_formatter(note.currency)
    console.print(
        f"  {note.number_text} credits {money(note.total)} {note.currency} (tax included) "
        f"against {invoice.number_text} "
        f"({note.reason})",
        highlight=False,
    )
