"""Imports at the edges (issue 13): bad bytes are bad rows, identifiers are checked against
``billing.core.limits``, kept rows give their exact bytes back, memory stays bounded whatever a
line holds, and a batch counts what it committed even when its import is killed."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, insert, select
from sqlmodel import Session

from billing.measurement import ingest
from billing.measurement.ingest import batches, files, pipeline
from billing.storage.models import ImportBatch, Interaction, RejectedRow
from tests.outcome_helpers import HEADER, load_contract, opened, pseudonym

READERS = ["thread", "process"]


def row(n: int, customer: str = "c1") -> str:
    started = f"2026-10-{1 + n % 28:02d}T10:{n % 60:02d}:00Z"
    return f"k{n},ACME-1,voice,{customer},{started},{n % 50},false,60,human,true,false,,,"


def good_rows(count: int, start: int = 0) -> list[bytes]:
    return [row(n, f"c{n % 7}").encode() for n in range(start, start + count)]


def write(tmp_path, lines: list[bytes], name: str = "interactions.csv", header: bytes | None = HEADER.encode()):
    path = tmp_path / name
    path.write_bytes(b"".join(line + b"\n" for line in ([header] if header is not None else []) + lines))
    return path


def stored_ids(engine) -> list[str]:
    with Session(engine) as s:
        return list(s.execute(select(Interaction.interaction_id).order_by(Interaction.id)).scalars())


def kept(engine) -> list[RejectedRow]:
    """The kept rows, sealed ones opened (a test of sealing reads them as stored)."""
    with Session(engine) as s:
        rows = list(s.execute(select(RejectedRow).order_by(RejectedRow.id)).scalars())
        s.expunge_all()
    return [opened(row) for row in rows]


def batch_of(engine, number: int) -> ImportBatch:
    with Session(engine) as s:
        found = s.get(ImportBatch, number)
        assert found is not None
        return found


def exported(engine, tmp_path, name: str = "fix.csv") -> bytes:
    path = tmp_path / name
    ingest.export_open_rejects(engine, "interactions", path)
    return path.read_bytes()


# --- 1. identifiers are checked at the edge; a row key is never cut into invalid JSON -------


def test_an_over_long_interaction_id_is_one_rejected_row_and_every_later_import_works(db, tmp_path):
    load_contract(db, tmp_path)
    long_id = "x" * 400
    lines = good_rows(3)
    lines.insert(1, row(99).replace("k99", long_id).encode())
    first = ingest.import_interactions(db, write(tmp_path, lines, "long.csv"))
    assert (first.imported, first.rejected) == (3, 1)
    [problem] = first.errors
    assert (problem.line, problem.field, problem.code) == (3, "interaction_id", "too_long")
    assert "at most 100 characters, got 400" in problem.message
    [reject] = kept(db)
    assert reject.row_key is None and reject.raw.startswith(long_id + ",ACME-1")

    later = ingest.import_interactions(db, write(tmp_path, good_rows(2, start=10), "later.csv"))
    assert (later.imported, later.rejected) == (2, 0)
    assert batch_of(db, later.batch).finished_at is not None


@pytest.mark.parametrize(
    ("column", "value", "code"),
    [
        ("interaction_id", "k\x01x", "bad_characters"),
        ("interaction_id", "\u0085k", "bad_characters"),
        ("customer_id", "c" * 101, "too_long"),
        ("customer_id", "c\x7f", "bad_characters"),
        ("channel", "Voice Calls", "bad_characters"),
        ("channel", "v" * 31, "too_long"),
    ],
)
def test_identifiers_outside_their_domain_are_rejected_with_the_reason(db, tmp_path, column, value, code):
    load_contract(db, tmp_path)
    columns = HEADER.split(",")
    fields = row(5).split(",")
    fields[columns.index(column)] = value
    summary = ingest.import_interactions(db, write(tmp_path, [",".join(fields).encode(), *good_rows(2)]))
    assert (summary.imported, summary.rejected) == (2, 1)
    [problem] = summary.errors
    assert (problem.line, problem.field, problem.code) == (2, column, code)


def test_a_row_key_cut_by_an_earlier_version_no_longer_stops_imports(db, tmp_path):
    """Databases written before the fix may hold a row key cut in the middle of its JSON: it is
    passed over, never parsed into a crash."""
    load_contract(db, tmp_path)
    first = ingest.import_interactions(db, write(tmp_path, good_rows(1), "one.csv"))
    with Session(db) as s:
        s.execute(
            insert(RejectedRow).values(
                batch_id=first.batch,
                kind="interactions",
                source="old.csv",
                row_number=2,
                row_key=json.dumps(["ACME-1", "y" * 400])[:300],
                raw="old",
                errors=[],
                status="open",
            )
        )
        s.commit()
    later = ingest.import_interactions(db, write(tmp_path, good_rows(2, start=10), "later.csv"))
    assert (later.imported, later.rejected, later.resolved_earlier_rejects) == (2, 0, 0)
    assert batch_of(db, later.batch).finished_at is not None


def test_row_keys_with_wide_characters_fit_and_resolve(db, tmp_path):
    """An id of 100 characters outside ASCII still has a key (stored as UTF-8 JSON, not as
    escapes six times its length), and importing it fixed resolves the kept row."""
    load_contract(db, tmp_path)
    wide = "ñ" * 50 + '"\\' * 25
    quoted = '"' + wide.replace('"', '""') + '"'
    bad = row(1).replace("k1", quoted).replace(",false,60,", ",maybe,60,")
    summary = ingest.import_interactions(db, write(tmp_path, [bad.encode()], "wide.csv"))
    assert summary.rejected == 1
    [reject] = kept(db)
    assert json.loads(reject.row_key) == ["ACME-1", wide]
    fixed = ingest.import_interactions(db, write(tmp_path, [bad.replace(",maybe,", ",false,").encode()], "fixed.csv"))
    assert (fixed.imported, fixed.resolved_earlier_rejects) == (1, 1)
    assert stored_ids(db) == [wide]


# --- 7, 8: bad bytes are bad rows; every other row is imported --------------------------------


@pytest.mark.parametrize("reader", READERS)
def test_a_nul_byte_rejects_its_row_and_the_other_999_are_imported(db, tmp_path, monkeypatch, reader):
    monkeypatch.setenv(pipeline.READER_ENV, reader)
    monkeypatch.setattr(batches, "CHUNK_ROWS", 300)
    load_contract(db, tmp_path)
    lines = good_rows(1000)
    lines[500] = row(500, "ab\x00cd").encode()
    summary = ingest.import_interactions(db, write(tmp_path, lines))
    assert (summary.imported, summary.rejected) == (999, 1)
    [reject] = kept(db)
    assert reject.row_number == 502 and reject.raw_format == "escaped"
    assert "ab\\x00cd" in reject.raw and "NUL" in reject.errors[0]["message"]
    assert batch_of(db, summary.batch).finished_at is not None
    assert exported(db, tmp_path) == HEADER.encode() + b"\n" + lines[500] + b"\n"


@pytest.mark.parametrize("reader", READERS)
def test_a_byte_that_is_not_utf8_rejects_its_row_only_and_gives_its_bytes_back(db, tmp_path, monkeypatch, reader):
    monkeypatch.setenv(pipeline.READER_ENV, reader)
    monkeypatch.setattr(batches, "CHUNK_ROWS", 300)
    load_contract(db, tmp_path)
    lines = good_rows(1000)
    lines[0] = row(0, "Pe\xf1a").encode("latin-1")
    summary = ingest.import_interactions(db, write(tmp_path, lines))
    assert (summary.imported, summary.rejected) == (999, 1)
    [problem] = summary.errors
    assert (problem.line, problem.code) == (2, "malformed_row") and "not UTF-8" in problem.message
    [reject] = kept(db)
    assert reject.raw == row(0, "Pe\\xf1a") and reject.raw_format == "escaped"
    assert exported(db, tmp_path) == HEADER.encode() + b"\n" + lines[0] + b"\n"
    assert stored_ids(db) == [f"k{n}" for n in range(1, 1000)]


def test_a_huge_field_rejects_its_line_only_and_keeps_its_start(db, tmp_path):
    load_contract(db, tmp_path)
    lines = good_rows(1000)
    lines[1] = row(1, "h" * (3 << 20)).encode()
    summary = ingest.import_interactions(db, write(tmp_path, lines))
    assert (summary.imported, summary.rejected) == (999, 1)
    [problem] = summary.errors
    assert problem.line == 3 and "longer than 1,048,576 bytes" in problem.message
    [reject] = kept(db)
    assert reject.raw_format == "prefix" and reject.raw == lines[1][: files.KEPT_PREFIX_BYTES].decode()
    # Only its start is kept, so it is not written out as if it were the whole row.
    assert exported(db, tmp_path) == HEADER.encode() + b"\n"


def test_a_line_that_never_ends_is_read_in_bounded_memory(tmp_path):
    """A file of 48 MiB without a newline: one over-long row, read without holding it."""
    import tracemalloc

    path = tmp_path / "endless.csv"
    with path.open("wb") as out:
        out.write(HEADER.encode() + b"\n" + row(1).encode() + b"\n")
        for _ in range(48):
            out.write(b"z" * (1 << 20))
    source = files.open_rows(path, ingest.INTERACTION_COLUMNS, ("interaction_id",), "interactions")
    tracemalloc.start()
    try:
        read = list(source.rows())
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        source.close()
    assert [(line, bool(values)) for line, values, _ in read] == [(2, True), (3, False)]
    assert "longer than 1,048,576 bytes" in source.malformed(read[1][2])
    assert peak < 8 * (1 << 20)


def test_a_header_that_never_ends_refuses_the_file(db, tmp_path):
    from billing.core.problems import ProblemsError

    path = tmp_path / "no-header.csv"
    path.write_bytes(b"interaction_id," * 200_000)
    with pytest.raises(ProblemsError, match="longer than"):
        ingest.import_interactions(db, path)


def test_quoted_fields_with_newlines_are_one_row_and_a_bad_byte_inside_one_rejects_that_row(db, tmp_path):
    load_contract(db, tmp_path)
    multi = b'q1,ACME-1,voice,"line one\nline two",2026-10-01T10:00:00Z,5,false,60,human,true,false,,,'
    broken = b'q2,ACME-1,voice,"first\n\xffsecond",2026-10-01T10:00:00Z,5,false,60,human,true,false,,,'
    summary = ingest.import_interactions(db, write(tmp_path, [multi, *good_rows(2), broken, *good_rows(2, 5)]))
    # The customer id of q1 holds a newline: a control character, so q1 is rejected for it.
    assert (summary.imported, summary.rejected) == (4, 2)
    assert [(p.line, p.field) for p in summary.errors] == [(2, "customer_id"), (6, "")]
    rejects = kept(db)
    assert [r.row_number for r in rejects] == [2, 6]
    assert rejects[1].raw_format == "escaped" and rejects[1].raw.endswith(",,,")
    # q1 was read into values: kept with its customer id pseudonymised; q2 was not: sealed, and
    # the export opens it into its bytes as read.
    private = pseudonym("ACME-1", "line one\nline two").encode()
    assert exported(db, tmp_path) == (
        HEADER.encode() + b"\n" + multi.replace(b'"line one\nline two"', private) + b"\n" + broken + b"\n"
    )


def test_wrong_column_counts_stray_carriage_returns_and_blank_lines(db, tmp_path):
    load_contract(db, tmp_path)
    lines = [*good_rows(2), b"only,three,fields", b"", b"a,b\rc,d", b"   ", *good_rows(2, 10)]
    summary = ingest.import_interactions(db, write(tmp_path, lines))
    assert (summary.imported, summary.rejected) == (4, 3)
    assert [p.line for p in summary.errors] == [4, 6, 7]
    assert exported(db, tmp_path) == HEADER.encode() + b"\nonly,three,fields\na,b\rc,d\n   \n"


def test_an_unclosed_quote_keeps_what_it_swallowed_whole(db, tmp_path, monkeypatch):
    """A quote that never closes would take the rest of the file as one field: the record is cut
    at the row limit, kept whole (every byte it took, for export), and reading goes on."""
    monkeypatch.setattr(files, "MAX_ROW_BYTES", 2000)
    load_contract(db, tmp_path)
    lines = [*good_rows(2), b'"open,ACME-1', *good_rows(40, 100)]
    summary = ingest.import_interactions(db, write(tmp_path, lines))
    [reject] = kept(db)
    swallowed = reject.raw.count("\n")
    assert summary.rejected == 1 and summary.imported == 2 + 40 - swallowed
    assert 2000 / 80 < swallowed < 40
    assert "quote" in reject.errors[0]["message"]
    fixed = exported(db, tmp_path).replace(b'"open,ACME-1\n', b"")
    (tmp_path / "fixed.csv").write_bytes(fixed)
    again = ingest.import_interactions(db, tmp_path / "fixed.csv")
    assert (again.imported, again.rejected) == (swallowed, 0)
    assert len(stored_ids(db)) == 42


def test_json_lines_bad_bytes_nuls_escapes_and_long_lines_are_rows_of_their_own(db, tmp_path, monkeypatch):
    monkeypatch.setattr(files, "MAX_ROW_BYTES", 1000)
    load_contract(db, tmp_path)

    def record(n: int, **changes: object) -> bytes:
        data = {
            "interaction_id": f"j{n}",
            "contract": "ACME-1",
            "channel": "chat",
            "started_at": "2026-10-05T10:00:00Z",
            "wait_seconds": 4,
            "abandoned": True,
            **changes,
        }
        return json.dumps(data).encode()

    lines = [
        record(1),
        record(2, customer_id="Pe\xf1a").replace(b"\\u00f1", b"\xf1"),  # raw latin-1
        record(3, customer_id="a\x00b"),  # the JSON escape \u0000
        record(4).replace(b'"chat"', b'"ch\x00at"'),  # a raw NUL: not JSON
        record(5, interaction_id="\ud800"),  # a lone surrogate escape
        record(6, customer_id={"nested": 1}),
        record(7, notes="n" * 2000),
        b"",
        record(8),
    ]
    path = write(tmp_path, lines, "mixed.jsonl", header=None)
    summary = ingest.import_interactions(db, path)
    assert (summary.imported, summary.rejected) == (2, 6)
    assert [(p.line, p.field) for p in summary.errors] == [
        (2, ""),
        (3, "customer_id"),
        (4, ""),
        (5, "interaction_id"),
        (6, ""),
        (7, ""),
    ]
    assert stored_ids(db) == ["j1", "j8"]
    out = tmp_path / "fix.jsonl"
    ingest.export_open_rejects(db, "interactions", out)
    expected = list(lines[1:6])
    for at in (1, 3):  # read into values: kept with the customer id pseudonymised
        record = json.loads(expected[at])
        if "customer_id" in record:
            record["customer_id"] = pseudonym("ACME-1", record["customer_id"])
        expected[at] = json.dumps(record).encode()
    assert out.read_bytes() == b"".join(line + b"\n" for line in expected)


@pytest.mark.parametrize("reader", READERS)
def test_export_fix_and_reimport_a_mixed_file_imports_each_row_once(db, tmp_path, monkeypatch, reader):
    monkeypatch.setenv(pipeline.READER_ENV, reader)
    monkeypatch.setattr(batches, "CHUNK_ROWS", 7)
    load_contract(db, tmp_path)
    lines = good_rows(30)
    lines[3] = row(3, "Pe\xf1a").encode("latin-1")
    lines[9] = row(9, "x\x00y").encode()
    lines[20] = row(20).replace(",false,60,", ",nope,60,").encode()
    first = ingest.import_interactions(db, write(tmp_path, lines))
    assert (first.imported, first.rejected) == (27, 3)
    out = exported(db, tmp_path)
    private20 = lines[20].replace(b",c1,", b"," + pseudonym("ACME-1", "c1").encode() + b",")
    assert out == HEADER.encode() + b"\n" + lines[3] + b"\n" + lines[9] + b"\n" + private20 + b"\n"
    fixed = out.replace(b"\xf1", "ñ".encode()).replace(b"\x00", b"").replace(b",nope,", b",false,")
    (tmp_path / "fixed.csv").write_bytes(fixed)
    again = ingest.import_interactions(db, tmp_path / "fixed.csv")
    assert (again.imported, again.duplicates, again.rejected) == (3, 0, 0)
    assert again.resolved_earlier_rejects == 3
    whole = ingest.import_interactions(db, write(tmp_path, lines))
    assert (whole.imported, whole.duplicates, whole.rejected) == (0, 27, 3)
    assert sorted(stored_ids(db)) == sorted(f"k{n}" for n in range(30))


def test_retry_rereads_kept_bytes_and_leaves_one_open_copy(db, tmp_path):
    load_contract(db, tmp_path)
    lines = good_rows(4)
    lines[1] = row(1, "x\x00y").encode()
    lines[2] = row(2).replace("ACME-1", "BETA-1").encode()
    first = ingest.import_interactions(db, write(tmp_path, lines))
    assert (first.imported, first.rejected) == (2, 2)
    load_contract(db, tmp_path, code="BETA-1")
    retried = ingest.retry_batch(db, "interactions", first.batch)
    assert (retried.imported, retried.rejected) == (1, 1)
    rows = kept(db)
    assert [(r.batch_id, r.status) for r in rows] == [
        (first.batch, "superseded"),
        (first.batch, "resolved"),
        (retried.batch, "open"),
    ]
    assert rows[2].raw == rows[0].raw and rows[2].raw_format == "escaped"


# --- 12c: a batch counts what it committed ----------------------------------------------------


def test_a_killed_import_leaves_its_batch_counting_what_it_committed(db_url, tmp_path):
    """SIGKILL in the middle of a file of several chunks: the batch row says how many rows its
    committed chunks stored and kept."""
    import os
    import signal
    import subprocess
    import sys
    from pathlib import Path

    from billing.storage.db import make_engine

    engine = make_engine(db_url)
    load_contract(engine, tmp_path)
    lines = good_rows(50)
    for n in (3, 12, 27):
        lines[n] = row(n).replace(",false,60,", ",nope,60,").encode()
    path = write(tmp_path, lines)
    script = tmp_path / "killed_import.py"
    script.write_text(
        f"""
import sys, time
sys.path.insert(0, {str(Path(__file__).resolve().parents[2])!r})
from pathlib import Path
from billing.storage.db import make_engine
from billing.measurement import ingest
from billing.measurement.ingest import batches
batches.CHUNK_ROWS = 10
kind = ingest.KINDS["interactions"]
real = kind.write
calls = []
def write(session, staged):
    calls.append(1)
    if len(calls) == 4:
        print("fourth chunk", flush=True)
        time.sleep(60)
    return real(session, staged)
kind.write = write
ingest.import_interactions(make_engine({db_url!r}), Path({str(path)!r}))
"""
    )
    importer = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True, env=dict(os.environ))
    try:
        assert importer.stdout is not None and importer.stdout.readline().strip() == "fourth chunk"
        importer.send_signal(signal.SIGKILL)
        importer.wait(10)
    finally:
        if importer.poll() is None:
            importer.kill()
    with Session(engine) as s:
        [batch] = s.execute(select(ImportBatch)).scalars().all()
        stored = s.execute(select(func.count()).select_from(Interaction)).scalar_one()
        rejected = s.execute(select(func.count()).select_from(RejectedRow)).scalar_one()
    engine.dispose()
    assert (stored, rejected) == (27, 3)  # three chunks of 10 rows committed, three of the rows bad
    assert (batch.imported, batch.duplicates, batch.rejected, batch.finished_at) == (27, 0, 3, None)


# --- the command line: every kept row in one line, whatever bytes it holds -------------------


def test_the_cli_imports_lists_and_exports_rows_of_any_bytes_without_a_traceback(db_url, tmp_path):
    from typer.testing import CliRunner

    from billing.cli import app
    from billing.storage.db import get_engine

    def billing(*args: str):
        return CliRunner().invoke(app, ["--db", db_url, *args])

    load_contract(get_engine(db_url), tmp_path)
    lines = good_rows(4)
    lines[1] = row(1, "x\x00y").encode()
    lines[2] = row(2).replace(",human,", ",[/red]\x1b[2J,").encode()  # markup and a terminal escape
    imported = billing("outcomes", "import", str(write(tmp_path, lines)))
    assert imported.exit_code == 1, imported.output
    assert json.loads(imported.stdout)["rejected"] == 2
    assert "holds a NUL byte" in imported.stderr and "'[/red]\\x1b[2J' is not human or ai" in imported.stderr
    assert "\x1b" not in imported.stderr and "Traceback" not in imported.output

    listed = billing("outcomes", "rejected", "--json")
    assert listed.exit_code == 0, listed.output
    assert [(r["row"], r["raw_format"]) for r in json.loads(listed.stdout)["data"]] == [(3, "sealed"), (4, None)]
    table = billing("outcomes", "rejected")
    assert table.exit_code == 0, table.output
    assert "\x1b" not in table.stdout and "\\x1b[2J" in table.stdout and "(sealed" in table.stdout
    assert "x\\x00y" not in table.stdout  # a sealed row shows nothing of its bytes

    out = tmp_path / "fix.csv"
    exported_rows = billing("outcomes", "rejected", "--export", str(out))
    assert exported_rows.exit_code == 0 and "2 row(s) written" in exported_rows.stderr
    private2 = lines[2].replace(b",c1,", b"," + pseudonym("ACME-1", "c1").encode() + b",")
    assert out.read_bytes() == HEADER.encode() + b"\n" + lines[1] + b"\n" + private2 + b"\n"
    unwritable = billing("outcomes", "rejected", "--export", str(tmp_path / "missing" / "fix.csv"))
    assert unwritable.exit_code == 2 and "cannot write" in unwritable.stderr


def test_rows_of_a_file_with_its_own_columns_are_exported_in_the_kinds_columns_with_their_bytes(db, tmp_path):
    """Re-mapped to the kind's columns on export, a field keeps its exact bytes (a newline,
    a quote, a byte that is not UTF-8), and the exported file reads back one row per row."""
    load_contract(db, tmp_path)
    header = b"contract,interaction_id,customer_id,channel,started_at,wait_seconds,abandoned,handle_seconds,notes"
    lines = [
        b'ACME-1,m1,"two\nlines",voice,2026-10-01T10:00:00Z,5,false,60,"a ""quoted"" note"',
        b"ACME-1,m2,Pe\xf1a,voice,2026-10-01T11:00:00Z,5,false,60,",
        b"ACME-1,m3,c3,voice,2026-10-01T12:00:00Z,5,false,60,",
    ]
    summary = ingest.import_interactions(db, write(tmp_path, lines, "own.csv", header=header))
    assert (summary.imported, summary.rejected) == (1, 2)
    out = exported(db, tmp_path)
    assert out == (
        HEADER.encode() + b"\n"
        b"m1,ACME-1,voice," + pseudonym("ACME-1", "two\nlines").encode() + b",2026-10-01T10:00:00Z,5,false,60,,,,,,\n"
        b"m2,ACME-1,voice,Pe\xf1a,2026-10-01T11:00:00Z,5,false,60,,,,,,\n"
    )
    (tmp_path / "fixed.csv").write_bytes(out.replace(b"\xf1", "ñ".encode()))
    fixed = ingest.import_interactions(db, tmp_path / "fixed.csv")
    assert (fixed.imported, fixed.rejected, fixed.resolved_earlier_rejects) == (2, 0, 2)
