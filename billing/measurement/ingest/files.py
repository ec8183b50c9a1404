"""Reading import files as a stream of rows, whatever their format.

CSV (with a header) and JSON Lines are told apart by extension (``.csv``, ``.jsonl``,
``.ndjson``, ``.json``) or, failing that, by the first non-blank character (``{`` means JSON
Lines). Each row comes out as a tuple of raw values in the order the importer asks for, with
its line number in the file; nothing is held beyond the current row, so memory does not grow
with the file. Values are strings, ``""`` when absent: JSON numbers and booleans are turned
into their text so one validator serves both formats.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from billing.core.problems import Problem, ProblemsError

#: Rows whose fields are longer than this are refused by the csv module; ours are short.
csv.field_size_limit(1 << 20)


@dataclass(frozen=True)
class Unreadable:
    """Where a file stops being readable (bad encoding, broken quoting): reported as one bad
    row; the rows before it are imported."""

    reason: str


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

    def rows(self) -> Iterator[tuple[int, tuple[str, ...], Any]]:
        """(line number, values in ``columns`` order, raw) for every data row. ``raw`` is the
        parsed CSV field list or the JSON line; ``raw_text`` turns it back into text."""
        if self.format == "csv":
            yield from self._csv_rows()
        else:
            yield from self._jsonl_rows()

    def raw_text(self, raw: Any) -> str:
        if isinstance(raw, Unreadable):
            return ""
        if self.format == "jsonl":
            return str(raw).rstrip("\r\n")
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="").writerow(raw)
        return buffer.getvalue()

    def malformed(self, raw: Any) -> str:
        """Why a row that came out without values could not be read."""
        if isinstance(raw, Unreadable):
            return raw.reason
        if self.format == "jsonl":
            return "not a JSON object on one line"
        return f"has {len(raw)} fields where the header has {self.width}"

    def position(self) -> int:
        """Bytes read so far (approximately: the reader reads ahead), for a progress bar."""
        try:
            return int(self._handle.tell())
        except (AttributeError, OSError, ValueError):
            return 0

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()

    def _csv_rows(self) -> Iterator[tuple[int, tuple[str, ...], Any]]:
        reader = csv.reader(_decoded(self._handle))
        header = next(reader)
        positions = {name.strip(): index for index, name in enumerate(header)}
        width = self.width = len(header)
        wanted = [positions.get(name) for name in self.columns]
        present = [p for p in wanted if p is not None]
        pick = _itemgetter(present) if len(present) == len(wanted) else _padded_getter(wanted)
        line = reader.line_num
        try:
            for fields in reader:
                number = line + 1
                line = reader.line_num
                if not fields:
                    continue  # a blank line
                if len(fields) != width:
                    yield number, (), fields
                    continue
                yield number, pick(fields), fields
        except (csv.Error, UnicodeDecodeError) as exc:
            yield line + 1, (), Unreadable(f"the rest of the file cannot be read from here: {exc}")

    def _jsonl_rows(self) -> Iterator[tuple[int, tuple[str, ...], Any]]:
        columns = self.columns
        lines = enumerate(_decoded(self._handle), start=1)
        number = 0
        while True:
            try:
                number, line = next(lines)
            except StopIteration:
                return
            except UnicodeDecodeError as exc:
                yield number + 1, (), Unreadable(f"the rest of the file cannot be read from here: {exc}")
                return
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError:
                yield number, (), line
                continue
            if not isinstance(record, dict):
                yield number, (), line
                continue
            yield number, tuple(_text(record.get(name)) for name in columns), line


def open_rows(path: Path, columns: Sequence[str], required: Sequence[str], kind: str) -> RowSource:
    """Open ``path`` for reading ``columns``; refuse the whole file (``ProblemsError``) when it
    cannot be read or its header lacks a required column."""
    source = str(path)
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise ProblemsError([Problem("file", f"cannot read the file: {exc}", source)]) from None
    try:
        first = _first_line(path)
        fmt = _format_of(path, first)
        if fmt == "csv":
            if not first.strip():
                raise ProblemsError(
                    [Problem("empty_file", f"no header: a {kind} CSV starts with its column names", source, 1)]
                )
            names = next(csv.reader([first]))
            names = [n.strip() for n in names]
            missing = [name for name in required if name not in names]
            if missing:
                raise ProblemsError(
                    [
                        Problem(
                            "missing_columns",
                            f"the header lacks required column(s) {', '.join(missing)}; "
                            f"expected {', '.join(columns)}; nothing was imported",
                            source,
                            1,
                            ",".join(missing),
                        )
                    ]
                )
            ignored = tuple(n for n in names if n not in columns)
            return RowSource(path, "csv", tuple(columns), first.rstrip("\r\n"), ignored, len(names), handle)
        return RowSource(path, "jsonl", tuple(columns), None, (), 0, handle)
    except (ProblemsError, UnicodeDecodeError) as exc:
        handle.close()
        if isinstance(exc, UnicodeDecodeError):
            raise ProblemsError([Problem("encoding", "the file is not UTF-8 text", source)]) from None
        raise


def _decoded(handle: Any) -> Iterator[str]:
    """The file's lines as text, decoded one by one, so a bad byte stops the reading at its
    own line (everything before it is read) instead of somewhere in an 8 KiB block."""
    first = True
    for line in handle:
        if first:
            first = False
            yield line.decode("utf-8-sig")
        else:
            yield line.decode("utf-8")


def _first_line(path: Path) -> str:
    """The file's first line, read on its own: a bad byte further down is reported at its row,
    not as a refusal of the whole file."""
    with path.open("rb") as raw:
        return raw.readline().decode("utf-8-sig")


def _format_of(path: Path, first: str) -> str:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    return "jsonl" if first.lstrip().startswith("{") else "csv"


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if value is True:
        return "true"
    if value is False:
        return "false"
    return str(value)


def _itemgetter(positions: list[int]) -> Any:
    from operator import itemgetter

    if len(positions) == 1:
        only = positions[0]
        return lambda fields: (fields[only],)
    return itemgetter(*positions)


def _padded_getter(wanted: list[int | None]) -> Any:
    def pick(fields: list[str]) -> tuple[str, ...]:
        return tuple("" if p is None else fields[p] for p in wanted)

    return pick
