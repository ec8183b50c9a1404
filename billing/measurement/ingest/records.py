"""An import file's lines (``billing.measurement.ingest.lines``) made into rows: CSV records and
JSON Lines objects, each with its line number, its values and its text as read.

A row that cannot be read into values comes out as a ``Malformed`` holding why and what was
read of it: a line that is not UTF-8, holds a NUL or is too long (a ``BadLine``), a CSV record
of the wrong width or that the csv module refuses, a CSV record running on past the row limit
(a quote never closed: cut there, kept whole, and reading goes on at the next line), a line
that is not a JSON object, or a JSON field holding a list or an object. Every other row of the
file is read.

CSV: each clean block is parsed strictly, each line paired with the record it makes, with no
other work per line. From the first line of a block that is not a record of its own (a quoted
newline, a stray quote or carriage return, a record cut by the block's end), and for a block
holding bad lines, ``CsvRecords`` reads line by line, keeping each line until its record is
out, so a bad record keeps every byte it was read from.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from billing.measurement.ingest.lines import BadLine

#: (line number, values in the wanted columns' order, the row's text or a ``Malformed``).
Row = tuple[int, tuple[str, ...], Any]
Pick = Callable[[list[str]], tuple[str, ...]]


@dataclass(frozen=True, slots=True)
class Malformed:
    """A row that could not be read into values: why, and what was read of it (``data``: its
    text, or its bytes when they are not all text; only their start when ``truncated``)."""

    reason: str
    data: bytes | str
    truncated: bool = False


class NotAValue(Exception):
    """A JSON field holding a list or an object."""


def csv_rows(blocks: Iterator[str | BadLine], width: int, pick: Pick, limit: int) -> Iterator[Row]:
    """The rows of a CSV file's data lines (the header stands as an empty first line)."""
    number = 0  # lines read so far
    slow = CsvRecords(blocks, width, pick, limit)
    for piece in blocks:
        if type(piece) is str:
            lines = io.StringIO(piece, newline="\n").readlines()
            reader = csv.reader(lines, strict=True)
            done = 0
            with suppress(csv.Error):
                if '"' not in piece:  # no quotes: one record per line, or an error
                    for fields, text in zip(reader, lines, strict=False):
                        done += 1
                        if len(fields) == width:
                            yield number + done, pick(fields), text
                        elif fields:
                            yield number + done, (), Malformed(wrong_width(fields, width), text)
                else:
                    for fields in reader:
                        if reader.line_num != done + 1:
                            break  # a record over several lines: read again line by line
                        text = lines[done]
                        done += 1
                        if len(fields) == width:
                            yield number + done, pick(fields), text
                        elif fields:
                            yield number + done, (), Malformed(wrong_width(fields, width), text)
            number += done
            if done == len(lines):
                continue
            piece = "".join(lines[done:])
        yield from slow.rows(piece, number)
        number += slow.lines_read


class CsvRecords:
    """CSV read line by line from one block (and the blocks after it while a record goes on),
    each line kept in ``pending`` until its record is out. A bad line sets ``trouble`` (why
    its record is bad); a record grown past ``limit`` is closed with a quote."""

    def __init__(self, blocks: Iterator[str | BadLine], width: int, pick: Pick, limit: int):
        self.blocks = blocks
        self.width = width
        self.pick = pick
        self.limit = limit
        self.pending: list[str | BadLine] = []
        self.trouble: str | None = None
        self.lines_read = 0

    def rows(self, first: str | BadLine, before: int) -> Iterator[Row]:
        """The rows from ``first`` on, numbered after line ``before``; ``lines_read`` after."""
        width, pick, pending = self.width, self.pick, self.pending
        reader = csv.reader(self._lines(first))
        line = 0
        while True:
            try:
                for fields in reader:
                    number = before + line + 1
                    line = reader.line_num
                    if self.trouble is not None:
                        yield number, (), self._take_bad(self.trouble)
                    elif len(fields) == width:
                        raw = pending[0] if len(pending) == 1 else "".join(pending)  # type: ignore[arg-type]
                        pending.clear()
                        yield number, pick(fields), raw
                    elif not fields:
                        pending.clear()  # a blank line
                    else:
                        yield number, (), self._take_bad(wrong_width(fields, width))
                break
            except csv.Error as exc:
                number = before + line + 1
                line = reader.line_num
                yield number, (), self._take_bad(self.trouble or f"cannot be read as CSV: {exc}")
        self.lines_read = reader.line_num

    def _lines(self, first: str | BadLine) -> Iterator[str]:
        pending, limit = self.pending, self.limit
        size = 0
        piece: str | BadLine | None = first
        while piece is not None:
            if type(piece) is str:
                for line in io.StringIO(piece, newline="\n"):
                    pending.append(line)
                    if len(pending) == 1:
                        size = len(line)
                        yield line
                        continue
                    size += len(line)
                    if size <= limit:
                        yield line
                        continue
                    self.trouble = self.trouble or (
                        f"runs on over several lines for more than {limit:,} bytes: "
                        "a quoted field that is never closed? (every line it took is kept)"
                    )
                    yield '"\n'
            else:
                assert isinstance(piece, BadLine)
                pending.append(piece)
                self.trouble = self.trouble or piece.reason
                # Its quotes still open and close fields (undecodable bytes as lone surrogates,
                # NULs as U+FFFD); an over-long line, of which only the start is known, is empty.
                text = "" if piece.truncated else piece.data.decode("utf-8", "surrogateescape")
                yield text.replace("\x00", "\ufffd") or "\n"
            piece = next(self.blocks, None) if pending else None  # a record goes on into the next block

    def _take_bad(self, reason: str) -> Malformed:
        pending = self.pending
        if all(type(p) is str for p in pending):
            data: bytes | str = "".join(pending)  # type: ignore[arg-type]
            truncated = False
        else:
            data = b"".join(p.data if isinstance(p, BadLine) else p.encode("utf-8") for p in pending)
            truncated = any(isinstance(p, BadLine) and p.truncated for p in pending)
        pending.clear()
        self.trouble = None
        return Malformed(reason, data, truncated)


def jsonl_rows(blocks: Iterator[str | BadLine], columns: Sequence[str]) -> Iterator[Row]:
    """The rows of a JSON Lines file: each line on its own."""
    loads = json.loads
    number = 0
    for piece in blocks:
        if type(piece) is not str:
            assert isinstance(piece, BadLine)
            number += 1
            yield number, (), Malformed(piece.reason, piece.data, piece.truncated)
            continue
        for line in io.StringIO(piece, newline="\n"):
            number += 1
            if not line.strip(" \t\r\n"):  # JSON's own whitespace only: a blank line
                continue
            try:
                record = loads(line)
            except (ValueError, RecursionError):
                yield number, (), Malformed("is not a JSON object on one line", line)
                continue
            if not isinstance(record, dict):
                yield number, (), Malformed("is not a JSON object on one line", line)
                continue
            try:
                values = tuple([text_of(record.get(name)) for name in columns])
            except NotAValue:
                nested = next(n for n in columns if isinstance(record.get(n), dict | list))
                yield number, (), Malformed(f"{nested}: holds a list or an object, not a value", line)
                continue
            yield number, values, line


def picker(header: str, columns: Sequence[str]) -> Pick:
    """A function from a record's fields (as many as the header's) to ``columns``' values."""
    names = next(csv.reader([header]))
    positions = {name.strip(): index for index, name in enumerate(names)}
    wanted = [positions.get(name) for name in columns]
    present = [p for p in wanted if p is not None]
    if len(present) != len(wanted):
        return lambda fields: tuple("" if p is None else fields[p] for p in wanted)
    if len(present) == 1:
        only = present[0]
        return lambda fields: (fields[only],)
    from operator import itemgetter

    return itemgetter(*present)


def wrong_width(fields: list[str], width: int) -> str:
    return f"has {len(fields)} fields where the header has {width}"


def text_of(value: Any) -> str:
    """A JSON value as text: ``""`` for null, ``true``/``false``, numbers as written by Python."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, dict | list):
        raise NotAValue
    return str(value)
