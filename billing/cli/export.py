"""``billing export CLIENT --out DIR [--format csv|jsonl|parquet] [--from YYYY-MM --to YYYY-MM]``."""

from __future__ import annotations

from pathlib import Path

import typer

from billing.cli.common import console, fail, parse_period, state


def register(app: typer.Typer) -> None:
    @app.command("export")
    def export(
        client: str = typer.Argument(..., help="Client id"),
        out: Path = typer.Option(..., "--out", help="Folder to write into"),
        fmt: str = typer.Option("csv", "--format", help="csv, jsonl or parquet"),
        first: str | None = typer.Option(None, "--from", help="First period YYYY-MM"),
        last: str | None = typer.Option(None, "--to", help="Last period YYYY-MM"),
    ) -> None:
        """The client's data, portable: contract versions (original YAML), documents, lines,
        payments, monthly KPIs and service levels, interactions and workforce hours per import
        batch, the audit trail, and manifest.json with each file's rows and SHA-256."""
        from billing.export.service import export_client
        from billing.export.writers import FORMATS

        if fmt not in FORMATS:
            fail(f"--format is csv, jsonl or parquet, not {fmt!r}", 2)
        start = parse_period(first) if first else None
        end = parse_period(last) if last else None
        manifest = export_client(state.engine(), client, out, fmt, start, end)
        rows = sum(f.rows for f in manifest.files)
        console.print(
            f"{len(manifest.files)} file(s), {rows:,} row(s) written to {out} (manifest.json)", highlight=False
        )
