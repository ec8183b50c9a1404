"""How a chunk's good rows travel from the import's reader to its writer.

The reader (a child process for big files, ``billing.measurement.ingest.pipeline``) converts the rows;
turning them into what the database takes is done there too, on the reader's core, so the
writer spends its time in the database's own bulk path and not in Python:

- **SQLite**: the reader writes the chunk into a staging database file of its own
  (``StagedFile``: tables ``chunk`` and ``pairs``), which the writer attaches and copies with
  one ``INSERT ... SELECT``. Binding each value from Python costs about as much as the
  B-tree work itself, and this moves it off the writer.
- **PostgreSQL**: the reader formats the chunk as ``COPY`` text (``CopyChunk``), which the
  writer streams to the server unchanged.

Nothing here changes which rows are stored: that is the writer's business
(``billing.measurement.ingest.next_contact``). A staged chunk's ``len`` is the number of good rows read,
repeated keys included, so the import can count duplicates.
"""

from __future__ import annotations

import contextlib
import itertools
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import Connection


class Stager(Protocol):
    """One import's way of moving chunks: ``prepare`` runs in the reader, ``attached`` in the
    writer around each chunk's transaction."""

    def prepare(self, rows: list[tuple[Any, ...]]) -> Any: ...

    def attached(self, connection: Connection, staged: Any) -> contextlib.AbstractContextManager[None]: ...


class RowStager:
    """Rows as they are (small imports: workforce hours, client KPI figures)."""

    def prepare(self, rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        return rows

    def attached(self, connection: Connection, staged: Any) -> contextlib.AbstractContextManager[None]:
        return contextlib.nullcontext()


@dataclass(frozen=True)
class Chained:
    """A chunk ready to store: ``rows`` (stored columns, then the next contact within the
    chunk) with each key once, ``pairs`` (contract, customer, first contact in the chunk),
    and how many good rows were read (``read``, repeated keys included)."""

    rows: list[tuple[Any, ...]]
    pairs: list[tuple[Any, ...]]
    read: int


@dataclass(frozen=True)
class StagedFile:
    """A chunk staged in a SQLite file: ``chunk`` (the rows, ``seq`` in file order) and
    ``pairs``. The writer owns the file once it has the handle, and deletes it."""

    path: Path | None
    read: int
    rows: int

    def __len__(self) -> int:
        return self.read


class SqliteStager:
    """Stages each chunk in its own SQLite file under ``folder`` (written whole by the reader,
    then only read by the writer, so the two never share a lock)."""

    def __init__(self, folder: Path, columns: Sequence[str], chain: Callable[[list[tuple[Any, ...]]], Chained]):
        self.folder = folder
        self.columns = tuple(columns)
        self.chain = chain
        self._numbers = itertools.count()

    def prepare(self, rows: list[tuple[Any, ...]]) -> StagedFile:
        chained = self.chain(rows)
        if not chained.rows:
            return StagedFile(None, chained.read, 0)
        path = self.folder / f"chunk-{next(self._numbers):06d}.db"
        names = ", ".join(self.columns)
        database = sqlite3.connect(path, isolation_level=None)
        try:
            database.execute("PRAGMA journal_mode=OFF")
            database.execute("PRAGMA synchronous=OFF")
            database.execute(f"CREATE TABLE chunk (seq INTEGER PRIMARY KEY, {names})")
            database.execute("CREATE TABLE pairs (contract_id INTEGER, customer_id TEXT, first_new INTEGER)")
            database.execute("BEGIN")
            marks = ", ".join("?" for _ in self.columns)
            database.executemany(f"INSERT INTO chunk ({names}) VALUES ({marks})", chained.rows)
            database.executemany("INSERT INTO pairs VALUES (?, ?, ?)", chained.pairs)
            database.execute("COMMIT")
        finally:
            database.close()
        return StagedFile(path, chained.read, len(chained.rows))

    @contextlib.contextmanager
    def attached(self, connection: Connection, staged: StagedFile) -> Iterator[None]:
        """The staged file attached as ``stage`` for the chunk's transaction (SQLite attaches
        only outside a transaction), detached and deleted after it."""
        if staged.path is None:
            yield
            return
        driver: Any = connection.connection.driver_connection
        driver.execute("ATTACH DATABASE ? AS stage", (str(staged.path),))
        try:
            yield
        finally:
            driver.execute("DETACH DATABASE stage")
            staged.path.unlink(missing_ok=True)


@dataclass(frozen=True)
class CopyChunk:
    """A chunk as PostgreSQL ``COPY`` text: ``data`` (the rows in file order) and ``pairs``."""

    data: bytes
    pairs: bytes
    read: int
    rows: int

    def __len__(self) -> int:
        return self.read


class CopyStager:
    """Formats each chunk as ``COPY`` text in the reader (``line``: one row as a line of it)."""

    def __init__(self, chain: Callable[[list[tuple[Any, ...]]], Chained], line: Callable[[tuple[Any, ...]], str]):
        self.chain = chain
        self.line = line

    def prepare(self, rows: list[tuple[Any, ...]]) -> CopyChunk:
        chained = self.chain(rows)
        data = _joined(map(self.line, chained.rows))
        return CopyChunk(data, _joined(map(copy_line, chained.pairs)), chained.read, len(chained.rows))

    def attached(self, connection: Connection, staged: CopyChunk) -> contextlib.AbstractContextManager[None]:
        return contextlib.nullcontext()


_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def copy_value(value: Any) -> str:
    """One value in ``COPY`` text format: ``\\N`` for NULL, ``t``/``f``, digits, escaped text."""
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, int | Decimal):
        return str(value)
    return str(value).translate(_ESCAPES)


def copy_text_value(value: str) -> str:
    """Text as ``COPY`` text: backslash, tab, newline and carriage return escaped."""
    return value.translate(_ESCAPES)


def copy_line(row: tuple[Any, ...]) -> str:
    """One row of any values as a line of ``COPY`` text (tab-separated)."""
    return "\t".join([copy_value(v) for v in row])


def _joined(lines: Iterator[str]) -> bytes:
    text = "\n".join(lines)
    return (text + "\n").encode("utf-8") if text else b""
