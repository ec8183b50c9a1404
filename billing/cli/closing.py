"""``billing close``: one draft invoice per contract for a period."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer

from billing.cli.common import PARTIAL, console, err_console, error, fail, parse_period, print_json, state
from billing.cli.invoices import EXPECTED

if TYPE_CHECKING:
    from billing.invoicing.invoices import CloseResult


def register(app: typer.Typer) -> None:
    @app.command("close")
    def close(
        period: str = typer.Option(..., "--period", help="Billing period YYYY-MM"),
        preview: bool = typer.Option(
            False, "--preview", help="Also draft the contracts not closable yet, as provisional drafts"
        ),
        as_json: bool = typer.Option(False, "--json"),
    ) -> None:
        """Rate every active contract whose month is closable (ended, and past its grace days:
        see `billing periods status`) and store (or refresh) one draft invoice each. A contract
        not closable yet, or that cannot be drafted, is listed and skipped (with the date it
        becomes closable); the others get their drafts, and the exit status is 3 (done in
        part). --preview drafts the others too, marked provisional: they cannot be issued."""
        month = parse_period(period)
        try:
            result = _close_with_progress(month, not as_json and err_console.is_terminal, preview)
        except EXPECTED as exc:
            fail(str(exc))
        if as_json:
            print_json(result.as_json())
        else:
            _print_close(result)
        for outcome in result.failures:
            if outcome.reason == "not_closable":
                error(f"{outcome.contract} not drafted: {outcome.message}")
            else:
                error(f"{outcome.contract} skipped ({outcome.reason}): {outcome.message}")
        if result.partial:
            raise typer.Exit(PARTIAL)


def _close_with_progress(month: Any, show: bool, preview: bool) -> CloseResult:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from billing.invoicing.invoices import close_period
    from billing.storage.models import utcnow

    engine, now = state.engine(), utcnow()
    if not show:
        return close_period(engine, month, state.actor, now, preview=preview)
    columns = (TextColumn("close {task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err_console, transient=True) as progress:
        task = progress.add_task(f"{month}: measuring and rating every contract", total=None)

        def step(done: int, total: int, code: str) -> None:
            progress.update(task, completed=done, total=total, description=f"{month}: storing drafts ({code})")

        return close_period(engine, month, state.actor, now, on_progress=step, preview=preview)


def _print_close(result: CloseResult) -> None:
    from rich.table import Table

    table = Table("contract", "action", "invoice", "total", "note")
    for outcome in result.outcomes:
        shown = outcome.as_json()
        total = f"{shown['total']} {outcome.currency}" if shown["total"] else ""
        reference = outcome.number or (f"draft {outcome.document_id}" if outcome.document_id else "")
        reference += " (provisional)" if outcome.provisional and reference else ""
        table.add_row(outcome.contract, outcome.action, reference, total, outcome.message)
    console.print(table)
    counts = result.as_json()
    waiting = sum(1 for outcome in result.failures if outcome.reason == "not_closable")
    failed = len(result.failures) - waiting
    provisional = sum(1 for outcome in result.outcomes if outcome.provisional and outcome.action != "skipped")
    console.print(
        f"{result.period}: {counts['created']} created, {counts['refreshed']} refreshed, "
        f"{counts['unchanged']} unchanged, {counts['skipped'] - failed - waiting} skipped (already issued), "
        f"{waiting} not closable yet, {failed} could not be drafted"
        + (f", {provisional} of the drafts provisional" if provisional else "")
        + f"; data as of import batch {result.data_as_of or '-'}",
        highlight=False,
    )
