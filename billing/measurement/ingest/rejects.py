"""Rows an import kept aside: listing them, and writing them back out for a fix.

``export_rejected`` writes the open rejected rows of a kind as one importable file: CSV with
the kind's columns as header (each kept row re-mapped through the header it came with), or
JSON Lines. The user fixes it and imports it like any file; rows that import then mark their
rejections resolved. ``retry`` re-imports a batch's kept rows unchanged, for when the cause
was elsewhere (a contract loaded since, for example).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlmodel import Session

from billing.storage.models import RejectedRow, utcnow

OPEN = "open"


def rejected_rows(
    session: Session, kind: str | None = None, batch: int | None = None, status: str | None = OPEN
) -> Iterator[RejectedRow]:
    """Kept rows in file order, streamed (a large bad file does not load at once)."""
    t = RejectedRow.__table__.c  # type: ignore[attr-defined]
    query = select(RejectedRow).order_by(t.batch_id, t.row_number)
    if kind is not None:
        query = query.where(t.kind == kind)
    if batch is not None:
        query = query.where(t.batch_id == batch)
    if status is not None:
        query = query.where(t.status == status)
    yield from session.scalars(query.execution_options(yield_per=1000))


def describe(row: RejectedRow) -> list[str]:
    """One readable message per problem of a kept row."""
    out = []
    for error in row.errors:
        field = f"{error.get('field')}: " if error.get("field") else ""
        out.append(f"{row.source}:{row.row_number}: {field}{error.get('message')}")
    return out


def export_rejected(rows: Sequence[RejectedRow] | Iterator[RejectedRow], columns: Sequence[str], path: Path) -> int:
    """Write kept rows as an importable file (CSV or, for .jsonl/.ndjson, JSON Lines)."""
    as_json = path.suffix.lower() in (".jsonl", ".ndjson", ".json")
    count = 0
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = None if as_json else csv.writer(out, lineterminator="\n")
        if writer is not None:
            writer.writerow(columns)
        for row in rows:
            record = _as_record(row)
            if as_json:
                out.write((json.dumps(record) if record is not None else row.raw) + "\n")
            elif writer is not None:
                if record is None:
                    out.write(row.raw + "\n")  # unreadable as kept: written verbatim for the user to fix
                else:
                    writer.writerow([_text(record.get(c)) for c in columns])
            count += 1
    return count


def _as_record(row: RejectedRow) -> dict[str, Any] | None:
    if row.header is None:
        try:
            record = json.loads(row.raw)
        except ValueError:
            return None
        return record if isinstance(record, dict) else None
    names = [n.strip() for n in next(csv.reader(io.StringIO(row.header)))]
    fields = next(csv.reader(io.StringIO(row.raw)), [])
    if len(fields) != len(names):
        return None
    return dict(zip(names, fields, strict=True))


def _text(value: Any) -> str:
    if value is None:
        return ""
    if value is True or value is False:
        return "true" if value else "false"
    return str(value)


def supersede(session: Session, kind: str, keys: list[str], batch_id: int) -> None:
    """An older open rejection of a row rejected again is replaced by the new one."""
    t = RejectedRow.__table__.c  # type: ignore[attr-defined]
    for start in range(0, len(keys), 500):
        session.execute(
            update(RejectedRow.__table__)  # type: ignore[attr-defined]
            .where(t.kind == kind, t.status == "open", t.batch_id < batch_id, t.row_key.in_(keys[start : start + 500]))
            .values(status="superseded", resolved_at=utcnow())
        )


def resolve_rejects(session: Session, kind: str, existing_keys: Callable[[Session, Sequence[str]], set[str]]) -> int:
    """Mark open rejected rows resolved when a row with their key is stored now."""
    t = RejectedRow.__table__.c  # type: ignore[attr-defined]
    open_rows_ = session.execute(
        select(t.id, t.row_key).where(t.kind == kind, t.status == "open", t.row_key.is_not(None))
    ).all()
    if not open_rows_:
        return 0
    stored = existing_keys(session, sorted({key for _, key in open_rows_}))
    ids = [row_id for row_id, key in open_rows_ if key in stored]
    for start in range(0, len(ids), 500):
        session.execute(
            update(RejectedRow.__table__)  # type: ignore[attr-defined]
            .where(t.id.in_(ids[start : start + 500]))
            .values(status="resolved", resolved_at=utcnow())
        )
    return len(ids)
