"""``billing simulate``: a contract's measured months, or a prospect's generated ones, priced
under other terms (docs/simulation.md).

    billing simulate CONTRACT --terms ALT.yaml ... --from YYYY-MM --to YYYY-MM [--costs F]
    billing simulate --profile PROFILE.yaml --terms A.yaml [--terms B.yaml ...] --months N [--seed S]
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from billing.cli.common import USAGE, console, fail, fail_problems, parse_period, print_json, state
from billing.core.problems import ProblemsError

if TYPE_CHECKING:
    from billing.simulation.results import SimulationResult


def register(app: typer.Typer) -> None:
    @app.command("simulate")
    def simulate(
        contract: str = typer.Argument(None, help="Contract code (or --profile for a prospect)"),
        terms: list[Path] = typer.Option([], "--terms", help="A contract file to price under (repeatable)"),
        first: str = typer.Option(None, "--from", help="First month, YYYY-MM"),
        last: str = typer.Option(None, "--to", help="Last month, YYYY-MM"),
        profile: Path = typer.Option(None, "--profile", help="A prospect's profile (no history)"),
        months: int = typer.Option(None, "--months", help="Months to generate from the profile"),
        seed: int = typer.Option(0, "--seed", help="Seed of the generated months"),
        costs: Path = typer.Option(None, "--costs", help="A costs file: margins for the provider"),
        sweep: bool = typer.Option(False, "--sweep", help="Break-evens, sensitivities and the volume chart"),
        include_partial: bool = typer.Option(
            False, "--include-partial", help="Price months not ended or without data (flagged)"
        ),
        today: str = typer.Option(None, "--today", help="Count months as ended on this day, YYYY-MM-DD (default now)"),
        locale: str = typer.Option(None, "--locale", help="Report language, e.g. es_PE (default the client's; en)"),
        html: Path = typer.Option(None, "--html", help="Write a self-contained HTML report with charts"),
        as_json: bool = typer.Option(False, "--json"),
    ) -> None:
        """Price the same months under the current terms and each alternative, with margins,
        break-evens and sensitivities; or a prospect's generated months under each set of terms."""
        from billing.rating.engine import PeriodOutsideContract
        from billing.simulation.report import report_html
        from billing.simulation.serialize import simulation_json

        if locale is not None:
            from billing.core.limits import LOCALE

            reason = LOCALE.problem(locale)
            if reason is not None:
                fail(f"--locale: {reason}", USAGE)
        try:
            if profile is not None:
                result = _prospect(contract, profile, terms, months, seed, costs, sweep, locale, first, last)
            else:
                result = _contract(contract, terms, first, last, costs, sweep, include_partial, today, locale)
        except ProblemsError as exc:
            fail_problems(exc.problems)
        except (LookupError, PeriodOutsideContract, ValueError) as exc:
            fail(str(exc))
        if html is not None:
            try:
                html.write_text(report_html(result, result.locale), encoding="utf-8")
            except OSError as exc:
                fail(f"cannot write {html}: {exc.strerror or exc}", USAGE)
        if as_json:
            print_json(simulation_json(result))
            return
        show(simulation_json(result))
        if html is not None:
            console.print(f"Report written to {html}", highlight=False)


def _contract(
    contract: str | None,
    terms: list[Path],
    first: str | None,
    last: str | None,
    costs: Path | None,
    sweep: bool,
    include_partial: bool,
    today: str | None,
    locale: str | None,
) -> SimulationResult:
    from billing.simulation.service import read_alternatives, read_costs, simulate_contract

    if contract is None:
        fail("give a CONTRACT code, or --profile for a prospect", USAGE)
    if first is None or last is None:
        fail("--from and --to are required for a contract", USAGE)
    start, end = parse_period(first), parse_period(last)
    now = datetime.now(UTC)
    if today is not None:
        try:
            now = datetime.combine(date.fromisoformat(today), time(), UTC)
        except ValueError:
            fail(f"--today is a date YYYY-MM-DD, got {today!r}", USAGE)
    alternatives = read_alternatives(terms)
    cost_file = read_costs(costs) if costs is not None else None
    return simulate_contract(
        state.engine(),
        contract,
        alternatives,
        start,
        end,
        now=now,
        sweep=sweep,
        costs=cost_file,
        include_partial=include_partial,
        locale=locale,
    )


def _prospect(
    contract: str | None,
    profile: Path,
    terms: list[Path],
    months: int | None,
    seed: int,
    costs: Path | None,
    sweep: bool,
    locale: str | None,
    first: str | None,
    last: str | None,
) -> SimulationResult:
    from billing.simulation.prospect import simulate_prospect
    from billing.simulation.service import read_alternatives, read_costs, read_profile

    if contract is not None or first is not None or last is not None:
        fail("a prospect has no contract and no measured months: give --profile with --months", USAGE)
    if months is None:
        fail("--months is required with --profile", USAGE)
    if not terms:
        fail("give at least one --terms file to price the prospect under", USAGE)
    found = read_profile(profile)
    sets = [(a.name, a.source, a.terms) for a in read_alternatives(terms, reserved=())]
    cost_file = read_costs(costs) if costs is not None else None
    return simulate_prospect(found, sets, months, seed, sweep, cost_file, locale)


def show(data: dict[str, Any]) -> None:
    """The result as tables in the terminal (English, codes as they are; the HTML report
    speaks the reader's language)."""
    from rich.table import Table

    names = [s["name"] for s in data["scenarios"]]
    title = f"{data['contract']} ({data['currency']}, {data['from']} to {data['to']})"
    table = Table("", *names, title=title)
    rows = [
        ("revenue (before tax)", "revenue"),
        ("total (after tax)", "total"),
        ("difference (before tax)", "revenue_difference"),
        ("cost", "cost"),
        ("margin", "margin"),
        ("margin %", "margin_percent"),
        ("credits paid", "credits_paid"),
        ("at risk", "at_risk"),
        ("client per resolution", "client_per_resolution"),
        ("client per contact", "client_per_contact"),
    ]
    for label, key in rows:
        table.add_row(label, *(str(s[key]) if s[key] is not None else "-" for s in data["scenarios"]))
    console.print(table)
    monthly = Table("period", *names, title="Revenue per month (before tax)")
    for row, period in enumerate(data["periods"]):
        cells = []
        for scenario in data["scenarios"]:
            month = scenario["months"][row]
            flag = f" [{month['flag']}]" if month["flag"] else ""
            cells.append((month["revenue"] if month["covered"] else "not covered") + flag)
        monthly.add_row(period, *cells)
    console.print(monthly)
    for item in data["left_out"]:
        verb = "priced, flagged" if item["included"] else "left out"
        console.print(f"{item['period']}: {item['reason'].replace('_', ' ')} ({verb})", highlight=False)
    for check in data["invoices"]:
        steps = ", ".join(f"{s['cause']} {s['total']}" for s in check["steps"]) or "no difference"
        console.print(
            f"{check['period']} invoice {check['number']} {check['issued']['total']} -> simulated "
            f"{check['simulated']['total']} (after tax): {steps}; notes since {check['notes_total']}",
            highlight=False,
        )
    if data["break_even"]:
        be = Table("scenario", "break-even", "in file", "value", "revenue", "note", title="Break-evens (before tax)")
        for b in data["break_even"]:
            what = b["kind"] if b["charge"] is None else f"{b['kind']} {b['charge']}"
            be.add_row(b["scenario"], what, b["in_file"], str(b["value"]), str(b["revenue"]), b["note"] or "")
        console.print(be)
    if data["sensitivity"]:
        sens = Table("case", *names, title="Sensitivity: revenue / margin")
        for case in data["sensitivity"]:
            label = f"{case['kind']} {case['step']}{' %' if case['unit'] == 'percent' else ' pts'}"
            if not case["applicable"]:
                sens.add_row(label, *("n/a" for _ in names))
                continue
            sens.add_row(label, *(f"{case['revenue'][n]} / {case['margin'][n] or '-'}" for n in names))
        console.print(sens)
