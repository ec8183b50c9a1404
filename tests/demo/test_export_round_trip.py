"""The client's data, portable (issue 15, item 3): Banco Andino's export from the demo,
imported into a fresh database through the ordinary commands (contracts load, outcomes import,
workforce import, batch by batch in the order they came), re-rates every exported invoice to
its lines and totals on the data it was issued on; the manifest's counts and digests are the
files'; Parquet holds the same rows."""

from __future__ import annotations

import csv
import hashlib
import json
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from billing.cli import app
from billing.core.periods import Period
from billing.rating.service import rate_contract
from billing.storage.db import make_engine, migrate, reading


def _export(url: str, out: Path, fmt: str) -> dict:
    result = CliRunner().invoke(app, ["--db", url, "export", "banco-andino", "--out", str(out), "--format", fmt])
    assert result.exit_code == 0, result.output
    return json.loads((out / "manifest.json").read_text())


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_the_export_imported_into_a_fresh_database_reproduces_every_invoice(demo_url, tmp_path, fmt):
    out = tmp_path / "export"
    manifest = _export(demo_url, out, fmt)
    for item in manifest["files"]:
        assert hashlib.sha256((out / item["path"]).read_bytes()).hexdigest() == item["sha256"]

    fresh = f"sqlite:///{tmp_path / 'fresh.db'}"
    migrate(fresh)
    run = CliRunner()
    issuers = sorted(str(p) for p in (out / "issuers").glob("*.yaml"))
    loaded = run.invoke(app, ["--db", fresh, "entities", "load", *issuers])
    assert issuers and loaded.exit_code == 0, loaded.output
    contracts = sorted(str(p) for p in (out / "contracts").glob("*.yaml"))
    loaded = run.invoke(app, ["--db", fresh, "contracts", "load", *contracts])
    assert loaded.exit_code == 0, loaded.output
    new_batch: dict[int, int] = {}
    for batch in manifest["import_batches"]:
        command = "outcomes" if batch["kind"] == "interactions" else "workforce"
        result = run.invoke(app, ["--db", fresh, command, "import", str(out / batch["file"])])
        assert result.exit_code == 0, result.output
        summary = json.loads(result.stdout)
        assert summary["imported"] == batch["rows"]
        new_batch[batch["batch"]] = summary["batch"]

    invoices = _rows(out, "documents", fmt)
    lines = _rows(out, "document_lines", fmt)
    issued = [d for d in invoices if d["kind"] == "invoice" and d["status"] in ("issued", "paid")]
    assert len(issued) == 3
    engine = make_engine(fresh)
    with reading(engine) as session:
        for invoice in issued:
            as_of = max(new for old, new in new_batch.items() if old <= int(invoice["data_as_of"]))
            rated = rate_contract(session, invoice["contract"], Period.parse(invoice["period"]), as_of_batch=as_of)
            billed = [
                (line["charge"], line["type"], Decimal(line["quantity"]), Decimal(line["amount"]))
                for line in lines
                if str(line["document_id"]) == str(invoice["id"])
            ]
            again = [(line.charge, line.type.value, line.quantity, line.amount) for line in rated.lines]
            assert again == billed, invoice["number"]
            assert (rated.subtotal, rated.tax, rated.total) == tuple(
                Decimal(invoice[k]) for k in ("subtotal", "tax", "total")
            )
    engine.dispose()


def test_parquet_holds_the_rows_the_manifest_counts(demo_url, tmp_path):
    import pyarrow.parquet as pq

    out = tmp_path / "parquet"
    manifest = _export(demo_url, out, "parquet")
    tables = [f for f in manifest["files"] if f["path"].endswith(".parquet")]
    assert {"documents.parquet", "document_lines.parquet", "audit_trail.parquet"} <= {f["path"] for f in tables}
    for item in tables:
        assert pq.ParquetFile(out / item["path"]).metadata.num_rows == item["rows"]
    interactions = sum(f["rows"] for f in tables if f["path"].startswith("interactions/"))
    assert interactions > 100_000  # three months of Banco Andino, and its late data


def test_a_range_of_periods_exports_those_periods_only(demo_url, tmp_path):
    out = tmp_path / "september"
    result = CliRunner().invoke(
        app, ["--db", demo_url, "export", "banco-andino", "--out", str(out), "--from", "2026-09", "--to", "2026-09"]
    )
    assert result.exit_code == 0, result.output
    assert {d["period"] for d in _rows(out, "documents", "csv")} == {"2026-09"}
    with (out / "interactions" / "batch-000001.csv").open() as handle:
        assert {row["started_at"][:7] for row in csv.DictReader(handle)} <= {"2026-09", "2026-10"}  # UTC of Lima days
    unknown = CliRunner().invoke(app, ["--db", demo_url, "export", "nobody", "--out", str(tmp_path / "x")])
    assert unknown.exit_code == 1 and "no client" in unknown.stderr


def _rows(out: Path, name: str, fmt: str) -> list[dict]:
    path = out / f"{name}.{fmt}"
    if fmt == "csv":
        with path.open() as handle:
            return list(csv.DictReader(handle))
    return [json.loads(line) for line in path.read_text().splitlines()]
