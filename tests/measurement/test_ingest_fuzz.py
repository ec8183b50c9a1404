"""Fuzzing the CSV and JSON Lines importers with generated files (hypothesis): valid rows mixed
with garbage (random bytes, NULs, bytes that are not UTF-8, wrong widths, quotes, CR/LF,
fields and lines longer than the row limit, at a small scale).

Properties: nothing raises; every valid row is imported exactly once; every bad row is kept,
with the bytes it was read from (imported + duplicates + rejected account for every row);
importing the file again, or retrying its kept rows, changes nothing.

SQLite runs the most examples; PostgreSQL a few of each (its server is slower to reset and
the same code runs above it). The row limit is lowered to ``LIMIT`` bytes, so over-long
lines are a few hundred bytes, and chunks hold a few rows, so chunks and the reader's blocks
cut through everything.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import os
from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlmodel import Session

from billing.measurement import ingest
from billing.measurement.ingest import batches, files
from billing.measurement.ingest.rejects import raw_bytes
from billing.measurement.pseudonyms import Pseudonymizer
from billing.storage.models import ImportBatch, Interaction, RejectedRow
from tests.outcome_helpers import HEADER, kept_forms, load_contract

LIMIT = 600
COLUMNS = HEADER.split(",")
KEY = Pseudonymizer(os.environ["BILLING_PSEUDONYM_KEY"].encode())
EXAMPLES = {"sqlite": 100, "postgresql": 20}
_files = itertools.count()


def fuzz_settings(engine, share: float = 1.0):
    examples = max(3, int(EXAMPLES[engine.dialect.name] * share))
    return settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
        database=None,
    )


@pytest.fixture
def fuzzed(db, tmp_path, monkeypatch):
    """The database with ACME-1 loaded, the row limit lowered and chunks of 5 rows."""
    monkeypatch.setattr(files, "MAX_ROW_BYTES", LIMIT)
    monkeypatch.setattr(batches, "CHUNK_ROWS", 5)
    load_contract(db, tmp_path)
    return db


# --- what a file is made of -------------------------------------------------------------------


@dataclass
class Made:
    """A generated file: its bytes, the ids of its valid rows (repeats included, in order), and
    the bytes of each bad row (without its line ending), in order."""

    data: bytes = b""
    valid: list[str] = field(default_factory=list)
    bad: list[bytes] = field(default_factory=list)


def values():
    """The fields of a valid interaction, its id left empty."""
    answered = st.sampled_from(["false", "0", "no", "False"])
    abandoned = st.sampled_from(["true", "1", "YES"])
    when = st.builds(
        lambda day, hour, zone: f"2026-10-{day:02d}T{hour:02d}:15:00{zone}",
        st.integers(1, 28),
        st.integers(0, 23),
        st.sampled_from(["Z", "+02:00", "-05:00"]),
    )
    return st.tuples(
        st.sampled_from(["voice", "chat", "e-mail_2"]),
        st.sampled_from(["c1", "c2", "", "a,b", 'say "hi"', "ñandú", "x" * 100]),
        when,
        st.integers(0, 3600).map(str),
        st.one_of(st.tuples(answered, st.integers(0, 9999).map(str)), st.tuples(abandoned, st.just(""))),
        st.sampled_from(["human", "ai", ""]),
        st.sampled_from(["", "true", "false"]),
        st.sampled_from(["", "1", "5"]),
        st.sampled_from(["", "0", "10"]),
        st.sampled_from(["", "88.5", "100", "0.25"]),
    ).map(lambda v: ["", "ACME-1", v[0], v[1], v[2], v[3], v[4][0], v[4][1], v[5], v[6], v[6], v[7], v[8], v[9]])


def csv_bytes(fields: list[str], ending: bytes = b"\n") -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow(fields)  # quotes fields holding CR or LF
    return out.getvalue().removesuffix("\r\n").encode("utf-8") + ending


#: Garbage lines: any bytes but a newline or a quote (so they stand alone), never blank.
noise = (
    st.binary(min_size=1, max_size=60)
    .map(lambda b: b.replace(b"\n", b"").replace(b'"', b""))
    .filter(lambda b: b.strip(b"\r") != b"")
)
bad_bytes = st.sampled_from([b"\xff", b"\x00", b"\xc3", b"\xed\xa0\x80", b"\xf1", b"ab\x00cd"])


def csv_piece():
    """("valid", fields, ending) or ("bad", bytes of one record with its ending)."""

    def broken(kind: str, fields: list[str], extra: bytes, ending: bytes) -> tuple[str, bytes]:
        fields = list(fields)
        if kind == "bytes":  # bytes that are not UTF-8, or a NUL, in the customer id
            line = csv_bytes(fields[:3], b",") + b"c" + extra + b"," + csv_bytes(fields[4:], ending)
            return "bad", line
        if kind == "width":
            return "bad", csv_bytes(fields[:-1] if len(extra) % 2 else [*fields, "more"], ending)
        if kind == "newline":  # a quoted newline: one record over two lines, a control character
            fields[3] = "two\nlines"
        elif kind == "long_field":  # a line over the row limit
            fields[3] = "h" * (LIMIT + 50)
        elif kind == "long_id":
            fields[0] = "L" * 101
        elif kind == "value":
            fields[6] = "maybe"
        elif kind == "quote":  # a quote closed on the next line: one record of one field
            return "bad", b'"open' + extra.replace(b'"', b"") + b"\n" + b'closed"' + ending
        return "bad", csv_bytes(fields, ending)

    ending = st.sampled_from([b"\n", b"\r\n"])
    kinds = st.sampled_from(["bytes", "width", "newline", "long_field", "long_id", "value", "quote"])
    return st.one_of(
        st.tuples(st.just("valid"), values(), ending),
        st.tuples(st.just("valid"), values(), ending),
        st.builds(broken, kinds, values(), bad_bytes, ending),
        noise.map(lambda line: ("bad", line + b"\n")),
    )


def make_csv(pieces: list[tuple], repeats: list[int], prefix: str) -> Made:
    made = Made(HEADER.encode() + b"\n")
    rows: list[bytes] = []
    for number, piece in enumerate(pieces):
        if piece[0] == "valid":
            fields = [f"{prefix}-{number}", *piece[1][1:]]
            rows.append(csv_bytes(fields, piece[2]))
            made.valid.append(fields[0])
            made.data += rows[-1]
        else:
            made.bad.append(piece[1].removesuffix(b"\n").removesuffix(b"\r"))
            made.data += piece[1]
    for index in repeats:  # rows sent twice: duplicates
        if rows:
            line = rows[index % len(rows)]
            made.data += line
            made.valid.append(line.split(b",")[0].decode())
    return made


def json_piece():
    def record(fields: list[str], numbers: bool) -> dict:
        data = dict(zip(COLUMNS, fields, strict=True))
        if numbers:
            data["wait_seconds"] = int(data["wait_seconds"])
            data["abandoned"] = data["abandoned"] in ("true", "1", "YES")
        return {k: v for k, v in data.items() if v != ""}

    def broken(kind: str, fields: list[str], extra: bytes) -> tuple[str, bytes]:
        data = record(fields, False)
        if kind == "bytes":  # raw bytes that are not UTF-8 or a NUL inside a string
            return "bad", json.dumps(data).replace('"ACME-1"', '"ACME-1', 1).encode() + extra + b'"'
        if kind == "escape":  # a JSON escape of a NUL or a lone surrogate in an id
            data["interaction_id"] = "a\x00b" if len(extra) % 2 else "\ud800"
        elif kind == "nested":
            data["customer_id"] = {"id": 1}
        elif kind == "long":
            data["notes"] = "n" * LIMIT
        elif kind == "value":
            data["wait_seconds"] = -1
        elif kind == "not_an_object":
            return "bad", json.dumps(list(data.values())).encode()
        elif kind == "cut":
            return "bad", json.dumps(data).encode()[: 10 + len(extra)]
        return "bad", json.dumps(data).encode()

    kinds = st.sampled_from(["bytes", "escape", "nested", "long", "value", "not_an_object", "cut"])
    return st.one_of(
        st.tuples(st.just("valid"), st.builds(record, values(), st.booleans())),
        st.tuples(st.just("valid"), st.builds(record, values(), st.booleans())),
        st.builds(broken, kinds, values(), bad_bytes),
        noise.map(lambda line: ("bad", b"#" + line)),
    )


def make_jsonl(pieces: list[tuple], prefix: str) -> Made:
    made = Made()
    for number, piece in enumerate(pieces):
        if piece[0] == "valid":
            data = {**piece[1], "interaction_id": f"{prefix}-{number}"}
            made.data += json.dumps(data, ensure_ascii=number % 2 == 0).encode() + b"\n"
            made.valid.append(data["interaction_id"])
        else:
            made.bad.append(piece[1].removesuffix(b"\r"))  # a CR before the newline ends the line
            made.data += piece[1] + b"\n"
    return made


# --- what must hold ---------------------------------------------------------------------------


def stored_with(engine, prefix: str) -> list[str]:
    with Session(engine) as s:
        i = Interaction.__table__.c
        return sorted(s.execute(select(i.interaction_id).where(i.interaction_id.like(f"{prefix}-%"))).scalars())


def kept_of(engine, batch: int) -> list[RejectedRow]:
    with Session(engine) as s:
        return list(
            s.execute(select(RejectedRow).where(RejectedRow.batch_id == batch).order_by("row_number")).scalars()
        )


def batch_counts(engine, batch: int) -> tuple[int, int, int, bool]:
    with Session(engine) as s:
        found = s.get(ImportBatch, batch)
        assert found is not None
        return found.imported, found.duplicates, found.rejected, found.finished_at is not None


def check_import(engine, path, made: Made, prefix: str) -> None:
    first = ingest.import_interactions(engine, path)
    unique = list(dict.fromkeys(made.valid))
    expected = (len(unique), len(made.valid) - len(unique), len(made.bad))
    assert (first.imported, first.duplicates, first.rejected) == expected, (made.data, first.errors)
    assert batch_counts(engine, first.batch) == (first.imported, first.duplicates, first.rejected, True)
    assert stored_with(engine, prefix) == sorted(unique)
    kept = [raw_bytes(row, KEY) for row in kept_of(engine, first.batch)]
    header = HEADER if path.suffix == ".csv" else None
    assert len(kept) == len(made.bad)
    assert all(got in kept_forms(bad, header) for got, bad in zip(kept, made.bad, strict=True)), (kept, made.bad)

    again = ingest.import_interactions(engine, path)
    assert (again.imported, again.duplicates, again.rejected) == (0, len(made.valid), len(made.bad))
    retried = ingest.retry_batch(engine, "interactions", again.batch)
    assert retried.imported == 0
    assert stored_with(engine, prefix) == sorted(unique)


def test_csv_files_of_valid_and_bad_rows(fuzzed, tmp_path):
    @fuzz_settings(fuzzed)
    @given(st.lists(csv_piece(), max_size=25), st.lists(st.integers(0, 100), max_size=3))
    def run(pieces, repeats):
        prefix = f"f{next(_files)}"
        made = make_csv(pieces, repeats, prefix)
        path = tmp_path / f"{prefix}.csv"
        path.write_bytes(made.data)
        check_import(fuzzed, path, made, prefix)

    run()


def test_json_lines_files_of_valid_and_bad_rows(fuzzed, tmp_path):
    @fuzz_settings(fuzzed, 0.7)
    @given(st.lists(json_piece(), max_size=25))
    def run(pieces):
        prefix = f"j{next(_files)}"
        made = make_jsonl(pieces, prefix)
        path = tmp_path / f"{prefix}.jsonl"
        path.write_bytes(made.data)
        check_import(fuzzed, path, made, prefix)

    run()


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_files_of_any_bytes(fuzzed, tmp_path, suffix):
    """Valid rows among arbitrary bytes (which may open quotes that swallow rows, or end in
    the middle of one): nothing raises, only valid rows are imported, each once, every row
    read is counted, and reading the file or its kept rows again imports nothing."""
    piece = csv_piece() if suffix == ".csv" else json_piece()

    @fuzz_settings(fuzzed, 0.5)
    @given(st.lists(st.one_of(st.binary(max_size=80), piece), max_size=20))
    def run(pieces):
        prefix = f"a{next(_files)}"
        data = HEADER.encode() + b"\n" if suffix == ".csv" else b""
        valid = []
        for number, item in enumerate(pieces):
            if isinstance(item, bytes):
                data += item + b"\n"
                continue
            made = make_csv([item], [], f"{prefix}-{number}") if suffix == ".csv" else make_jsonl([item], prefix)
            body = made.data.removeprefix(HEADER.encode() + b"\n") if suffix == ".csv" else made.data
            if suffix == ".jsonl" and made.valid:  # make_jsonl numbered it 0
                body = body.replace(f'"{prefix}-0"'.encode(), f'"{prefix}-{number}"'.encode())
            data += body
            valid += [f"{prefix}-{number}" if suffix == ".jsonl" else v for v in made.valid]
        path = tmp_path / f"{prefix}{suffix}"
        path.write_bytes(data)
        first = ingest.import_interactions(fuzzed, path)
        stored = stored_with(fuzzed, prefix)
        assert set(stored) <= set(valid) and len(stored) == first.imported
        assert len(kept_of(fuzzed, first.batch)) == first.rejected
        assert batch_counts(fuzzed, first.batch) == (first.imported, first.duplicates, first.rejected, True)
        again = ingest.import_interactions(fuzzed, path)
        assert (again.imported, again.rejected) == (0, first.rejected)
        assert again.duplicates == first.imported + first.duplicates
        assert ingest.retry_batch(fuzzed, "interactions", again.batch).imported == 0
        with Session(fuzzed) as s:
            unfinished = select(func.count()).select_from(ImportBatch).where(ImportBatch.finished_at.is_(None))
            assert s.execute(unfinished).scalar_one() == 0

    run()
