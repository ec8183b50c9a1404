"""``billing statements CLIENT --from YYYY-MM --to YYYY-MM [--json | --pdf FILE | --html FILE]``."""

from __future__ import annotations

from pathlib import Path

import typer

from billing.cli.common import console, fail, parse_period, print_json, state


def register(app: typer.Typer) -> None:
    @app.command("statements")
    def statements(
        client: str = typer.Argument(..., help="The client's id (as in its contract file)"),
        first: str = typer.Option(..., "--from", help="First month, YYYY-MM"),
        last: str = typer.Option(..., "--to", help="Last month, YYYY-MM"),
        as_json: bool = typer.Option(False, "--json", help="Print the statement as JSON"),
        pdf_file: Path | None = typer.Option(None, "--pdf", help="Write the statement as PDF to this file"),
        html_file: Path | None = typer.Option(None, "--html", help="Write the statement as HTML to this file"),
    ) -> None:
        """A client's statement: invoices, notes, payments and the running balance, with the KPIs
        and service levels behind each invoice, in the client's language."""
        from rich.table import Table

        from billing.presentation.formatting import Formatter
        from billing.presentation.templating import pdf
        from billing.statements.rendering import statement_html
        from billing.statements.serialize import statement_json
        from billing.statements.store import load_statement
        from billing.storage.db import reading

        start, end = parse_period(first), parse_period(last)
        if start > end:
            fail("--from must not be after --to", 2)
        try:
            with reading(state.engine()) as session:
                statement = load_statement(session, client, start, end)
        except LookupError as exc:
            fail(str(exc).strip("'\""))
        if as_json:
            print_json(statement_json(statement))
            return
        if html_file is not None:
            html_file.write_text(statement_html(statement), encoding="utf-8")
            console.print(f"wrote {html_file}", highlight=False)
        if pdf_file is not None:
            pdf_file.write_bytes(pdf(statement_html(statement, for_pdf=True)))
            console.print(f"wrote {pdf_file}", highlight=False)
        if html_file is not None or pdf_file is not None:
            return
        fmt = Formatter.for_locale(statement.client.locale)
        console.print(
            f"{fmt._('Statement of account')}: {statement.client.name} ({fmt.month(start)} – {fmt.month(end)})"
        )
        for account in statement.accounts:
            table = Table(fmt._("Date"), fmt._("Document"), fmt._("Charges"), fmt._("Credits"), fmt._("Balance"))
            table.add_row("", fmt._("Opening balance"), "", "", fmt.money(account.opening, account.currency))
            for e in account.entries:
                table.add_row(
                    fmt.short_date(e.on),
                    f"{fmt.label(e.kind)} {e.reference}",
                    fmt.money(e.charge, account.currency) if e.charge else "",
                    fmt.money(e.credit, account.currency) if e.credit else "",
                    fmt.money(e.balance, account.currency),
                )
            table.add_row("", fmt._("Closing balance"), "", "", fmt.money(account.closing, account.currency))
            console.print(table)
        if not statement.accounts:
            console.print(fmt._("No documents or payments in this range."))
