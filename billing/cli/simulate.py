"""``billing simulate CONTRACT --terms ALT.yaml ... --from YYYY-MM --to YYYY-MM``."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from billing.cli.common import console, fail, fail_problems, parse_period, print_json, state
from billing.core.problems import ProblemsError

if TYPE_CHECKING:
    from billing.simulation.results import SimulationResult


def register(app: typer.Typer) -> None:
    @app.command("simulate")
    def simulate(
        contract: str = typer.Argument(..., help="Contract code"),
        terms: list[Path] = typer.Option([], "--terms", help="An alternative contract file (repeatable)"),
        first: str = typer.Option(..., "--from", help="First month, YYYY-MM"),
        last: str = typer.Option(..., "--to", help="Last month, YYYY-MM"),
        sweep: bool = typer.Option(False, "--sweep", help="Break-even prices and sensitivity"),
        sensitivity: str = typer.Option(
            None, "--sensitivity", help="Percent to move volume and resolutions by (default 10 with --sweep)"
        ),
        html: Path = typer.Option(None, "--html", help="Write a self-contained HTML report with charts"),
        as_json: bool = typer.Option(False, "--json"),
    ) -> None:
        """Replay the measured months under the current terms and each alternative."""
        from billing.rating.engine import PeriodOutsideContract
        from billing.simulation.report import simulation_html
        from billing.simulation.service import read_alternatives, simulate_contract

        start, end = parse_period(first), parse_period(last)
        percent = None
        if sensitivity is not None or sweep:
            try:
                percent = Decimal(sensitivity or "10")
            except InvalidOperation:
                fail(f"--sensitivity must be a number, got {sensitivity!r}", 2)
            if not 0 < percent < 100:
                fail("--sensitivity must be between 0 and 100", 2)
        try:
            alternatives = read_alternatives(terms)
            result = simulate_contract(state.engine(), contract, alternatives, start, end, sweep, percent)
        except ProblemsError as exc:
            fail_problems(exc.problems)
        except (LookupError, PeriodOutsideContract, ValueError) as exc:
            fail(str(exc))
        if html is not None:
            html.write_text(simulation_html(result), encoding="utf-8")
        if as_json:
            print_json(result.as_json())
            return
        show(result)
        if html is not None:
            console.print(f"Report written to {html}", highlight=False)


def show(result: SimulationResult) -> None:
    from rich.table import Table

    data = result.as_json()
    table = Table("period", *(s["name"] for s in data["scenarios"]), title=f"{data['contract']} ({data['currency']})")
    for row, period in enumerate(data["periods"]):
        cells = []
        for index, scenario in enumerate(data["scenarios"]):
            month = scenario["months"][row]
            if not month["covered"]:
                cells.append("not covered")
            else:
                cells.append(month["total"] if index == 0 else f"{month['total']} ({month['difference']})")
        table.add_row(period, *cells)
    table.add_section()
    table.add_row(
        "total",
        *(s["total"] if i == 0 else f"{s['total']} ({s['difference']})" for i, s in enumerate(data["scenarios"])),
    )
    table.add_row("per resolution", *(str(s["price_per_resolution"]) for s in data["scenarios"]))
    table.add_row("per contact", *(str(s["price_per_contact"]) for s in data["scenarios"]))
    table.add_row(
        "credits", *(", ".join(f"{k} {v}" for k, v in s["credits"].items()) or "-" for s in data["scenarios"])
    )
    console.print(table)
    if data["break_even"]:
        be = Table(
            "scenario", "charge", "model", "price in file", "break-even", "difference", "note", title="Break-even"
        )
        for b in data["break_even"]:
            be.add_row(
                b["scenario"],
                b["charge"],
                b["model"],
                b["current_price"],
                str(b["price"]),
                str(b["difference"]),
                b["note"],
            )
        console.print(be)
    if data["sensitivity"]["cases"]:
        sens = Table("case", *(s["name"] for s in data["scenarios"]), title="Sensitivity")
        for case in data["sensitivity"]["cases"]:
            sens.add_row(case["case"], *(case["totals"][s["name"]] for s in data["scenarios"]))
        console.print(sens)
