"""``billing payments record | list`` and ``billing receivables``: money received, and what
each client still owes, aged."""

from __future__ import annotations

import sys
from datetime import date
from typing import Any

import typer

from billing.cli.common import command_group, console, fail, print_json, state
from billing.core.limits import date_problem
from billing.core.money import to_decimal


def _day(text: str, option: str) -> date:
    try:
        day = date.fromisoformat(text)
    except ValueError:
        fail(f"{option} is written YYYY-MM-DD, got {text!r}", 2)
    problem = date_problem(day)
    if problem:
        fail(f"{option} {problem}", 2)
    return day


def _money(text: str, option: str) -> Any:
    try:
        return to_decimal(text)
    except (ValueError, ArithmeticError):
        fail(f"{option} is an amount such as 1180.00, got {text!r}", 2)


def register(app: typer.Typer) -> None:
    group = command_group(help="Payments received: record them, list them.")
    app.add_typer(group, name="payments")

    @group.command("record")
    def record(
        document: str = typer.Argument(..., metavar="DOCUMENT", help="The document's id or number (F001-00000007)"),
        amount: str = typer.Option(..., "--amount", help="Money received, in the document's currency"),
        on: str = typer.Option(..., "--date", help="The day it was received, YYYY-MM-DD"),
        method: str = typer.Option("transfer", "--method", help="transfer, cheque, cash, ..."),
        reference: str = typer.Option(None, "--reference", help="The bank's reference (a retry never records twice)"),
        withheld: str = typer.Option("0", "--withheld", help="The part the client paid to a third party (detraccion)"),
        as_json: bool = typer.Option(False, "--json"),
    ) -> None:
        """Record a payment, whole or partial, of an issued invoice or debit note. Refused: more
        than is owed, a draft, a void or paid document, a credit note, a reference already
        recorded. The document is paid once nothing is left."""
        from datetime import UTC, datetime, time, timedelta

        from billing.invoicing.documents import money_text
        from billing.invoicing.payments import record_payment

        day = _day(on, "--date")
        if day > datetime.now(UTC).date() + timedelta(days=1):
            fail(f"--date {day} is in the future: record money once it has arrived", 2)
        received_at = datetime.combine(day, time(12), tzinfo=UTC)  # the day, the same in every zone it is read in
        payment, doc = record_payment(
            state.engine(),
            document,
            _money(amount, "--amount"),
            received_at,
            reference,
            method,
            state.actor,
            withheld=_money(withheld, "--withheld"),
        )
        code = doc.currency
        data = {
            "id": payment.id,
            "document": doc.number_text,
            "amount": money_text(payment.amount, code),
            "withheld": money_text(payment.withheld, code),
            "currency": code,
            "received_on": day.isoformat(),
            "method": payment.method,
            "reference": payment.reference,
            "document_status": doc.status,
        }
        if as_json:
            print_json(data)
            return
        withheld_text = f" and {data['withheld']} withheld" if payment.withheld else ""
        console.print(
            f"payment {payment.id} of {data['amount']} {code}{withheld_text} recorded on {doc.number_text} "
            f"({payment.reference}); the document is {doc.status}",
            highlight=False,
        )

    @group.command("list")
    def list_(
        client: str = typer.Option(None, "--client", help="Only this client's payments"),
        document: str = typer.Option(None, "--document", help="Only this document's (id or number)"),
        as_json: bool = typer.Option(False, "--json"),
    ) -> None:
        """Payments in the order they arrived."""
        from rich.table import Table

        from billing.invoicing.documents import money_text
        from billing.invoicing.payments import list_payments

        rows = list_payments(state.engine(), client, document)
        data = [
            {
                "id": row.payment.id,
                "client": row.client_id,
                "contract": row.contract,
                "document": row.number,
                "received_on": row.payment.received_at.date().isoformat(),
                "amount": money_text(row.payment.amount, row.payment.currency),
                "withheld": money_text(row.payment.withheld, row.payment.currency),
                "currency": row.payment.currency,
                "method": row.payment.method,
                "reference": row.payment.reference,
            }
            for row in rows
        ]
        if as_json:
            print_json({"data": data, "count": len(data)})
            return
        table = Table("id", "received", "client", "document", "amount", "withheld", "method", "reference")
        for item in data:
            shown = {key: "" if value is None else str(value) for key, value in item.items()}
            table.add_row(
                shown["id"],
                shown["received_on"],
                shown["client"],
                shown["document"],
                f"{shown['amount']} {shown['currency']}",
                shown["withheld"],
                shown["method"],
                shown["reference"],
            )
        console.print(table)
        console.print(f"{len(data)} payment(s)", highlight=False)

    @app.command("receivables")
    def receivables(
        as_of: str = typer.Option(None, "--as-of", help="YYYY-MM-DD (default: today)"),
        client: str = typer.Option(None, "--client", help="Only this client"),
        as_json: bool = typer.Option(False, "--json"),
        as_csv: bool = typer.Option(False, "--csv", help="One row per document, as CSV"),
    ) -> None:
        """What each client owes per currency, aged: not yet due, 1-30, 31-60, 61-90 and over 90
        days past due, each document with its balance (total less credit notes, payments and
        withheld parts received by that day)."""
        from datetime import UTC, datetime

        from billing.invoicing.receivables import receivables as aged
        from billing.storage.db import reading

        if as_json and as_csv:
            fail("give --json or --csv, not both", 2)
        day = _day(as_of, "--as-of") if as_of else datetime.now(UTC).date()
        with reading(state.engine()) as session:
            report = aged(session, day, client)
        if as_json:
            print_json(report.as_json())
        elif as_csv:
            _csv(report)
        else:
            _table(report)


def _csv(report: Any) -> None:
    import csv

    writer = csv.writer(sys.stdout, lineterminator="\n")
    columns = ["client", "currency", "number", "kind", "contract", "issue_date", "due_date", "total", "credited"]
    columns += ["paid", "withheld", "balance", "days_past_due", "bucket"]
    writer.writerow(columns)
    for account in report.accounts:
        for document in account.documents:
            row = document.as_json()
            writer.writerow([account.client_id, account.currency, *(row[c] for c in columns[2:])])


def _table(report: Any) -> None:
    from rich.table import Table

    from billing.core.ageing import BUCKET_CODES

    heads = ("not yet due", "1-30", "31-60", "61-90", "over 90")
    table = Table("client", "cur.", *heads, "total", title=f"Receivables as of {report.as_of}")
    for account in report.accounts:
        data = account.as_json()
        table.add_row(account.client_name, account.currency, *(data[c] for c in BUCKET_CODES), data["total"])
    console.print(table)
    for account in report.accounts:
        for document in account.documents:
            row = document.as_json()
            late = f"{row['days_past_due']} days late" if row["overdue"] else "not yet due"
            console.print(
                f"  {account.client_id} {row['number']}: balance {row['balance']} {account.currency} of "
                f"{row['total']}, due {row['due_date']} ({late})",
                highlight=False,
            )
    if not report.accounts:
        console.print("nothing is owed", highlight=False)
