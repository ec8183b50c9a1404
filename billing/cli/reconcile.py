"""``billing reconcile CONTRACT --period YYYY-MM`` and ``billing reconcile --all --period YYYY-MM``."""

from __future__ import annotations

import csv
import sys
from typing import TYPE_CHECKING, Any

import typer

from billing.cli.common import console, fail, parse_period, print_json, state

if TYPE_CHECKING:
    from billing.reconciliation.service import Outcome


CSV_COLUMNS = (
    "contract",
    "period",
    "invoice",
    "currency",
    "cause",
    "charge",
    "type",
    "quantity",
    "amount",
    "severity",
    "settles",
    "note",
)


def register(app: typer.Typer) -> None:
    @app.command("reconcile")
    def reconcile(
        contract: str = typer.Argument(None, help="Contract code (or --all)"),
        period: str = typer.Option(..., "--period", help="The issued period, YYYY-MM"),
        all_contracts: bool = typer.Option(False, "--all", help="Every contract invoiced for the period"),
        propose: bool = typer.Option(
            False, "--propose", help="Write the DRAFT credit or debit note that settles what is open (never issued)"
        ),
        as_json: bool = typer.Option(False, "--json"),
        as_csv: bool = typer.Option(False, "--csv", help="One row per discrepancy, for finance tools"),
    ) -> None:
        """Re-measure an issued period with today's data and explain every difference."""
        from billing.invoicing.documents import DocumentConflict
        from billing.reconciliation.service import NothingToReconcile, reconcile_contract, reconcile_period

        if bool(contract) == all_contracts:
            fail("give a contract code or --all", 2)
        month = parse_period(period)
        engine = state.engine()
        try:
            if all_contracts:
                outcomes = reconcile_period(engine, month, state.actor, propose_note=propose)
            else:
                outcomes = [reconcile_contract(engine, contract, month, state.actor, propose_note=propose)]
        except (LookupError, NothingToReconcile, DocumentConflict, ValueError) as exc:
            fail(str(exc))
        if as_json:
            data = [outcome.as_json() for outcome in outcomes]
            print_json(data[0] if contract else {"period": str(month), "data": data, "count": len(data)})
        elif as_csv:
            write_csv(outcomes)
        else:
            if not outcomes:
                console.print(f"No issued invoice for {month}: nothing to reconcile.")
            for outcome in outcomes:
                show(outcome)


def write_csv(outcomes: list[Outcome]) -> None:
    writer = csv.DictWriter(sys.stdout, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for outcome in outcomes:
        data = outcome.result.as_json()
        for item in data["discrepancies"]:
            writer.writerow(
                {
                    "contract": data["contract"],
                    "period": data["period"],
                    "invoice": data["invoice"]["number"],
                    "currency": data["currency"],
                    **{k: item[k] for k in ("cause", "charge", "type", "quantity", "amount", "severity", "note")},
                    "settles": "yes" if item["settles"] else "no",
                }
            )


def show(outcome: Outcome) -> None:
    from rich.table import Table

    data: dict[str, Any] = outcome.as_json()
    invoice = data["invoice"]
    console.print(
        f"[bold]{data['contract']} {data['period']}[/bold]  invoice {invoice['number']} "
        f"(data as of batch {invoice['data_as_of']}, now {data['data_as_of']}), {data['currency']}",
        highlight=False,
    )
    lines = Table(
        "charge", "type", "billed qty", "billed", "notes", "re-measured qty", "due now", "open", title="Lines"
    )
    for line in data["lines"]:
        lines.add_row(
            line["charge"],
            line["type"],
            line["billed_quantity"],
            line["billed_amount"],
            line["adjusted_amount"],
            line["remeasured_quantity"],
            line["due_amount"],
            line["open_difference"],
        )
    console.print(lines)
    if data["service_levels"]:
        levels = Table(
            "level", "billed value", "billed credit", "value now", "met", "credit now", title="Service levels"
        )
        for level in data["service_levels"]:
            excused = " (excused)" if level["excused"] else ""
            levels.add_row(
                level["id"],
                str(level["billed_value"]),
                level["billed_credit"],
                str(level["value"]),
                f"{level['met']}{excused}",
                level["credit_due"],
            )
        console.print(levels)
    for fte in data["fte"]:
        console.print(
            f"FTE {fte['charge']}: billed {fte['billed_fte']} FTE-months, delivered {fte['productive_hours']} h "
            f"= {fte['delivered_fte']} FTE at {fte['hours_per_fte']} h; difference {fte['difference_fte']} FTE, "
            f"{fte['difference_amount']}" + (f" ({fte['note']})" if fte["note"] else ""),
            highlight=False,
        )
    for figure in data["client_figures"]:
        flips = " - flips the level" if figure["flips"] else ""
        console.print(
            f"Client figure {figure['metric']}: theirs {figure['theirs']}, ours {figure['ours']}, gap {figure['gap']}"
            f"{flips}; credit difference {figure['credit_difference']}",
            highlight=False,
        )
    if data["discrepancies"]:
        table = Table(title="Causes")
        table.add_column("cause", no_wrap=True)
        for name in ("charge", "type", "quantity", "amount", "severity", "settled by a note"):
            table.add_column(name)
        for item in data["discrepancies"]:
            table.add_row(
                item["cause"],
                item["charge"],
                item["type"],
                item["quantity"],
                item["amount"],
                item["severity"],
                "yes" if item["settles"] else "no (for discussion)",
            )
        console.print(table)
    else:
        console.print("No discrepancies.")
    console.print(
        f"Already adjusted by notes: {data['already_adjusted']}; open difference before tax: "
        f"{data['net_difference']} (tolerance {data['tolerance_amount']} = {data['tolerance_percent']}%)",
        highlight=False,
    )
    proposal = data["proposal"]
    if proposal is None:
        console.print("Nothing to propose.")
    elif outcome.proposed_document_id:
        console.print(
            f"Drafted {proposal['kind'].replace('_', ' ')} {outcome.proposed_document_id} for {proposal['amount']} "
            f"before tax; issue it with the normal issue command.",
            highlight=False,
        )
    else:
        console.print(
            f"Would propose a {proposal['kind'].replace('_', ' ')} of {proposal['amount']} before tax (use --propose).",
            highlight=False,
        )
    console.print()
