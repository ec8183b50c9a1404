"""The daily outcome rollup: kept by every import in the same transaction as the rows, it
always equals a recount of the interactions, and measuring from it gives exactly what
measuring from the rows gives, on both engines.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from billing.cli import app
from billing.contracts.store import terms_in_force
from billing.core.periods import Period
from billing.measurement import ingest
from billing.measurement import rollup as outcome_days
from billing.measurement.contracts import load_contracts
from billing.measurement.ingest import batches, pipeline
from billing.measurement.queries import MeasureRequest, measure
from billing.rating.service import thresholds_of
from billing.storage.db import reading, transaction
from tests.outcome_helpers import contract_file, csv_file, next_contact_errors

MONTHS = [Period(2026, 9), Period(2026, 10), Period(2026, 11)]


def requests_for(db: Engine, codes: list[str], extra_thresholds: tuple[int, ...] = ()) -> list[MeasureRequest]:
    """Every month of every contract, under the terms in force (as rating asks)."""
    out = []
    with reading(db) as session:
        for code in codes:
            for month in MONTHS:
                item = terms_in_force(session, code, month)
                out.append(
                    MeasureRequest(
                        contract_id=item.contract_id,
                        contract=code,
                        period=month,
                        timezone=item.terms.timezone,
                        repeat_window_days=item.terms.resolution.repeat_window_days,
                        exclude_escalated=item.terms.resolution.exclude_escalated,
                        thresholds=tuple(sorted({*thresholds_of(item.terms), *extra_thresholds})),
                    )
                )
    return out


def both_ways(db: Engine, requests: list[MeasureRequest]):
    with reading(db, snapshot=True) as session:
        return measure(session, requests), measure(session, requests, from_rows=True)


def differences(db: Engine) -> list[outcome_days.Difference]:
    with transaction(db) as session:
        return outcome_days.verify(session)


def random_file(rng: random.Random, tmp_path: Path, number: int, codes: list[str], most: int = 40) -> Path:
    """Contacts across three months (late ones included, since lines are in random order),
    keys repeated within and across files, customers coming back within and beyond the
    windows, contacts at the same instant, escalations, abandons, surveys and QA scores."""
    lines = []
    for _ in range(rng.randint(1, most)):
        month = rng.choice([9, 10, 10, 11])
        day = rng.choice([1, 2, 15, 28, 30]) if month != 10 else rng.choice([1, 2, 15, 30, 31])
        hour = rng.choice([0, 3, 4, 5, 12, 18, 23])  # 18:30Z is midnight in Kolkata
        started = f"2026-{month:02d}-{day:02d}T{hour:02d}:{rng.choice(['00', '29', '30', '45']):s}:00Z"
        abandoned = rng.random() < 0.2
        handle = "" if abandoned else str(rng.randint(30, 900))
        qa = rng.choice(["", "", "87.5", "100", "64.25"])
        lines.append(
            ",".join(
                [
                    f"k{rng.randint(0, max(60, most))}",
                    rng.choice(codes),
                    rng.choice(["voice", "chat", "email"]),
                    rng.choice(["c1", "c2", "c3", ""]),
                    started,
                    str(rng.choice([0, 5, 20, 21, 29, 31, 120])),
                    "true" if abandoned else "false",
                    handle,
                    rng.choice(["human", "ai", ""]),
                    rng.choice(["true", "false", ""]),
                    rng.choice(["true", "false", "false"]),
                    rng.choice(["", "", "1", "4", "5"]),
                    rng.choice(["", "", "0", "6", "9", "10"]),
                    qa if not abandoned else "",
                ]
            )
        )
    return csv_file(tmp_path, "\n".join(lines), f"part{number}.csv")


@pytest.mark.parametrize("reader", ["thread", "process"])
@pytest.mark.parametrize("seed", range(4))
def test_the_rollup_always_equals_a_recount_and_measures_like_the_rows(db, tmp_path, monkeypatch, reader, seed):
    """Three contracts that file contacts under different local days (New York, Kolkata's
    half-hour offset, Lima), with different repeat windows, escalation rules and thresholds;
    eight random files through chunks of 2-8 rows. After every file the stored days equal a
    recount, and every month measures the same from the days and from the rows."""
    monkeypatch.setenv(pipeline.READER_ENV, reader)
    rng = random.Random(seed)
    monkeypatch.setattr(batches, "CHUNK_ROWS", rng.choice([2, 3, 5, 8]))
    load_contracts(
        db,
        [
            contract_file(tmp_path, "ACME-1", "America/New_York", 7, True, (20, 30)),
            contract_file(tmp_path, "BETA-1", "Asia/Kolkata", 2, False, (45,)),
            contract_file(tmp_path, "GAMA-1", "America/Lima", 30, True),
        ],
    )
    codes = ["ACME-1", "BETA-1", "GAMA-1"]
    requests = requests_for(db, codes)
    for number in range(8):
        ingest.import_interactions(db, random_file(rng, tmp_path, number, codes))
        assert differences(db) == [], f"after file {number}"
        from_days, from_rows = both_ways(db, requests)
        assert from_days == from_rows, f"after file {number}"
    assert next_contact_errors(db) == 0
    assert sum(cell.offered for outcome in from_days.values() for cell in outcome.cells) > 0


def test_a_covered_measurement_reads_the_days_and_any_other_reads_the_rows(db, tmp_path, monkeypatch):
    import billing.measurement.queries as measurement

    load_contracts(db, [contract_file(tmp_path, "ACME-1", "America/New_York", 7, True, (30,))])
    ingest.import_interactions(
        db,
        csv_file(
            tmp_path,
            """
        a1,ACME-1,voice,c1,2026-10-05T10:00:00Z,25,false,100,human,true,false,,,
        a2,ACME-1,voice,c1,2026-10-06T10:00:00Z,40,false,100,human,true,false,,,
        a3,ACME-1,chat,c2,2026-10-07T10:00:00Z,10,true,,ai,,,,,
    """,
        ),
    )
    counted: list[int] = []
    real = measurement._outcome_rows

    def counting(session, requests, slots, as_of_batch):
        counted.append(len(requests))
        return real(session, requests, slots, as_of_batch)

    monkeypatch.setattr(measurement, "_outcome_rows", counting)
    covered = requests_for(db, ["ACME-1"])
    ad_hoc = requests_for(db, ["ACME-1"], extra_thresholds=(25,))
    with reading(db) as session:
        days = measure(session, covered)
        assert counted == []  # no interaction was read
        rows = measure(session, ad_hoc)
        assert counted == [3]  # 25 s is in no basis: the rows answer
        as_of = measure(session, covered, as_of_batch=1)
        assert counted == [3, 3]
    october = days[(covered[1].contract_id, Period(2026, 10))]
    assert october.thresholds == (20, 30)
    voice = next(c for c in october.cells if c.channel == "voice")
    assert (voice.offered, voice.answered_within, voice.resolutions) == (2, (0, 1), 1)  # a1 came back within 7 days
    assert rows[(ad_hoc[1].contract_id, Period(2026, 10))].thresholds == (20, 25, 30)
    assert as_of[(covered[1].contract_id, Period(2026, 10))] == october


def test_an_amendment_with_a_new_threshold_or_window_rebuilds_the_days(db, tmp_path):
    load_contracts(db, [contract_file(tmp_path, "ACME-1", "America/New_York", 7, True, (30,))])
    ingest.import_interactions(db, random_file(random.Random(7), tmp_path, 0, ["ACME-1"]))
    with reading(db) as session:
        before = outcome_days.stored_bases(session)
    assert [(b.thresholds, b.windows) for b in before.values()] == [((20, 30), (7,))]
    load_contracts(db, [contract_file(tmp_path, "ACME-1", "America/New_York", 3, True, (60,), "2026-11-01")])
    with reading(db) as session:
        after = outcome_days.stored_bases(session)
    # The newest version's threshold and window come first; the older ones keep their slots.
    assert [(b.thresholds, b.windows) for b in after.values()] == [((20, 60, 30), (3, 7))]
    assert differences(db) == []
    requests = requests_for(db, ["ACME-1"])
    assert [r.thresholds for r in requests] == [(20, 30), (20, 30), (20, 60)]
    from_days, from_rows = both_ways(db, requests)
    assert from_days == from_rows
    # Loading the same files again changes nothing (and rebuilds nothing).
    load_contracts(db, [contract_file(tmp_path, "ACME-1", "America/New_York", 3, True, (60,), "2026-11-01")])
    with transaction(db) as session:
        assert outcome_days.ensure_all(session) == []


def test_thresholds_beyond_the_slots_are_measured_from_the_rows(db, tmp_path):
    load_contracts(db, [contract_file(tmp_path, "ACME-1", "America/New_York", 7, True, (10, 30, 45, 60, 90))])
    ingest.import_interactions(db, random_file(random.Random(3), tmp_path, 0, ["ACME-1"]))
    with reading(db) as session:
        (basis,) = outcome_days.stored_bases(session).values()
    assert basis.thresholds == (20, 10, 30, 45)
    requests = requests_for(db, ["ACME-1"])
    assert requests[0].thresholds == (10, 20, 30, 45, 60, 90)  # needs 60 and 90: from the rows
    from_days, from_rows = both_ways(db, requests)
    assert from_days == from_rows


def test_init_builds_the_days_of_a_database_from_before_the_rollup(db, db_url, tmp_path):
    """A database migrated from before revision 0006: no basis, no days, no local day on the
    rows. Measurements answer from the rows meanwhile; ``billing init`` builds the rest."""
    load_contracts(db, [contract_file(tmp_path, "BETA-1", "Asia/Kolkata", 2, False, (45,))])
    ingest.import_interactions(db, random_file(random.Random(11), tmp_path, 0, ["BETA-1"]))
    requests = requests_for(db, ["BETA-1"])
    expected, _ = both_ways(db, requests)
    with db.begin() as conn:
        filed = conn.execute(text("SELECT id, local_day FROM interaction ORDER BY id")).all()
        conn.execute(text("DELETE FROM outcome_day"))
        conn.execute(text("DELETE FROM outcome_basis"))
        conn.execute(text("UPDATE interaction SET local_day = NULL"))
    assert both_ways(db, requests) == (expected, expected)

    result = CliRunner().invoke(app, ["--db", db_url, "init"])

    assert result.exit_code == 0, result.output
    assert "daily outcome rollup built for 1 contract(s)" in result.stdout
    with db.begin() as conn:
        assert conn.execute(text("SELECT id, local_day FROM interaction ORDER BY id")).all() == filed
    assert differences(db) == []
    assert both_ways(db, requests) == (expected, expected)


def test_check_reports_a_day_that_differs_and_repair_rebuilds_it(db, db_url, tmp_path):
    load_contracts(db, [contract_file(tmp_path, "ACME-1", "America/New_York", 7, True)])
    ingest.import_interactions(db, random_file(random.Random(5), tmp_path, 0, ["ACME-1"]))
    runner = CliRunner()
    clean = runner.invoke(app, ["--db", db_url, "kpis", "check"])
    assert clean.exit_code == 0 and "matches the interactions" in clean.stdout
    with db.begin() as conn:
        first = conn.execute(text("SELECT min(local_day) FROM outcome_day")).scalar()
        conn.execute(text(f"UPDATE outcome_day SET offered = offered + 1, handle_sum = 0 WHERE local_day = {first}"))
    found = differences(db)
    assert {d.column for d in found} >= {"offered"} and all(d.stored != d.recounted for d in found)
    offered = next(d for d in found if d.column == "offered")
    assert offered.stored == offered.recounted + 1

    failed = runner.invoke(app, ["--db", db_url, "kpis", "check", "ACME-1"])
    assert failed.exit_code == 1 and "offered stored" in failed.stdout
    repaired = runner.invoke(app, ["--db", db_url, "kpis", "check", "--repair"])
    assert repaired.exit_code == 0 and "rebuilt the days of 1 contract(s)" in repaired.stdout
    assert differences(db) == []


def test_kpis_recount_gives_the_same_report_as_the_days(db, db_url, tmp_path):
    load_contracts(db, [contract_file(tmp_path, "ACME-1", "America/New_York", 7, True, (30,))])
    ingest.import_interactions(db, random_file(random.Random(9), tmp_path, 0, ["ACME-1"]))
    runner = CliRunner()
    shown = [
        json.loads(
            runner.invoke(app, ["--db", db_url, "kpis", "ACME-1", "--period", "2026-10", "--json", *extra]).stdout
        )
        for extra in ([], ["--recount"], ["--threshold", "30"], ["--threshold", "30", "--recount"])
    ]
    assert shown[0] == shown[1] and shown[2] == shown[3]
    assert shown[0]["kpis"]["offered"] > 0


def test_imports_and_an_amendment_at_the_same_time_leave_the_days_right(db, db_url, tmp_path, monkeypatch):
    """Two imports of overlapping files and a contract amendment that changes the basis, all at
    once: writers serialize chunk by chunk (SQLite's BEGIN IMMEDIATE, PostgreSQL's advisory
    lock), so whatever the interleaving the days equal a recount and next contacts are right."""
    import threading

    from billing.storage.db import make_engine

    monkeypatch.setenv(pipeline.READER_ENV, "thread")  # no fork from a threaded test process
    monkeypatch.setattr(batches, "CHUNK_ROWS", 3)
    load_contracts(db, [contract_file(tmp_path, "ACME-1", "America/New_York", 7, True, (30,))])
    rng = random.Random(21)
    files = [random_file(rng, tmp_path, number, ["ACME-1"], most=300) for number in range(4)]
    amendment = contract_file(tmp_path, "ACME-1", "America/New_York", 2, True, (45,), "2026-11-01")
    failures: list[BaseException] = []

    def run(action) -> None:
        engine = make_engine(db_url)
        try:
            action(engine)
        except BaseException as exc:  # reported by the test below
            failures.append(exc)
        finally:
            engine.dispose()

    def import_two(first: int):
        return lambda engine: [ingest.import_interactions(engine, files[n]) for n in (first, first + 1)]

    threads = [
        threading.Thread(target=run, args=(import_two(0),)),
        threading.Thread(target=run, args=(import_two(2),)),
        threading.Thread(target=run, args=(lambda engine: load_contracts(engine, [amendment]),)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert failures == []
    with db.connect() as conn:
        spans = conn.execute(text("SELECT started_at, finished_at FROM import_batch ORDER BY id")).all()
    overlapped = any(a[0] < b[1] and b[0] < a[1] for a in spans for b in spans if a != b)
    # PostgreSQL interleaves the two imports' chunks; on SQLite the writer that holds the lock
    # mostly takes it again at once, so the imports tend to run one after the other.
    assert len(spans) == 4 and (overlapped or db.dialect.name == "sqlite")
    assert differences(db) == []
    assert next_contact_errors(db) == 0
    with reading(db) as session:
        (basis,) = outcome_days.stored_bases(session).values()
    assert (basis.thresholds, basis.windows) == ((20, 45, 30), (2, 7))
    from_days, from_rows = both_ways(db, requests_for(db, ["ACME-1"]))
    assert from_days == from_rows
