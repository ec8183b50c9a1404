"""The import's reader, as a thread and as a forked child process: the same file gives the
same rows, rejects and summary either way, and a reader that fails or dies is reported, never
waited on forever."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import select
from sqlmodel import Session

from billing.measurement import ingest
from billing.measurement.ingest import batches, pipeline
from billing.storage.models import Interaction, RejectedRow
from tests.outcome_helpers import csv_file, load_contract, next_contact_errors, pseudonym

READERS = ["thread", "process"]


def mixed_file(tmp_path):
    """Five chunks of 7 rows: good rows, a duplicate inside the file, three bad rows, and
    bytes that are not UTF-8 near the end (everything before them is read)."""
    lines = []
    for n in range(30):
        started = f"2026-10-{1 + n % 28:02d}T10:00:{n % 60:02d}Z"
        lines.append(f"k{n},ACME-1,voice,c{n % 3},{started},{n},false,60,human,true,")
    lines[4] = "k4,ACME-1,voice,c1,2026-10-05T10:00:04Z,-4,false,60,human,true,"  # negative wait
    lines[11] = "k11,NOPE-9,voice,c2,2026-10-12T10:00:11Z,11,false,60,human,true,"  # unknown contract
    lines[17] = "k17,ACME-1,voice,c2,2026-10-18T10:00:17,17,false,60,human,true,"  # no UTC offset
    lines.append("k3,ACME-1,voice,c0,2026-10-04T10:00:03Z,3,false,60,human,true,")  # duplicate of k3
    path = csv_file(
        tmp_path,
        "\n".join(lines),
        header="interaction_id,contract,channel,customer_id,started_at,wait_seconds,abandoned,handle_seconds,"
        "handled_by,resolved,escalated",
    )
    path.write_bytes(path.read_bytes() + b"k99,ACME-1,voice,c\xff,2026-10-20T10:00:00Z,1,true,,human,,\n")
    return path


def stored(engine):
    with Session(engine) as s:
        rows = s.execute(
            select(Interaction.interaction_id, Interaction.wait_seconds, Interaction.next_contact_at).order_by(
                Interaction.id
            )
        ).all()
        rejects = s.execute(select(RejectedRow.row_number, RejectedRow.raw).order_by(RejectedRow.row_number)).all()
    return [tuple(r) for r in rows], [tuple(r) for r in rejects]


@pytest.mark.parametrize("reader", READERS)
def test_either_reader_imports_the_same_rows_rejects_and_summary(db, tmp_path, monkeypatch, reader):
    monkeypatch.setattr(batches, "CHUNK_ROWS", 7)
    monkeypatch.setenv(pipeline.READER_ENV, reader)
    load_contract(db, tmp_path)
    path = mixed_file(tmp_path)
    assert pipeline.reader_kind(path) == reader

    summary = ingest.import_interactions(db, path)

    assert (summary.imported, summary.duplicates, summary.rejected) == (27, 1, 4)
    assert [(p.line, p.field) for p in summary.errors] == [
        (6, "wait_seconds"),
        (13, "contract"),
        (19, "started_at"),
        (33, ""),
    ]
    rows, rejects = stored(db)
    assert [r[0] for r in rows] == [f"k{n}" for n in range(30) if n not in (4, 11, 17)]
    assert [line for line, _ in rejects] == [6, 13, 19, 33]
    assert rejects[0][1] == f"k4,ACME-1,voice,{pseudonym('ACME-1', 'c1')},2026-10-05T10:00:04Z,-4,false,60,human,true,"
    # Contacts of customer c0 (k0, k3, k6, ...) chain across the 7-row chunks.
    by_id = {iid: nxt for iid, _, nxt in rows}
    assert by_id["k0"] is not None and by_id["k27"] is None


def break_reader_at_line_20(monkeypatch, breaking):
    """Chunks of 7 rows read by a child process whose converter calls ``breaking()`` on line 20
    (the third chunk)."""
    monkeypatch.setattr(batches, "CHUNK_ROWS", 7)
    monkeypatch.setenv(pipeline.READER_ENV, "process")
    kind = ingest.KINDS["interactions"]
    real = kind.converter

    def converter(session, source, batch_id):
        convert = real(session, source, batch_id)

        def wrapped(values, line):
            if line == 20:
                breaking()
            return convert(values, line)

        return wrapped

    monkeypatch.setattr(kind, "converter", converter)


def test_a_reader_process_that_raises_is_reported_and_earlier_chunks_are_kept(db, tmp_path, monkeypatch):
    load_contract(db, tmp_path)

    def raise_error():
        raise ValueError("converter broke on line 20")

    break_reader_at_line_20(monkeypatch, raise_error)
    with pytest.raises(ValueError, match="line 20"):
        ingest.import_interactions(db, mixed_file(tmp_path))
    rows, _ = stored(db)
    assert len(rows) == 12  # the first two chunks (14 rows, two of them bad) were committed


def test_a_reader_process_that_dies_is_reported_not_waited_on(db, tmp_path, monkeypatch):
    load_contract(db, tmp_path)
    break_reader_at_line_20(monkeypatch, lambda: os._exit(3))  # as if killed: nothing reaches the queue
    with pytest.raises(RuntimeError, match="reader process stopped"):
        ingest.import_interactions(db, mixed_file(tmp_path))


def test_chain_points_each_contact_at_the_next_of_its_pair_in_time_then_file_order():
    from billing.measurement.ingest.next_contact import chain

    def row(contract, iid, customer, started, line):  # STORED positions 0, 1, 3, 4; then the line
        return (
            contract,
            iid,
            "voice",
            customer,
            started,
            0,
            False,
            1,
            "human",
            True,
            False,
            None,
            None,
            None,
            1,
            9,
            line,
        )

    rows = [
        row(1, "a", "c1", 300, 2),
        row(1, "b", "c1", 100, 3),
        row(1, "c", "c1", 100, 4),  # same instant as b: b (earlier in the file) points at c
        row(1, "b", "c1", 50, 5),  # a repeated key: not stored, so it takes no part
        row(2, "d", "c1", 200, 6),  # same customer code, another contract: another pair
        row(1, "e", None, 150, 7),  # no customer: no chain
    ]
    chained = chain(rows)
    assert [(r[1], r[-1]) for r in chained.rows] == [("a", None), ("b", 100), ("c", 300), ("d", None), ("e", None)]
    assert all(len(r) == len(rows[0]) for r in chained.rows)  # the line gave way to the next contact
    assert chained.pairs == [(1, "c1", 100), (2, "c1", 200)]
    assert chained.read == 6


def test_where_no_reader_process_can_start_the_thread_reads(db, tmp_path, monkeypatch):
    """A daemonic parent (a multiprocessing.Pool worker) may not start children, and a fork can
    fail for memory: the import goes on with the thread reader."""
    import multiprocessing.context

    def refuse(self):
        raise AssertionError("daemonic processes are not allowed to have children")

    monkeypatch.setattr(multiprocessing.context.ForkProcess, "start", refuse)
    monkeypatch.setattr(batches, "CHUNK_ROWS", 7)
    monkeypatch.setenv(pipeline.READER_ENV, "process")
    load_contract(db, tmp_path)
    summary = ingest.import_interactions(db, mixed_file(tmp_path))
    assert (summary.imported, summary.duplicates, summary.rejected) == (27, 1, 4)


def test_a_reader_process_does_not_outlive_a_killed_import(tmp_path):
    """An import killed outright (SIGKILL: no cleanup runs) leaves no reader behind: the
    reader's next write into the pipe fails and it exits."""
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    script = tmp_path / "slow_import.py"
    script.write_text(
        f"""
import sys, time
sys.path.insert(0, {str(Path(__file__).resolve().parents[2])!r})
from pathlib import Path
from billing.storage.db import make_engine, migrate
from billing.measurement import ingest
from billing.measurement.ingest import batches
from tests.outcome_helpers import load_contract
from tests.measurement.test_ingest_reader import mixed_file
url = "sqlite:///{tmp_path}/killed.db"
migrate(url)
engine = make_engine(url)
load_contract(engine, Path({str(tmp_path)!r}))
batches.CHUNK_ROWS = 3
kind = ingest.KINDS["interactions"]
def slow_write(session, rows):
    print("writing", flush=True)
    time.sleep(60)
kind.write = slow_write
ingest.import_interactions(engine, mixed_file(Path({str(tmp_path)!r})))
"""
    )
    env = {**os.environ, pipeline.READER_ENV: "process"}
    importer = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert importer.stdout is not None and importer.stdout.readline().strip() == "writing"
        children = Path(f"/proc/{importer.pid}/task/{importer.pid}/children").read_text().split()
        assert len(children) == 1
        reader = int(children[0])
        importer.send_signal(signal.SIGKILL)
        importer.wait(10)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and Path(f"/proc/{reader}").exists():
            if Path(f"/proc/{reader}/stat").read_text().split()[2] == "Z":
                break  # exited; a zombie until init reaps it
            time.sleep(0.05)
        alive = Path(f"/proc/{reader}").exists() and Path(f"/proc/{reader}/stat").read_text().split()[2] != "Z"
        assert not alive, "the reader process outlived the killed import"
    finally:
        if importer.poll() is None:
            importer.kill()


@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize("seed", range(4))
def test_next_contact_stays_right_with_either_reader_and_any_chunk_size(db, tmp_path, monkeypatch, reader, seed):
    """Random files: keys repeated inside and across files, contacts at the same instant, rows
    without a customer, two contracts, chunks of 2-8 rows cutting through everything."""
    import random

    monkeypatch.setenv(pipeline.READER_ENV, reader)
    rng = random.Random(seed)
    monkeypatch.setattr(batches, "CHUNK_ROWS", rng.choice([2, 3, 5, 8]))
    load_contract(db, tmp_path)
    load_contract(db, tmp_path, code="BETA-1")
    for number in range(10):
        lines = []
        for _ in range(rng.randint(1, 30)):
            hour = rng.choice([5, 10]) if rng.random() < 0.5 else rng.randint(0, 23)
            started = f"2026-10-0{rng.randint(1, 4)}T{hour:02d}:00:00Z"
            customer = rng.choice(["c1", "c2", ""])
            contract = rng.choice(["ACME-1", "BETA-1"])
            lines.append(f"k{rng.randint(0, 40)},{contract},voice,{customer},{started},5,false,60,human,true,false,,,")
        ingest.import_interactions(db, csv_file(tmp_path, "\n".join(lines), f"part{number}.csv"))
        assert next_contact_errors(db) == 0, f"after file {number}"
