"""``billing current CONTRACT [--as-of YYYY-MM-DD] [--json] [--method linear|weekday]``: the
month so far, its service levels as they stand, and the projected month and invoice."""

from __future__ import annotations

import typer

from billing.cli.common import console, fail, print_json, state


def register(app: typer.Typer) -> None:
    @app.command("current")
    def current(
        code: str = typer.Argument(..., help="Contract code"),
        as_of: str | None = typer.Option(None, "--as-of", help="YYYY-MM-DD (default: today in the contract's zone)"),
        as_json: bool = typer.Option(False, "--json", help="JSON output"),
        method: str = typer.Option("linear", "--method", help="linear or weekday"),
    ) -> None:
        """The period to date: KPIs, each service level met / at_risk / missed / not_assessed with
        the credit it would carry if the month ended now, and the projected month and invoice."""
        from datetime import date

        from billing.rating.current import METHODS, today_for
        from billing.rating.current import current as month_so_far
        from billing.storage.db import reading

        if method not in METHODS:
            fail(f"--method is linear or weekday, not {method!r}", 2)
        with reading(state.engine()) as session:
            if as_of is None:
                day = today_for(session, code)
            else:
                try:
                    day = date.fromisoformat(as_of)
                except ValueError:
                    fail(f"--as-of {as_of!r} is not a date YYYY-MM-DD", 2)
                from billing.core.limits import date_problem

                if date_problem(day):
                    fail(f"--as-of {date_problem(day)}", 2)
            data = month_so_far(session, code, day, method)
        if as_json:
            print_json(data)
            return
        _show(data)


def _show(data: dict) -> None:  # type: ignore[type-arg]
    from rich.table import Table

    invoice = data["projected_invoice"]
    console.print(
        f"[bold]{data['contract']}[/bold] {data['period']} as of {data['as_of']}: day {data['days_elapsed']} "
        f"of {data['days_in_period']} ({data['method']} projection)",
        highlight=False,
    )
    kpis = Table("KPI", "to date", "projected")
    for name in ("offered", "answered", "service_level", "resolutions", "fcr_rate", "csat", "handled_minutes"):
        kpis.add_row(name, str(data["to_date"][name]), str(data["projected"][name]))
    console.print(kpis)
    levels = Table("level", "metric", "value", "target", "sample", "status", "credit if it ended now")
    for level in data["service_levels"]:
        levels.add_row(
            level["level"],
            level["metric"],
            level["value"] or "no data",
            level["target"],
            str(level["sample"]),
            level["status"],
            level["credit"],
        )
    console.print(levels)
    console.print(
        f"projected invoice: subtotal {invoice['subtotal']}, tax {invoice['tax']}, total {invoice['total']} "
        f"{invoice['currency']}",
        highlight=False,
    )
