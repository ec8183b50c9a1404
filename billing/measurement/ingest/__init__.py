"""Imports: interactions, workforce hours and the client's KPI figures.

Every import streams its file in chunks through the database's bulk path, is idempotent by
the rows' natural keys, keeps every bad row with all its problems (``rejected_row``) while
importing the good ones, and records the run as an ``ImportBatch``. Interactions keep their
customers' next contacts (the repeat-contact input) and the daily rollup of outcomes
(``billing.measurement.rollup``) right in every chunk's transaction, in SQL.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from sqlalchemy import Engine

from billing.measurement.ingest.batches import CHUNK_ROWS, ImportKind, ImportSummary, run_import
from billing.measurement.ingest.client_kpis import ClientKpiKind
from billing.measurement.ingest.files import PREFIX
from billing.measurement.ingest.interactions import COLUMNS as INTERACTION_COLUMNS
from billing.measurement.ingest.interactions import InteractionKind
from billing.measurement.ingest.private import SEALED_PREFIX
from billing.measurement.ingest.rejects import describe, export_rejected, mark_superseded, rejected_rows
from billing.measurement.ingest.workforce import WorkforceKind
from billing.measurement.pseudonyms import Pseudonymizer, load_key
from billing.storage.db import reading, transaction

KINDS: dict[str, ImportKind] = {
    "interactions": InteractionKind(),
    "workforce": WorkforceKind(),
    "client_kpis": ClientKpiKind(),
}


def import_interactions(engine: Engine, path: Path, progress: bool | None = None) -> ImportSummary:
    """Import an interactions file (CSV with a header, or JSON Lines)."""
    return run_import(engine, Path(path), KINDS["interactions"], progress)


def import_workforce(engine: Engine, path: Path, progress: bool | None = None) -> ImportSummary:
    return run_import(engine, Path(path), KINDS["workforce"], progress)


def import_client_kpis(engine: Engine, path: Path, progress: bool | None = None) -> ImportSummary:
    return run_import(engine, Path(path), KINDS["client_kpis"], progress)


def export_open_rejects(
    engine: Engine, kind: str, path: Path, batch: int | None = None, exported: list[int] | None = None
) -> int:
    """Write the open rejected rows of ``kind`` (optionally one batch) as an importable file;
    rows of which only the start is kept are left out (``open_prefix_rows`` counts them)."""
    with reading(engine) as session:
        rows = rejected_rows(session, kind, batch)
        return export_rejected(rows, KINDS[kind].columns, Path(path), exported, _key_if_sealed(engine, kind))


def open_prefix_rows(engine: Engine, kind: str, batch: int | None = None) -> int:
    """Open rejected rows too long to be kept whole: no export or retry can give them back."""
    with reading(engine) as session:
        return sum(1 for row in rejected_rows(session, kind, batch) if row.raw_format in (PREFIX, SEALED_PREFIX))


def _key_if_sealed(engine: Engine, kind: str) -> Pseudonymizer | None:
    """The pseudonym key, for kinds whose kept rows may be sealed (interactions)."""
    if kind != "interactions":
        return None
    return load_key(engine.url.render_as_string(hide_password=False))


def retry_batch(engine: Engine, kind: str, batch: int, progress: bool | None = None) -> ImportSummary:
    """Re-import a batch's open rejected rows unchanged (e.g. after loading a missing contract).

    The rows are written in the batch's own format and read again as a new batch: rows that
    import now resolve their rejections, rows rejected again are kept in the new batch, and
    their rejections in this batch are marked superseded."""
    with reading(engine) as session:
        first = next(rejected_rows(session, kind, batch), None)
        suffix = ".jsonl" if first is not None and first.header is None else ".csv"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"retry-batch-{batch}{suffix}"
        exported: list[int] = []
        export_open_rejects(engine, kind, path, batch, exported)
        summary = run_import(engine, path, KINDS[kind], progress)
    with transaction(engine) as session:
        mark_superseded(session, exported)
    return summary


__all__ = [
    "CHUNK_ROWS",
    "INTERACTION_COLUMNS",
    "KINDS",
    "ImportSummary",
    "describe",
    "export_open_rejects",
    "import_client_kpis",
    "import_interactions",
    "import_workforce",
    "open_prefix_rows",
    "rejected_rows",
    "retry_batch",
]
