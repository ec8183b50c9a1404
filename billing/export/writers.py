"""Tables written as CSV, JSON Lines or Parquet, row by row (Parquet in row groups of
``BATCH_ROWS`` through pyarrow), with their row count and SHA-256 for the manifest."""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FORMATS = ("csv", "jsonl", "parquet")
BATCH_ROWS = 50_000


@dataclass(frozen=True)
class Written:
    path: str
    rows: int
    sha256: str


def write_table(folder: Path, name: str, columns: Sequence[str], rows: Iterable[Sequence[Any]], fmt: str) -> Written:
    """``rows`` (values in ``columns`` order: text, numbers, booleans or None) as ``name.fmt``."""
    path = folder / f"{name}.{fmt}"
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    if fmt == "parquet":
        count = _parquet(path, columns, rows)
    else:
        with path.open("w", newline="", encoding="utf-8") as handle:
            if fmt == "csv":
                writer = csv.writer(handle, lineterminator="\n")
                writer.writerow(columns)
                for row in rows:
                    writer.writerow(["" if v is None else _text(v) for v in row])
                    count += 1
            else:
                for row in rows:
                    handle.write(json.dumps(dict(zip(columns, row, strict=True)), ensure_ascii=False, default=str))
                    handle.write("\n")
                    count += 1
    return Written(str(path.relative_to(folder)), count, digest(path))


def write_text(folder: Path, name: str, text: str) -> Written:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return Written(name, 1, digest(path))


def write_bytes(folder: Path, name: str, data: bytes) -> Written:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return Written(name, 1, digest(path))


def _text(value: Any) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def _parquet(path: Path, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """Streamed in row groups; every column as text (nullable), so no value's type is guessed."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema([(name, pa.string()) for name in columns])
    count = 0
    with pq.ParquetWriter(path, schema) as writer:
        batch: list[Sequence[Any]] = []

        def flush() -> None:
            arrays = [
                pa.array([None if r[i] is None else _text(r[i]) for r in batch], pa.string())
                for i in range(len(columns))
            ]
            writer.write_table(pa.Table.from_arrays(arrays, schema=schema))
            batch.clear()

        for row in rows:
            batch.append(row)
            count += 1
            if len(batch) >= BATCH_ROWS:
                flush()
        if batch or count == 0:
            flush()
    return count


def digest(path: Path) -> str:
    sha = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()
