"""The shape every import shares: read a file in chunks, validate each row, write the good
ones with the database's bulk path, keep the bad ones, and record the run as a batch.

Each chunk commits on its own (its good rows, its rejected rows and their counts in the
batch's row together), so memory stays flat, a crash loses at most the chunk in flight, and a
batch whose import was killed still says what it stored; re-running the file is safe because
every kind of row is idempotent by its natural key. An ``ImportKind`` supplies what differs:
columns, the row converter, the natural key, how rows are written, and what runs after.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import Engine, insert, select, update
from sqlmodel import Session

from billing.core.problems import Problem
from billing.measurement.ingest.files import RowSource, open_rows
from billing.measurement.ingest.pipeline import Chunk, PreparedChunk, prepared_chunks, progress_bar, reader_kind
from billing.measurement.ingest.rejects import resolve_rejects, supersede
from billing.measurement.ingest.staging import Stager
from billing.storage.db import transaction, transaction_on
from billing.storage.models import ImportBatch, RejectedRow, utcnow

CHUNK_ROWS = 50_000
SHOWN_ERRORS = 20
#: A key longer than its column is not stored at all (cut, it would no longer be the row's key).
ROW_KEY_LENGTH: int = RejectedRow.__table__.c.row_key.type.length  # type: ignore[attr-defined]


@dataclass
class ImportSummary:
    """What one import did; ``errors`` holds the first problems (all are stored)."""

    batch: int
    source: str
    kind: str
    imported: int = 0
    duplicates: int = 0
    rejected: int = 0
    errors: list[Problem] = field(default_factory=list)
    ignored_columns: tuple[str, ...] = ()
    resolved_earlier_rejects: int = 0

    def as_json(self) -> dict[str, object]:
        data: dict[str, object] = {
            "batch": self.batch,
            "source": self.source,
            "imported": self.imported,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "errors": [p.as_dict() for p in self.errors],
        }
        if self.ignored_columns:
            data["ignored_columns"] = list(self.ignored_columns)
        if self.resolved_earlier_rejects:
            data["resolved_earlier_rejects"] = self.resolved_earlier_rejects
        return data


class Converter(Protocol):
    def __call__(self, values: tuple[str, ...], line: int) -> tuple[tuple[Any, ...] | None, list[Problem]]: ...


class ImportKind(Protocol):
    """One kind of import file (interactions, workforce, client KPIs)."""

    name: str
    columns: tuple[str, ...]
    required: tuple[str, ...]

    def converter(self, session: Session, source: str, batch_id: int) -> Converter:
        """A function turning one row's raw values into the tuple to store, or problems."""
        ...

    def kept_raw(self, rows: RowSource, values: tuple[str, ...], raw: Any) -> tuple[str, str | None]:
        """A rejected row as the text to store and its ``raw_format`` (runs in the reader)."""
        ...

    def key_of(self, values: tuple[str, ...]) -> str | None:
        """The natural key of a row as read (also of a bad one) as JSON, or None when the row
        has none or its parts are not valid identifiers (``billing.core.limits``): a key is
        short enough to be stored whole, and parses back."""
        ...

    def stager(self, session: Session, folder: Path) -> Stager:
        """How chunks go from the reader (converted rows) to ``write`` (``billing.measurement.ingest.staging``);
        ``folder`` is the import's own scratch folder."""
        ...

    def write(self, session: Session, staged: Any) -> int:
        """Store a staged chunk's rows idempotently; return how many were new."""
        ...

    def after(self, session: Session, batch_id: int, first_new_id: int) -> None:
        """Work to do once the whole file is in (same transaction as the batch's end)."""
        ...

    def recover(self, session: Session, batch_id: int) -> None:
        """Complete the derived data of a batch that stopped before its end."""
        ...

    def existing_keys(self, session: Session, keys: Sequence[str]) -> set[str]:
        """Which of these natural keys are stored now."""
        ...

    def newest_id(self, session: Session) -> int:
        """The highest row id before this import (rows above it are this import's)."""
        ...


def run_import(engine: Engine, path: Path, kind: ImportKind, progress: bool | None = None) -> ImportSummary:
    """Import ``path``; raise ``ProblemsError`` when the whole file is refused (unreadable,
    missing required columns). Bad rows never stop the file.

    Reading and validating the next chunk (a child process for big files, else a thread:
    ``billing.measurement.ingest.pipeline``) overlaps with writing the current one, so the database's bulk
    path and the Python side share the machine's cores; at most two chunks wait in between,
    so memory stays flat."""
    rows = open_rows(path, kind.columns, kind.required, kind.name)
    source_name = rows.source
    try:
        _recover_unfinished(engine, kind)
        with tempfile.TemporaryDirectory(prefix="billing-import-") as scratch:
            with transaction(engine) as session:
                batch = ImportBatch(kind=kind.name, source=source_name[:500])
                session.add(batch)
                session.flush()
                assert batch.id is not None
                batch_id = batch.id
                first_new_id = kind.newest_id(session)
                convert = kind.converter(session, source_name, batch_id)
                stager = kind.stager(session, Path(scratch))
            summary = ImportSummary(batch_id, source_name, kind.name, ignored_columns=rows.ignored_columns)
            prepare = partial(_prepare_chunk, kind, rows, convert, stager, batch_id=batch_id)
            reader = reader_kind(path)
            with (
                progress_bar(path, progress) as advance,
                prepared_chunks(rows, prepare, CHUNK_ROWS, reader) as prepared,
                engine.connect() as connection,  # one connection: SQLite keeps its page cache warm
            ):
                for chunk in prepared:
                    with stager.attached(connection, chunk.good), transaction_on(connection) as session:
                        _store_chunk(session, kind, chunk, batch_id, summary)
                    advance(chunk.position)
        with transaction(engine) as session:
            kind.after(session, batch_id, first_new_id)
            summary.resolved_earlier_rejects = resolve_rejects(session, kind.name, kind.existing_keys)
            session.execute(
                update(ImportBatch)
                .where(ImportBatch.id == batch_id)  # type: ignore[arg-type]
                .values(finished_at=utcnow())
            )
    finally:
        rows.close()
    return summary


def _recover_unfinished(engine: Engine, kind: ImportKind) -> None:
    """An import that stopped after some chunks (a crash, a kill) committed those rows; derived
    data a kind completes only at the end is completed now. Recovering is idempotent, so a
    batch that is merely still running elsewhere is harmlessly recovered again."""
    t = ImportBatch.__table__.c  # type: ignore[attr-defined]
    with transaction(engine) as session:
        unfinished = session.execute(
            select(t.id).where(t.kind == kind.name, t.finished_at.is_(None)).order_by(t.id)
        ).scalars()
        for batch_id in list(unfinished):
            kind.recover(session, batch_id)


def _prepare_chunk(
    kind: ImportKind, rows: RowSource, convert: Converter, stager: Stager, chunk: Chunk, batch_id: int
) -> PreparedChunk:
    """Validate one chunk: rows to store, and the bad ones as rejected-row records."""
    good: list[tuple[Any, ...]] = []
    bad: list[dict[str, Any]] = []
    found: list[Problem] = []
    source = rows.source
    for line, values, raw in chunk:
        if not values:
            problems = [Problem("malformed_row", rows.malformed(raw), source, line)]
        else:
            row, problems = convert(values, line)
            if row is not None:
                good.append(row)
                continue
        bad.append(_rejected(kind, rows, batch_id, line, values, raw, problems))
        if len(found) < SHOWN_ERRORS:
            found.extend(problems)
    return PreparedChunk(stager.prepare(good), bad, found, rows.position())


def _store_chunk(
    session: Session, kind: ImportKind, chunk: PreparedChunk, batch_id: int, summary: ImportSummary
) -> None:
    """Store one chunk's rows, keep its bad ones, and count both in the batch's row, all in the
    chunk's transaction: a batch whose import was killed counts what it committed."""
    inserted = kind.write(session, chunk.good) if len(chunk.good) else 0
    duplicates = len(chunk.good) - inserted
    summary.imported += inserted
    summary.duplicates += duplicates
    if chunk.bad:
        summary.rejected += len(chunk.bad)
        summary.errors.extend(chunk.problems[: max(0, SHOWN_ERRORS - len(summary.errors))])
        supersede(session, kind.name, [b["row_key"] for b in chunk.bad if b["row_key"]], batch_id)
        session.execute(insert(RejectedRow.__table__), chunk.bad)  # type: ignore[attr-defined]
    b = ImportBatch.__table__.c  # type: ignore[attr-defined]
    session.execute(
        update(ImportBatch.__table__)  # type: ignore[attr-defined]
        .where(b.id == batch_id)
        .values(
            imported=b.imported + inserted,
            duplicates=b.duplicates + duplicates,
            rejected=b.rejected + len(chunk.bad),
        )
    )


def _rejected(
    kind: ImportKind,
    rows: RowSource,
    batch_id: int,
    line: int,
    values: tuple[str, ...],
    raw: Any,
    problems: list[Problem],
) -> dict[str, Any]:
    key = kind.key_of(values or rows.salvage(raw))
    text, raw_format = kind.kept_raw(rows, values, raw)
    return {
        "batch_id": batch_id,
        "kind": kind.name,
        "source": rows.source[:500],
        "row_number": line,
        "row_key": key if key is not None and len(key) <= ROW_KEY_LENGTH else None,  # never cut
        "header": rows.header,
        "raw": text,
        "raw_format": raw_format,
        "errors": [p.as_dict() for p in problems],
        "status": "open",
        "created_at": utcnow(),
        "resolved_at": None,
    }
