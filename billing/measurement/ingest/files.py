"""Reading import files as a stream of rows, whatever their format and whatever bytes they hold.

CSV (with a header) and JSON Lines are told apart by extension (``.csv``, ``.jsonl``,
``.ndjson``, ``.json``) or, failing that, by the first non-blank character (``{`` means JSON
Lines). Each row comes out as a tuple of raw values in the order the importer asks for, with
its line number in the file; values are strings, ``""`` when absent: JSON numbers and booleans
are turned into their text so one validator serves both formats.

The file is read as bytes (``billing.measurement.ingest.lines``) and made into rows
(``billing.measurement.ingest.records``), so **a bad byte is a bad row**: a row that is not
UTF-8, holds a NUL, is longer than ``MAX_ROW_BYTES``, has the wrong number of fields or is not
a JSON object comes out as a ``Malformed`` row holding its bytes, and every other row of the
file is read. CSV quoting works as ever (a quoted field may hold newlines: one row over
several lines). Memory stays within a few times ``MAX_ROW_BYTES`` whatever the file holds.
``raw_text`` turns a row as read into what ``rejected_row`` stores: its text, or its bytes
escaped where they are not text a database can hold.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from billing.core import limits
from billing.core.problems import Problem, ProblemsError
from billing.measurement.ingest.lines import BOM, KEPT_PREFIX_BYTES, escape_bytes, pieces, storable, without_line_end
from billing.measurement.ingest.records import Malformed, NotAValue, csv_rows, jsonl_rows, picker, text_of

#: The longest row read (bytes of a line, or about that of a CSV record over several lines);
#: read when a file is opened, so a test may lower it here.
MAX_ROW_BYTES = limits.MAX_ROW_BYTES
#: The csv module's own cap is only a backstop: records are cut at ``MAX_ROW_BYTES`` before it.
csv.field_size_limit(4 * limits.MAX_ROW_BYTES)
#: How a kept row's ``raw`` is stored (``RejectedRow.raw_format``): as text (None), as escaped
#: bytes (``lines.escape_bytes``), or as the escaped first ``KEPT_PREFIX_BYTES`` of a longer row.
ESCAPED = "escaped"
PREFIX = "prefix"

__all__ = ["ESCAPED", "KEPT_PREFIX_BYTES", "MAX_ROW_BYTES", "PREFIX", "Malformed", "RowSource", "open_rows"]


@dataclass
class RowSource:
    """An open import file: its format, header, and which wanted columns it lacks."""

    path: Path
    format: str  # "csv" or "jsonl"
    columns: tuple[str, ...]
    header: str | None = None
    ignored_columns: tuple[str, ...] = ()
    width: int = 0
    _handle: Any = field(default=None, repr=False)
    limit: int = limits.MAX_ROW_BYTES

    @property
    def source(self) -> str:
        """The file's name as text that can be stored and printed (bytes that are not UTF-8
        in a name shown as ``\\xNN``)."""
        return str(self.path).encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")

    def rows(self) -> Iterator[tuple[int, tuple[str, ...], Any]]:
        """(line number, values in ``columns`` order, raw) for every data row. ``raw`` is the
        row's text as read, or a ``Malformed`` when it has no values; ``raw_text`` makes it
        storable."""
        if self.format == "csv":
            blocks = pieces(self._handle, self.limit, skip_first_line=True)
            yield from csv_rows(blocks, self.width, picker(self.header or "", self.columns), self.limit)
        else:
            yield from jsonl_rows(pieces(self._handle, self.limit), self.columns)

    def raw_text(self, raw: Any) -> tuple[str, str | None]:
        """A row as read, as stored text and its format (``ESCAPED``, ``PREFIX`` or None)."""
        if isinstance(raw, Malformed):
            data, truncated = raw.data, raw.truncated
        else:
            data, truncated = raw, False
        if isinstance(data, str):
            data = data.encode("utf-8")
        if truncated:
            return escape_bytes(data), PREFIX
        data = without_line_end(data)
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            return escape_bytes(data), ESCAPED
        return (text, None) if storable(text) else (escape_bytes(data), ESCAPED)

    def malformed(self, raw: Any) -> str:
        """Why a row that came out without values could not be read."""
        return str(raw.reason) if isinstance(raw, Malformed) else "could not be read"

    def salvage(self, raw: Any) -> tuple[str, ...]:
        """The values of a malformed row as far as they can be read (bytes that are not UTF-8
        kept as lone surrogates, which no identifier accepts): only for its natural key, so a
        later import of the row fixed resolves it. ``()`` when there are none."""
        if not isinstance(raw, Malformed) or raw.truncated:
            return ()
        text = raw.data if isinstance(raw.data, str) else raw.data.decode("utf-8", "surrogateescape")
        try:
            if self.format == "jsonl":
                record = json.loads(text)
                return tuple(text_of(record.get(name)) for name in self.columns) if isinstance(record, dict) else ()
            fields = next(csv.reader(io.StringIO(text, newline="\n")), [])
        except (ValueError, RecursionError, csv.Error, NotAValue):
            return ()
        if len(fields) != self.width:
            return ()
        return tuple(picker(self.header or "", self.columns)(fields))

    def position(self) -> int:
        """Bytes read so far (approximately: the reader reads ahead), for a progress bar."""
        try:
            return int(self._handle.tell())
        except (AttributeError, OSError, ValueError):
            return 0

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()


def open_rows(path: Path, columns: Sequence[str], required: Sequence[str], kind: str) -> RowSource:
    """Open ``path`` for reading ``columns``; refuse the whole file (``ProblemsError``) when it
    cannot be read or its header is unreadable or lacks a required column."""
    limit = MAX_ROW_BYTES
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise ProblemsError([Problem("file", f"cannot read the file: {exc}", str(path))]) from None
    try:
        first = handle.readline(limit + 2)
        handle.seek(0)
        source = RowSource(path, "jsonl", tuple(columns), _handle=handle, limit=limit)
        if _format_of(path, first) == "jsonl":
            return source
        names = _header(first, source.source, kind, limit)
        missing = [name for name in required if name not in names]
        if missing:
            raise ProblemsError(
                [
                    Problem(
                        "missing_columns",
                        f"the header lacks required column(s) {', '.join(missing)}; "
                        f"expected {', '.join(columns)}; nothing was imported",
                        source.source,
                        1,
                        ",".join(missing),
                    )
                ]
            )
        source.format = "csv"
        source.header = without_line_end(first.removeprefix(BOM)).decode("utf-8")
        source.ignored_columns = tuple(n for n in names if n not in columns)
        source.width = len(names)
        return source
    except BaseException:
        handle.close()
        raise


def _header(first: bytes, source: str, kind: str, limit: int) -> list[str]:
    """The column names of a CSV file's first line, or the whole file refused."""

    def refuse(code: str, message: str) -> ProblemsError:
        return ProblemsError([Problem(code, message, source, 1)])

    if len(first) > limit and not first.endswith(b"\n"):
        raise refuse("header_too_long", f"the first line (the header) is longer than {limit:,} bytes")
    try:
        text = without_line_end(first.removeprefix(BOM)).decode("utf-8")
    except UnicodeDecodeError:
        raise refuse("encoding", "the header is not UTF-8 text: is this a CSV file?") from None
    if not text.strip():
        raise refuse("empty_file", f"no header: a {kind} CSV starts with its column names")
    if not limits.NAME.pattern.fullmatch(text):
        raise refuse("bad_header", f"the header holds control characters: {limits.shown(text)}")
    return [n.strip() for n in next(csv.reader([text]))]


def _format_of(path: Path, first: bytes) -> str:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    return "jsonl" if first.removeprefix(BOM).lstrip().startswith(b"{") else "csv"
