"""``billing privacy erase`` and ``billing retention apply`` (docs/privacy.md)."""

from __future__ import annotations

import typer

from billing.cli.common import command_group, console, fail, print_json, state


def register(app: typer.Typer) -> None:
    privacy = command_group("Personal data: answer a data subject's erasure request (docs/privacy.md).")
    retention = command_group("Delete the interaction rows of old periods nothing can need again.")
    app.add_typer(privacy, name="privacy")
    app.add_typer(retention, name="retention")

    @privacy.command("erase")
    def erase(
        contract: str = typer.Option(..., "--contract", help="Contract code"),
        customer: str = typer.Option(..., "--customer", help="The customer id as the client sends it"),
        reference: str | None = typer.Option(None, "--reference", help="The request's reference (a ticket)"),
    ) -> None:
        """Unlink a customer from every interaction of a contract (counts and invoices unchanged)
        and record the request. The id is never printed nor stored."""
        from billing.privacy.erasure import erase as unlink

        request = unlink(state.engine(), contract, customer, state.actor, reference)
        print_json(
            {
                "request": request.id,
                "contract": contract,
                "interactions_unlinked": request.interactions_unlinked,
                "rejected_rows_unlinked": request.rejected_rows_unlinked,
                "requested_at": request.requested_at,
            }
        )

    @retention.command("apply")
    def apply(
        keep_months: int = typer.Option(..., "--keep-months", help="Months kept, this one included"),
        dry_run: bool = typer.Option(False, "--dry-run", help="Say what would be deleted; delete nothing"),
        today: str | None = typer.Option(None, "--today", help="YYYY-MM-DD (default: today, UTC)"),
        as_json: bool = typer.Option(False, "--json", help="JSON output"),
    ) -> None:
        """Delete the interaction rows of periods older than N months whose invoice is issued and
        whose reconciliation window has passed; keep the daily rollup and every document. Every
        other old period is kept and the reason said."""
        from datetime import UTC, date, datetime

        from billing.privacy.retention import apply as judge

        try:
            day = date.fromisoformat(today) if today else datetime.now(UTC).date()
        except ValueError:
            fail(f"--today {today!r} is not a date YYYY-MM-DD", 2)
        if keep_months < 1:
            fail("--keep-months is at least 1: the current month's rows are always kept", 2)
        verdicts = judge(state.engine(), keep_months, day, state.actor, dry_run)
        if as_json:
            print_json({"dry_run": dry_run, "periods": [v.as_json() for v in verdicts]})
            return
        for v in verdicts:
            action = ("would delete" if dry_run else "deleted") if v.delete else "kept"
            console.print(f"{v.contract} {v.period}: {action} {v.rows:,} interaction(s): {v.reason}", highlight=False)
        if not verdicts:
            console.print("no interaction rows older than that", highlight=False)
