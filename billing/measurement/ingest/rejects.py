"""Rows an import kept aside: listing them, and writing them back out for a fix.

``export_rejected`` writes the open rejected rows of a kind as one importable file: CSV with
the kind's columns as header (each kept row re-mapped through the header it came with), or
JSON Lines, giving back the bytes each row was read with (``raw_format``: bytes that are not
UTF-8 and NULs included). The user fixes it and imports it like any file; rows that import
then mark their rejections resolved. ``retry`` re-imports a batch's kept rows unchanged, for
when the cause was elsewhere (a contract loaded since, for example).
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

from billing.measurement.ingest.files import PREFIX
from billing.measurement.ingest.private import SEALED_PREFIX, is_sealed, stored_bytes, unseal
from billing.measurement.pseudonyms import Pseudonymizer
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


def export_rejected(
    rows: Sequence[RejectedRow] | Iterator[RejectedRow],
    columns: Sequence[str],
    path: Path,
    exported: list[int] | None = None,
    pseudonymizer: Pseudonymizer | None = None,
) -> int:
    """Write kept rows as an importable file (CSV or, for .jsonl/.ndjson/.json, JSON Lines)
    and return how many were written (their ids appended to ``exported``).

    Each row gives back the bytes it was read with: a CSV row whose header names the kind's
    columns in order, and any JSON line, is written as it was read; a CSV row with another
    header is re-mapped to the kind's columns, each field's bytes unchanged. A row that cannot
    be mapped (a wrong number of fields, ...) is written as it was, for the user to fix. Rows
    of which only the start is kept (``prefix``: longer than an import reads) are left out:
    written, their start could pass for the whole row. Sealed rows (``private``) are opened
    with ``pseudonymizer``'s key."""
    as_json = path.suffix.lower() in (".jsonl", ".ndjson", ".json")
    count = 0
    with path.open("wb") as out:
        if not as_json:
            out.write(_csv_line(list(columns)) + b"\n")
        for row in rows:
            if row.raw_format in (PREFIX, SEALED_PREFIX):
                continue
            out.write(_exported(row, columns, as_json, pseudonymizer) + b"\n")
            count += 1
            if exported is not None and row.id is not None:
                exported.append(row.id)
    return count


def raw_bytes(row: RejectedRow, pseudonymizer: Pseudonymizer | None = None) -> bytes:
    """A kept row's bytes as read (only their start for a ``prefix`` row); a sealed row is
    opened with ``pseudonymizer``'s key (``ValueError`` without it)."""
    if is_sealed(row.raw_format):
        if pseudonymizer is None:
            raise ValueError("a sealed rejected row opens only with the pseudonym key")
        return stored_bytes(*unseal(pseudonymizer, row.raw))
    return stored_bytes(row.raw, row.raw_format)


def _exported(row: RejectedRow, columns: Sequence[str], as_json: bool, pseudonymizer: Pseudonymizer | None) -> bytes:
    data = raw_bytes(row, pseudonymizer)
    record = _as_record(row, data)
    if record is None or (as_json and row.header is None):
        return data
    if as_json:
        try:
            return json.dumps(record, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:  # bytes that are not UTF-8: only the row as read holds them
            return data
    if row.header is not None and _names(row.header) == list(columns):
        return data
    return _csv_line([_text(record.get(c)) for c in columns])


def _as_record(row: RejectedRow, data: bytes) -> dict[str, Any] | None:
    """The row's fields by name; text that is not UTF-8 is kept as lone surrogates, which
    ``_csv_line`` turns back into the same bytes."""
    text = data.decode("utf-8", "surrogateescape")
    try:
        if row.header is None:
            record = json.loads(text)
            return record if isinstance(record, dict) else None
        fields = next(csv.reader(io.StringIO(text, newline="\n")), [])
    except (ValueError, RecursionError, csv.Error):
        return None
    names = _names(row.header)
    if len(fields) != len(names):
        return None
    return dict(zip(names, fields, strict=True))


def _names(header: str) -> list[str]:
    return [n.strip() for n in next(csv.reader([header]), [])]


def _csv_line(fields: list[str]) -> bytes:
    """One CSV row (without its line ending). The writer quotes a field only for the characters
    of its line terminator: ``\\r\\n`` makes it quote fields holding either."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(fields)
    return buffer.getvalue().removesuffix("\r\n").encode("utf-8", "surrogateescape")


def _text(value: Any) -> str:
    if value is None:
        return ""
    if value is True or value is False:
        return "true" if value else "false"
    return str(value)


def supersede(session: Session, kind: str, keys: list[str], batch_id: int) -> None:
    """An older open rejection of a row rejected again is replaced by the new one. (Keys kept
    before they were written as UTF-8 JSON wrote other characters as ``\\u`` escapes: those
    forms are matched too.)"""
    t = RejectedRow.__table__.c  # type: ignore[attr-defined]
    keys = sorted({*keys, *(json.dumps(json.loads(key)) for key in keys)})
    for start in range(0, len(keys), 500):
        session.execute(
            update(RejectedRow.__table__)  # type: ignore[attr-defined]
            .where(t.kind == kind, t.status == "open", t.batch_id < batch_id, t.row_key.in_(keys[start : start + 500]))
            .values(status="superseded", resolved_at=utcnow())
        )


def parsed_key(key: str) -> list[str] | None:
    """A stored row key as its parts, or None when it does not parse as a list of strings (a
    key cut short by versions before keys were checked is passed over, never a crash)."""
    try:
        parts = json.loads(key)
    except ValueError:
        return None
    return parts if isinstance(parts, list) and all(isinstance(p, str) for p in parts) else None


def mark_superseded(session: Session, ids: Sequence[int]) -> None:
    """Rows re-read by a retry and still open: the retry's batch holds them now."""
    t = RejectedRow.__table__.c  # type: ignore[attr-defined]
    for start in range(0, len(ids), 500):
        session.execute(
            update(RejectedRow.__table__)  # type: ignore[attr-defined]
            .where(t.id.in_(ids[start : start + 500]), t.status == OPEN)
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
    stored = existing_keys(session, sorted({key for _, key in open_rows_ if parsed_key(key) is not None}))
    ids = [row_id for row_id, key in open_rows_ if key in stored]
    for start in range(0, len(ids), 500):
        session.execute(
            update(RejectedRow.__table__)  # type: ignore[attr-defined]
            .where(t.id.in_(ids[start : start + 500]))
            .values(status="resolved", resolved_at=utcnow())
        )
    return len(ids)
