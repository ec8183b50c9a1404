"""``billing periods status``: where each active contract's month stands (open, grace,
closable, drafted, issued, reconciled) and when it becomes closable."""

from __future__ import annotations

import typer

from billing.cli.common import command_group, console, parse_period, print_json, state


def register(app: typer.Typer) -> None:
    group = command_group(help="Billing periods: when each contract's month may be closed.")
    app.add_typer(group, name="periods")

    @group.command("status")
    def status(
        period: str = typer.Option(None, "--period", help="YYYY-MM (default: last month)"),
        client: str = typer.Option(None, "--client", help="Only this client's contracts"),
        as_json: bool = typer.Option(False, "--json"),
    ) -> None:
        """Each active contract's state for the period, today in its own time zone: open (the
        month has not ended), grace (it ended less than close_after_days ago), closable,
        drafted, issued or reconciled, with the date it becomes closable."""
        from rich.table import Table

        from billing.core.periods import Period
        from billing.invoicing.periods import period_status
        from billing.storage.db import reading
        from billing.storage.models import utcnow

        now = utcnow()
        month = parse_period(period) if period else Period.of_date(now.date()).previous()
        with reading(state.engine()) as session:
            states, unreadable = period_status(session, month, now, client)
        if as_json:
            print_json(
                {
                    "period": str(month),
                    "data": [s.as_json() for s in states],
                    "count": len(states),
                    "unreadable": [{"contract": u.code, "message": u.message} for u in unreadable],
                }
            )
            return
        table = Table("contract", "state", "closable on", "invoice", "why")
        for item in states:
            invoice = item.invoice
            reference = ""
            if invoice is not None:
                reference = invoice.number or f"draft {invoice.document_id}"
                reference += " (provisional)" if invoice.provisional else ""
            table.add_row(item.contract, item.state, item.closable_on.isoformat(), reference, item.explain())
        console.print(table)
        for u in unreadable:
            console.print(f"{u.code}: its stored terms cannot be read: {u.message}", highlight=False)
        console.print(f"{month}: {len(states)} active contract(s)", highlight=False)
