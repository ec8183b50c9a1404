"""``billing rate CONTRACT --period YYYY-MM [--json]``: the rating preview (nothing is stored)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from billing.cli.common import console, fail, parse_period, print_json, state

if TYPE_CHECKING:
    from billing.rating.lines import RatedInvoice


def register(app: typer.Typer) -> None:
    @app.command("rate")
    def rate(
        code: str = typer.Argument(..., help="Contract code"),
        period: str = typer.Option(..., "--period", help="Billing period YYYY-MM"),
        as_json: bool = typer.Option(False, "--json", help="JSON output (see docs/kpis.md)"),
    ) -> None:
        """Rate a contract for a period from the measured data: lines, credits, totals."""
        from billing.rating.engine import PeriodOutsideContract
        from billing.rating.service import rate_contract
        from billing.storage.db import reading

        month = parse_period(period)
        with reading(state.engine()) as session:
            try:
                invoice = rate_contract(session, code, month)
            except LookupError as exc:
                fail(str(exc))
            except PeriodOutsideContract as exc:
                fail(str(exc))
        if as_json:
            print_json(invoice.as_json())
            return
        show(invoice)


def show(invoice: RatedInvoice) -> None:
    """The rated invoice as readable tables."""
    from rich.table import Table

    console.print(f"[bold]{invoice.contract}[/bold] {invoice.period} ({invoice.currency}) - preview, not stored")
    lines = Table("charge", "type", "description", "quantity", "unit price", "amount")
    for column in lines.columns[3:]:
        column.justify = "right"
    for item in invoice.as_json()["lines"]:
        lines.add_row(
            item["charge"],
            item["type"],
            item["description"],
            item["quantity"],
            item["unit_price"] or "",
            item["amount"],
        )
    lines.add_section()
    lines.add_row("", "", "Subtotal", "", "", str(invoice.subtotal))
    tax_label = f"{invoice.tax_name} {invoice.as_json()['tax_rate']}%" if invoice.tax_name else "Tax"
    lines.add_row("", "", tax_label, "", "", str(invoice.tax))
    lines.add_row("", "", "[bold]Total[/bold]", "", "", f"[bold]{invoice.total}[/bold]")
    console.print(lines)
    if not invoice.service_levels:
        return
    levels = Table("level", "metric", "value", "target", "sample", "result", "credit")
    for level in invoice.service_levels:
        data = level.as_json()
        result = {True: "met", False: "missed", None: "not assessed"}[level.met]
        if level.excused:
            result += " (excused)"
        levels.add_row(
            data["id"],
            data["metric"],
            data["value"] or "no data",
            data["target"],
            str(data["sample"]),
            result,
            data["credit"],
        )
    console.print(f"Service levels (at risk: {invoice.at_risk_amount})")
    console.print(levels)
