"""``billing stripe enqueue | push | status``: collection through Stripe's outbox."""

from __future__ import annotations

import typer

from billing.cli.common import command_group, console, fail, print_json, state


def register(app: typer.Typer) -> None:
    group = command_group(help="Stripe: queue issued documents, push them, see what is waiting.")
    app.add_typer(group, name="stripe")

    @group.command("enqueue")
    def enqueue(
        issued: bool = typer.Option(False, "--issued", help="Queue every issued document not yet queued."),
    ) -> None:
        """Queue issued documents for Stripe (safe to repeat: nothing is queued twice)."""
        from billing.collection import outbox as collection
        from billing.storage.db import transaction

        if not issued:
            fail("say what to queue: --issued", 2)
        with transaction(state.engine()) as session:
            count = collection.enqueue_issued(session)
        console.print(f"{count} document(s) queued for Stripe", highlight=False)

    @group.command("push")
    def push(
        limit: int | None = typer.Option(None, "--limit", min=1, help="Send at most N rows."),
        as_json: bool = typer.Option(False, "--json"),
    ) -> None:
        """Send pending rows to Stripe. Failures stay pending for the next run (exit 1)."""
        from billing.collection import outbox as collection
        from billing.collection.gateway import Gateway, GatewayError, StripeSettings
        from billing.storage.models import utcnow

        try:
            gateway = Gateway(StripeSettings.from_env())
        except GatewayError as exc:
            fail(str(exc), 2)
        report = collection.push(state.engine(), gateway, utcnow(), limit=limit, actor=state.actor)
        if as_json:
            print_json(report.as_json())
        else:
            for row in report.sent:
                paid = " (paid in Stripe: marked paid)" if row.get("document_status") == "paid" else ""
                console.print(f"sent {row['document']} {row['operation']} -> {row['stripe_id']}{paid}", highlight=False)
            for row in report.skipped:
                console.print(f"skipped {row['document']} {row['operation']}: voided before it reached Stripe")
            for row in report.failed:
                console.print(f"[red]pending[/red] {row['document']} (attempt {row['attempts']}): {row['error']}")
            console.print(
                f"{len(report.sent)} sent, {len(report.skipped)} skipped, {len(report.failed)} still pending",
                highlight=False,
            )
        if report.failed:
            raise typer.Exit(1)

    @group.command("status")
    def status(as_json: bool = typer.Option(False, "--json")) -> None:
        """Counts by status, and every row not yet sent with its last error."""
        from rich.table import Table

        from billing.collection import outbox as collection
        from billing.storage.db import reading

        with reading(state.engine()) as session:
            data = collection.status(session)
        if as_json:
            print_json(data)
            return
        counts = ", ".join(f"{name} {count}" for name, count in data["counts"].items()) or "nothing queued"
        console.print(counts, highlight=False)
        if data["waiting"]:
            table = Table("document", "operation", "status", "attempts", "last error")
            for row in data["waiting"]:
                table.add_row(row["document"], row["operation"], row["status"], str(row["attempts"]), row["last_error"])
            console.print(table)
