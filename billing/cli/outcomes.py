"""``billing outcomes import | rejected | retry`` and ``billing workforce import``.

An import prints its JSON summary on stdout and every rejected row's problems on stderr, and
exits 1 when any row was rejected (the good rows are imported all the same). A file refused
as a whole (unreadable, required columns missing) exits 2 and stores nothing.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from billing.cli.common import command_group, console, err_console, fail, fail_problems, print_json, state
from billing.core.problems import ProblemsError

if TYPE_CHECKING:
    from rich.text import Text

    from billing.measurement.ingest import ImportSummary


REJECTED_EXIT = 1
REFUSED_EXIT = 2
#: Control characters a kept row may hold, shown escaped (a terminal would act on them).
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def safe_text(value: str) -> Text:
    """Text from a file, for the terminal: never markup, control characters as ``\\xNN``."""
    from rich.text import Text

    return Text(_CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", value))


def plain(message: str) -> None:
    """A line on stderr that names a file (never read as markup)."""
    err_console.print(safe_text(message), highlight=False)


def register(app: typer.Typer) -> None:
    outcomes = command_group(help="Interactions: import files, list and retry rejected rows.")
    workforce = command_group(help="Workforce hours (contract, date, agent_id, productive_hours).")
    app.add_typer(outcomes, name="outcomes")
    app.add_typer(workforce, name="workforce")

    @outcomes.command("import")
    def import_(file: Path = typer.Argument(..., help="Interactions: CSV with a header, or JSON Lines")) -> None:
        """Import interactions; only new (contract, interaction_id) pairs are stored."""
        from billing.measurement import ingest

        run_and_report(lambda: ingest.import_interactions(state.engine(), file))

    @outcomes.command("rejected")
    def rejected(
        batch: int | None = typer.Option(None, "--batch", help="Only the rows of this import batch"),
        kind: str = typer.Option("interactions", "--kind", help="interactions, workforce or client_kpis"),
        export: Path | None = typer.Option(
            None, "--export", help="Write the rows as an importable file (.csv or .jsonl) to fix and re-import"
        ),
        show_all: bool = typer.Option(False, "--all", help="Also rows already resolved or superseded"),
        as_json: bool = typer.Option(False, "--json"),
    ) -> None:
        """Rows kept aside by imports, with every problem; open ones unless --all."""
        from rich.table import Table

        from billing.measurement import ingest
        from billing.storage.db import reading

        if kind not in ingest.KINDS:
            fail(f"unknown kind {kind!r}: {', '.join(ingest.KINDS)}", 2)
        if export is not None:
            try:
                count = ingest.export_open_rejects(state.engine(), kind, export, batch)
            except OSError as exc:
                fail(f"cannot write {export}: {exc.strerror or exc}", 2)
            plain(f"{count} row(s) written to {export}; fix them and import the file again.")
            cut = ingest.open_prefix_rows(state.engine(), kind, batch)
            if cut:
                plain(
                    f"{cut} row(s) longer than an import reads are not written (only their start is kept): "
                    "`billing outcomes rejected` shows where they are; fix them in the original file."
                )
            return
        with reading(state.engine()) as session:
            rows: list[dict[str, Any]] = [
                {
                    "id": row.id,
                    "batch": row.batch_id,
                    "source": row.source,
                    "row": row.row_number,
                    "status": row.status,
                    "raw": None if row.raw_format in ("sealed", "sealed-pfx") else row.raw,
                    "raw_format": row.raw_format,
                    "errors": row.errors,
                }
                for row in ingest.rejected_rows(session, kind, batch, None if show_all else "open")
            ]
        if as_json:
            print_json({"data": rows, "count": len(rows)})
            return
        table = Table("batch", "row", "status", "problems", "raw")
        for item in rows:
            problems = "\n".join(f"{e.get('field') or '-'}: {e.get('message')}" for e in item["errors"])
            raw = item["raw"] if item["raw_format"] is None else f"({item['raw_format']}) {item['raw']}"
            if item["raw_format"] in ("sealed", "sealed-pfx"):  # unreadable without the key: --export opens it
                raw = f"({item['raw_format']}: --export opens it)"
            table.add_row(
                str(item["batch"]), str(item["row"]), str(item["status"]), safe_text(problems), safe_text(raw)
            )
        console.print(table)
        console.print(f"{len(rows)} row(s)")

    @outcomes.command("retry")
    def retry(
        batch: int = typer.Option(..., "--batch", help="Re-import this batch's open rejected rows as they are"),
        kind: str = typer.Option("interactions", "--kind"),
    ) -> None:
        """Re-import kept rows unchanged (after loading a missing contract, say). To correct
        values, use `rejected --export FILE`, edit it, and import it."""
        from billing.measurement import ingest

        if kind not in ingest.KINDS:
            fail(f"unknown kind {kind!r}: {', '.join(ingest.KINDS)}", 2)
        run_and_report(lambda: ingest.retry_batch(state.engine(), kind, batch))

    @workforce.command("import")
    def workforce_import(file: Path = typer.Argument(..., help="CSV: contract,date,agent_id,productive_hours")) -> None:
        """Import productive hours; only new (contract, date, agent_id) rows are stored."""
        from billing.measurement import ingest

        run_and_report(lambda: ingest.import_workforce(state.engine(), file))


def run_and_report(run: object) -> None:
    """Run an import, print its summary and every rejected row, set the exit status."""
    from sqlalchemy.exc import OperationalError

    from billing.measurement import ingest
    from billing.storage.db import reading

    try:
        summary: ImportSummary = run()  # type: ignore[operator]
    except ProblemsError as exc:
        fail_problems(exc.problems, REFUSED_EXIT)
    except OperationalError as exc:
        if "database is locked" not in str(exc):
            raise
        # SQLite has one writer at a time, and the one holding the lock (another import, a
        # close) mostly takes it again before a waiting writer wakes up.
        fail(
            "the database stayed busy with another writer for longer than the 60 s wait; every chunk "
            "this import committed is kept, and running the same command again imports only what is missing"
        )
    print_json(summary.as_json())
    if summary.rejected:
        with reading(state.engine()) as session:
            for row in ingest.rejected_rows(session, summary.kind, summary.batch):
                for message in ingest.describe(row):
                    line = safe_text("rejected: ")
                    line.stylize("red")
                    err_console.print(line.append_text(safe_text(message)), highlight=False, soft_wrap=True)
        err_console.print(
            f"{summary.rejected} row(s) rejected and kept: `billing outcomes rejected --batch {summary.batch}` "
            "lists them, `--export FILE` writes them out to fix and re-import.",
            highlight=False,
        )
        raise typer.Exit(REJECTED_EXIT)
