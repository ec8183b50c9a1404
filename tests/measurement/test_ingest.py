"""Importing interactions: idempotent, streaming, every bad row kept with its reasons."""

from __future__ import annotations

import itertools
import json
from datetime import datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from billing.core.problems import ProblemsError
from billing.measurement import ingest
from billing.measurement.contracts import load_contracts
from billing.measurement.ingest import batches
from billing.storage.models import ClientKpi, ImportBatch, Interaction, RejectedRow
from tests.conftest import GOLDEN
from tests.outcome_helpers import HEADER, csv_file, load_contract, next_contact_errors, opened, pseudonym, rollup_state


def epoch(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp())


def count(engine, model, *where) -> int:
    with Session(engine) as s:
        return s.execute(select(func.count()).select_from(model).where(*where)).scalar_one()


def next_contacts(engine) -> dict[str, int | None]:
    with Session(engine) as s:
        rows = s.execute(select(Interaction.interaction_id, Interaction.next_contact_at)).all()
    return {iid: (None if at is None else int(at.timestamp())) for iid, at in rows}


def test_the_golden_file_imports_ten_rows_and_skips_its_duplicate(db):
    load_contracts(db, [GOLDEN / "contract.yaml"])
    summary = ingest.import_interactions(db, GOLDEN / "interactions.csv")
    assert (summary.imported, summary.duplicates, summary.rejected) == (10, 1, 0)
    assert count(db, Interaction) == 10
    with Session(db) as s:
        batch = s.get(ImportBatch, summary.batch)
        assert (batch.kind, batch.imported, batch.duplicates, batch.rejected) == ("interactions", 10, 1, 0)
        assert batch.finished_at is not None


def test_reimporting_a_file_changes_nothing(db):
    load_contracts(db, [GOLDEN / "contract.yaml"])
    ingest.import_interactions(db, GOLDEN / "interactions.csv")
    before, (differences, days) = next_contacts(db), rollup_state(db)
    again = ingest.import_interactions(db, GOLDEN / "interactions.csv")
    assert (again.imported, again.duplicates, again.rejected) == (0, 11, 0)
    assert count(db, Interaction) == 10
    assert next_contacts(db) == before
    assert differences == [] and len(days) == 10 and rollup_state(db) == ([], days)
    # c1 came back three days after i1: i1 points at i2, and i2 (no later contact) at nothing.
    assert before["i2"] is None
    assert before["i1"] == epoch("2026-10-08T09:00:00-04:00")


def test_an_overlapping_file_imports_only_what_is_new(db, tmp_path):
    load_contract(db, tmp_path)
    first = csv_file(
        tmp_path,
        """
        a1,ACME-1,voice,c1,2026-10-01T10:00:00Z,5,false,100,human,true,false,,,
        a2,ACME-1,voice,c2,2026-10-01T11:00:00Z,5,false,100,human,true,false,,,
    """,
        "first.csv",
    )
    second = csv_file(
        tmp_path,
        """
        a2,ACME-1,voice,c2,2026-10-01T11:00:00Z,5,false,100,human,true,false,,,
        a3,ACME-1,chat,c3,2026-10-01T12:00:00Z,5,false,100,ai,true,false,,,
    """,
        "second.csv",
    )
    ingest.import_interactions(db, first)
    summary = ingest.import_interactions(db, second)
    assert (summary.imported, summary.duplicates) == (1, 1)


def test_bad_rows_are_kept_with_every_reason_and_good_rows_imported(db, tmp_path):
    load_contract(db, tmp_path)
    path = csv_file(
        tmp_path,
        """
        g1,ACME-1,voice,c1,2026-10-01T10:00:00Z,5,false,100,human,true,false,5,9,88.5
        b1,ACME-1,voice,c1,2026-10-02T10:00:00,-3,maybe,,robot,true,false,7,11,100.123
        b2,NOPE-9,voice,c2,2026-02-30T10:00:00Z,5,true,,human,false,false,,,
        b3,ACME-1,voice,c3,2026-10-03T10:00:00Z,,false,,human,,,,,
        g2,ACME-1,chat,,2026-10-04T10:00:00+02:00,0,true,,ai,,,,,
        b4,ACME-1,voice
    """,
    )
    summary = ingest.import_interactions(db, path)
    assert (summary.imported, summary.duplicates, summary.rejected) == (2, 0, 4)
    problems = {(p.line, p.field, p.code) for p in summary.errors}
    assert problems == {
        (3, "started_at", "timestamp_without_offset"),
        (3, "wait_seconds", "out_of_range"),
        (3, "abandoned", "bad_boolean"),
        (3, "handled_by", "bad_handler"),
        (3, "csat", "out_of_range"),
        (3, "nps", "out_of_range"),
        (3, "qa_score", "bad_score"),
        (4, "contract", "unknown_contract"),
        (4, "started_at", "bad_timestamp"),
        (5, "wait_seconds", "missing_value"),
        (5, "handle_seconds", "missing_handle_time"),
        (7, "", "malformed_row"),
    }
    assert all(p.source == str(path) for p in summary.errors)
    with Session(db) as s:
        kept = s.execute(select(RejectedRow).order_by(RejectedRow.row_number)).scalars().all()
        assert [(r.row_number, r.status, r.header) for r in kept] == [(n, "open", HEADER) for n in (3, 4, 5, 7)]
        assert kept[0].raw.startswith(f"b1,ACME-1,voice,{pseudonym('ACME-1', 'c1')},2026-10-02T10:00:00,-3,maybe")
        assert all(",c1," not in r.raw for r in kept)  # the customer id as sent is kept nowhere
        assert len(kept[0].errors) == 7


def test_a_file_without_a_required_column_is_refused_whole(db, tmp_path):
    load_contract(db, tmp_path)
    path = tmp_path / "short.csv"
    path.write_text("interaction_id,contract,channel,started_at\nx1,ACME-1,voice,2026-10-01T10:00:00Z\n")
    with pytest.raises(ProblemsError) as refused:
        ingest.import_interactions(db, path)
    [problem] = refused.value.problems
    assert problem.code == "missing_columns" and problem.field == "wait_seconds,abandoned"
    assert count(db, ImportBatch) == 0 and count(db, Interaction) == 0


def test_json_lines_import_like_csv(db, tmp_path):
    load_contract(db, tmp_path)
    path = tmp_path / "interactions.jsonl"
    rows = [
        {
            "interaction_id": "j1",
            "contract": "ACME-1",
            "channel": "chat",
            "started_at": "2026-10-05T10:00:00Z",
            "wait_seconds": 4,
            "abandoned": False,
            "handle_seconds": 120,
            "handled_by": "ai",
            "resolved": True,
            "customer_id": "c1",
            "csat": 5,
            "qa_score": 92.5,
        },
        {
            "interaction_id": "j2",
            "contract": "ACME-1",
            "channel": "voice",
            "started_at": "2026-10-05T11:00:00Z",
            "wait_seconds": 30,
            "abandoned": True,
        },
        {
            "interaction_id": "j3",
            "contract": "ACME-1",
            "channel": "voice",
            "started_at": "2026-10-05T11:00:00Z",
            "wait_seconds": 2.5,
            "abandoned": "perhaps",
        },
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n\nnot json\n")
    summary = ingest.import_interactions(db, path)
    assert (summary.imported, summary.rejected) == (2, 2)
    assert {(p.line, p.field) for p in summary.errors} == {(3, "wait_seconds"), (3, "abandoned"), (5, "")}
    with Session(db) as s:
        j1 = s.execute(select(Interaction).where(Interaction.interaction_id == "j1")).scalar_one()
        assert (j1.handled_by, j1.resolved, j1.csat, j1.qa_score) == ("ai", True, 5, Decimal("92.5"))
        kept = s.execute(select(RejectedRow.header, RejectedRow.raw, RejectedRow.raw_format)).all()
        assert {h for h, _, _ in kept} == {None}
        # "not json" could not be read into values: sealed, opened by the key
        sealed = [RejectedRow(raw=r, raw_format=f) for _, r, f in kept if f == "sealed"]
        assert [opened(row).raw for row in sealed] == ["not json"]


def test_a_file_larger_than_a_chunk_streams_through_in_chunks(db, tmp_path, monkeypatch):
    monkeypatch.setattr(batches, "CHUNK_ROWS", 7)
    load_contract(db, tmp_path)
    body = "\n".join(
        f"k{n},ACME-1,voice,c{n % 4},2026-10-{1 + n % 28:02d}T10:00:{n % 60:02d}Z,{n},false,60,human,true,false,,,"
        for n in range(50)
    )
    path = csv_file(tmp_path, body + "\nk3,ACME-1,voice,c3,2026-10-04T10:00:03Z,3,false,60,human,true,false,,,")
    summary = ingest.import_interactions(db, path)
    assert (summary.imported, summary.duplicates) == (50, 1)
    # next_contact_at chains every customer's contacts in time order across chunks.
    with Session(db) as s:
        rows = s.execute(
            select(Interaction.customer_id, Interaction.started_at, Interaction.next_contact_at).order_by(
                Interaction.customer_id, Interaction.started_at, Interaction.id
            )
        ).all()
    for (cust, _, nxt), (cust2, start2, _) in itertools.pairwise([*rows, (None, None, None)]):
        assert nxt == (start2 if cust == cust2 else None)


def test_a_late_contact_in_a_later_import_moves_next_contact(db, tmp_path):
    load_contract(db, tmp_path)
    ingest.import_interactions(
        db,
        csv_file(
            tmp_path,
            """
        e1,ACME-1,voice,c1,2026-10-01T10:00:00Z,5,false,100,human,true,false,,,
        e3,ACME-1,voice,c1,2026-10-20T10:00:00Z,5,false,100,human,true,false,,,
        o1,ACME-1,voice,c2,2026-10-01T10:00:00Z,5,false,100,human,true,false,,,
    """,
            "first.csv",
        ),
    )
    assert next_contacts(db) == {"e1": epoch("2026-10-20T10:00:00Z"), "e3": None, "o1": None}
    ingest.import_interactions(
        db,
        csv_file(
            tmp_path,
            """
        e2,ACME-1,chat,c1,2026-10-03T10:00:00Z,5,false,100,human,true,false,,,
    """,
            "late.csv",
        ),
    )
    assert next_contacts(db) == {
        "e1": epoch("2026-10-03T10:00:00Z"),
        "e2": epoch("2026-10-20T10:00:00Z"),
        "e3": None,
        "o1": None,
    }


def test_rejected_rows_fixed_and_reimported_are_resolved(db, tmp_path):
    load_contract(db, tmp_path)
    bad = ingest.import_interactions(
        db,
        csv_file(
            tmp_path,
            """
        r1,ACME-1,voice,c1,2026-10-01T10:00:00Z,5,false,,human,true,false,,,
        r2,ACME-2,voice,c2,2026-10-01T10:00:00Z,5,false,50,human,true,false,,,
        r3,ACME-1,voice,c3,2026-10-01T10:00:00Z,5,false,50,human,true,false,,,
    """,
        ),
    )
    assert (bad.imported, bad.rejected) == (1, 2)
    fixed = tmp_path / "fixed.csv"
    assert ingest.export_open_rejects(db, "interactions", fixed) == 2
    lines = fixed.read_text().splitlines()
    assert (
        lines[0] == HEADER and lines[1].startswith(f"r1,ACME-1,voice,{pseudonym('ACME-1', 'c1')},") and len(lines) == 3
    )
    fixed.write_text(lines[0] + "\n" + lines[1].replace("false,,human", "false,75,human") + "\n" + lines[2] + "\n")
    again = ingest.import_interactions(db, fixed)
    assert (again.imported, again.rejected, again.resolved_earlier_rejects) == (1, 1, 1)
    with Session(db) as s:
        statuses = sorted(s.execute(select(RejectedRow.row_key, RejectedRow.status)).all())
    assert statuses == [
        ('["ACME-1", "r1"]', "resolved"),
        ('["ACME-2", "r2"]', "open"),
        ('["ACME-2", "r2"]', "superseded"),
    ]
    load_contract(db, tmp_path, "ACME-2")
    retried = ingest.retry_batch(db, "interactions", again.batch)
    assert (retried.imported, retried.rejected) == (1, 0)
    assert count(db, RejectedRow, RejectedRow.status == "open") == 0


def test_workforce_import_is_idempotent_and_checks_every_column(db, tmp_path):
    load_contract(db, tmp_path)
    header = "contract,date,agent_id,productive_hours"
    path = csv_file(
        tmp_path,
        """
        ACME-1,2026-10-01,a1,7.5
        ACME-1,2026-10-01,a2,8
        ACME-1,2026-10-01,a1,7.5
        ACME-1,2026-10-32,a3,25
        NOPE,2026-10-02,,x
    """,
        "hours.csv",
        header,
    )
    first = ingest.import_workforce(db, path)
    assert (first.imported, first.duplicates, first.rejected) == (2, 1, 2)
    assert {(p.line, p.field) for p in first.errors} == {
        (5, "date"),
        (5, "productive_hours"),
        (6, "contract"),
        (6, "agent_id"),
        (6, "productive_hours"),
    }
    again = ingest.import_workforce(db, path)
    assert (again.imported, again.duplicates) == (0, 3)


def test_client_kpis_are_upserted_latest_figure_wins(db, tmp_path):
    load_contract(db, tmp_path)
    header = "contract,period,metric,value"
    ingest.import_client_kpis(
        db,
        csv_file(
            tmp_path,
            """
        ACME-1,2026-10,service_level,81.5
        ACME-1,2026-10,csat,90
    """,
            "kpis.csv",
            header,
        ),
    )
    second = ingest.import_client_kpis(
        db,
        csv_file(
            tmp_path,
            """
        ACME-1,2026-10,service_level,79.25
        ACME-1,2026-13,speed,fast
    """,
            "kpis2.csv",
            header,
        ),
    )
    assert (second.imported, second.rejected) == (1, 1)
    assert {p.field for p in second.errors} == {"period", "metric", "value"}
    with Session(db) as s:
        figures = {k.metric: k.value for k in s.execute(select(ClientKpi)).scalars()}
    assert figures == {"service_level": Decimal("79.25"), "csat": Decimal(90)}


def test_an_import_that_stopped_midway_is_completed_by_the_next_one(db, tmp_path, monkeypatch):
    """Chunks commit as they go, each with its repeat-contact input already right; when a run
    dies before its end, the next import brings the rest."""
    load_contract(db, tmp_path)
    monkeypatch.setattr(batches, "CHUNK_ROWS", 2)
    path = csv_file(
        tmp_path,
        """
        s1,ACME-1,voice,c1,2026-10-01T10:00:00Z,5,false,100,human,true,false,,,
        s2,ACME-1,voice,c1,2026-10-02T10:00:00Z,5,false,100,human,true,false,,,
        s3,ACME-1,voice,c2,2026-10-03T10:00:00Z,5,false,100,human,true,false,,,
    """,
    )
    real_write = ingest.KINDS["interactions"].write
    calls = []

    def dies_on_second_chunk(session, rows):
        calls.append(len(rows))
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real_write(session, rows)

    monkeypatch.setattr(ingest.KINDS["interactions"], "write", dies_on_second_chunk)
    with pytest.raises(KeyboardInterrupt):
        ingest.import_interactions(db, path)
    assert next_contacts(db) == {"s1": epoch("2026-10-02T10:00:00Z"), "s2": None}
    differences, days = rollup_state(db)  # the first chunk's days went in with its rows
    assert differences == [] and sum(day[4] for day in days) == 2
    monkeypatch.setattr(ingest.KINDS["interactions"], "write", real_write)
    summary = ingest.import_interactions(db, path)
    assert (summary.imported, summary.duplicates) == (1, 2)
    assert next_contacts(db) == {"s1": epoch("2026-10-02T10:00:00Z"), "s2": None, "s3": None}
    differences, days = rollup_state(db)
    assert differences == [] and sum(day[4] for day in days) == 3


def test_bytes_that_are_not_utf8_reject_their_row_and_the_rest_is_read(db, tmp_path):
    load_contract(db, tmp_path)
    path = csv_file(
        tmp_path,
        """
        u1,ACME-1,voice,c1,2026-10-01T10:00:00Z,5,false,100,human,true,false,,,
        u2,ACME-1,voice,c1,2026-10-02T10:00:00Z,5,false,100,human,true,false,,,
    """,
    )
    path.write_bytes(
        path.read_bytes()
        + b"u3,ACME-1,voice,c\xff\xfe,2026-10-03T10:00:00Z,5,true,,human,,,,,\n"
        + b"u4,ACME-1,voice,c2,2026-10-04T10:00:00Z,5,true,,human,,,,,\n"
    )
    summary = ingest.import_interactions(db, path)
    assert (summary.imported, summary.rejected) == (3, 1)
    [problem] = summary.errors
    assert (problem.line, problem.code) == (4, "malformed_row")
    assert problem.message == "is not UTF-8 text (byte 0xff at position 18)"


def test_next_contact_equals_a_full_recomputation_whatever_the_arrival_order(db, tmp_path, monkeypatch):
    """Files arriving out of time order, contacts at the same instant, keys repeated inside a
    file and across files, rows without a customer, chunks cutting through a customer: after
    every import each contact points at the one after it in (started_at, id) order."""
    import random

    monkeypatch.setattr(batches, "CHUNK_ROWS", 5)
    load_contract(db, tmp_path)
    load_contract(db, tmp_path, code="BETA-1")
    rng = random.Random(7)
    for number in range(6):
        lines = []
        for _ in range(rng.randint(3, 25)):
            key = rng.randint(0, 60)  # repeats across and inside files
            customer = rng.choice(["c1", "c2", "c3", ""])
            hour = rng.choice([5, 10, 10, 12]) if rng.random() < 0.3 else rng.randint(0, 23)
            day = rng.randint(1, 9)
            contract = rng.choice(["ACME-1", "BETA-1"])
            lines.append(
                f"k{key},{contract},voice,{customer},2026-10-0{day}T{hour:02d}:00:00Z,5,false,60,human,true,false,,,"
            )
        ingest.import_interactions(db, csv_file(tmp_path, "\n".join(lines), f"part{number}.csv"))
        assert next_contact_errors(db) == 0, f"after file {number}"
    assert count(db, Interaction, Interaction.next_contact_at.is_not(None)) > 10
