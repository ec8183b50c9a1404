"""The KPI engine: one grouped SQL query per batch of contract-periods, identical on both
engines, with the repeat-contact rule across period ends and daylight-saving bounds."""

from __future__ import annotations

import json
from decimal import Decimal

from billing.contracts.terms import Filter, KpiMetric, ServiceLevelFormula
from billing.core.periods import Period
from billing.measurement import ingest
from billing.measurement.contracts import load_contracts
from billing.measurement.kpis import kpi_report, metric_value, totals
from billing.measurement.queries import MeasureRequest, measure
from billing.storage.db import reading
from tests.conftest import GOLDEN
from tests.outcome_helpers import csv_file, load_contract, outcomes_of


def golden(db):
    load_contracts(db, [GOLDEN / "contract.yaml"])
    ingest.import_interactions(db, GOLDEN / "interactions.csv")


def test_the_golden_case_gives_exactly_the_expected_kpis(db):
    golden(db)
    expected = json.loads((GOLDEN / "expected-kpis-2026-10.json").read_text())["kpis"]
    report = kpi_report(outcomes_of(db, "GOLD-1", "2026-10"))
    assert {name: report[name] for name in expected} == expected


def test_the_four_service_level_formulas(db):
    golden(db)
    t = totals(outcomes_of(db, "GOLD-1", "2026-10"))
    values = {f.value: metric_value(t, KpiMetric.SERVICE_LEVEL, f) for f in ServiceLevelFormula}
    assert {name: (round(v, 2), n) for name, (v, n) in values.items()} == {
        "exclude_short_abandons": (Decimal("62.50"), 8),
        "abandons_against": (Decimal("55.56"), 9),
        "abandons_for": (Decimal("66.67"), 9),
        "answered_only": (Decimal("71.43"), 7),
    }


def test_channel_and_handler_filters(db):
    golden(db)
    outcomes = outcomes_of(db, "GOLD-1", "2026-10")
    voice = kpi_report(outcomes, Filter(channels=("voice",)))
    assert (voice["offered"], voice["answered"], voice["service_level"]) == (6, 4, "60.00")
    ai = kpi_report(outcomes, Filter(handled_by=("ai",)))
    # i3 (escalated) and i4 (resolved): one resolution out of two answered.
    assert (ai["offered"], ai["resolutions"], ai["fcr_rate"], ai["csat"]) == (2, 1, "50.00", "0.00")
    nothing = kpi_report(outcomes, Filter(channels=("email",), handled_by=("ai",)))
    assert (nothing["offered"], nothing["service_level"], nothing["asa_seconds"]) == (0, None, None)


def test_daylight_saving_end_in_new_york_puts_each_hour_in_one_period(db):
    """Clocks go back at 02:00 EDT on 2026-11-01: 03:30Z is still October 31st local time,
    04:30Z is November 1st; nothing is dropped or counted twice."""
    golden(db)
    october = outcomes_of(db, "GOLD-1", "2026-10")
    november = outcomes_of(db, "GOLD-1", "2026-11")
    assert (totals(october).offered, totals(november).offered) == (9, 1)
    assert kpi_report(november)["asa_seconds"] == "4.00"


def test_a_repeat_contact_in_the_next_period_disqualifies_a_resolution(db, tmp_path):
    load_contract(db, tmp_path, repeat_window_days=3)
    ingest.import_interactions(
        db,
        csv_file(
            tmp_path,
            """
        a1,ACME-1,voice,c1,2026-10-31T20:00:00-04:00,5,false,100,human,true,false,,,
        a2,ACME-1,voice,c1,2026-11-02T09:00:00-05:00,5,false,100,human,true,false,,,
        b1,ACME-1,voice,c2,2026-10-20T10:00:00-04:00,5,false,100,human,true,false,,,
        b2,ACME-1,voice,c2,2026-10-23T10:00:01-04:00,5,false,100,human,true,false,,,
        x1,ACME-1,voice,,2026-10-21T10:00:00-04:00,5,false,100,human,true,false,,,
        x2,ACME-1,voice,,2026-10-21T11:00:00-04:00,5,false,100,human,true,false,,,
    """,
        ),
    )
    # a1 is followed two days later (in November): not a resolution. b1's next contact comes
    # 3 days and 1 second later, outside the window. Contacts without a customer always count.
    assert totals(outcomes_of(db, "ACME-1", "2026-10")).resolutions == 5 - 1
    assert totals(outcomes_of(db, "ACME-1", "2026-11")).resolutions == 1


def test_a_late_repeat_contact_changes_the_measure_and_as_of_keeps_the_old_one(db, tmp_path):
    load_contract(db, tmp_path)
    first = ingest.import_interactions(
        db,
        csv_file(
            tmp_path,
            """
        a1,ACME-1,chat,c1,2026-10-30T10:00:00Z,5,false,100,ai,true,false,,,
        b1,ACME-1,chat,c2,2026-10-10T10:00:00Z,5,false,100,ai,true,false,,,
    """,
            "october.csv",
        ),
    )
    assert totals(outcomes_of(db, "ACME-1", "2026-10")).resolutions == 2
    late = ingest.import_interactions(
        db,
        csv_file(
            tmp_path,
            """
        a2,ACME-1,voice,c1,2026-11-03T10:00:00Z,5,false,100,human,false,false,,,
        b0,ACME-1,voice,c2,2026-10-09T10:00:00Z,5,true,,human,false,false,,,
    """,
            "late.csv",
        ),
    )
    now = outcomes_of(db, "ACME-1", "2026-10")
    then = outcomes_of(db, "ACME-1", "2026-10", as_of_batch=first.batch)
    assert (totals(now).resolutions, totals(now).offered, now.data_as_of) == (1, 3, late.batch)
    assert (totals(then).resolutions, totals(then).offered, then.data_as_of) == (2, 2, first.batch)


def test_as_of_the_newest_batch_equals_the_materialized_path(db, tmp_path):
    golden(db)
    load_contract(db, tmp_path, repeat_window_days=2)
    body = "\n".join(
        f"n{n},ACME-1,{('voice', 'chat', 'email')[n % 3]},c{n % 7},"
        f"2026-{10 + n % 2}-{1 + (n * 5) % 28:02d}T{n % 24:02d}:{n % 60:02d}:00-04:00,"
        f"{(n * 13) % 90},{'true' if n % 9 == 0 else 'false'},{'' if n % 9 == 0 else 60 + n},"
        f"{'ai' if n % 4 == 0 else 'human'},{'true' if n % 3 else 'false'},{'true' if n % 11 == 0 else 'false'},"
        f"{1 + n % 5},{n % 11},{n % 101}.{n % 100:02d}"
        for n in range(120)
    )
    newest = ingest.import_interactions(db, csv_file(tmp_path, body)).batch
    with reading(db) as session:
        requests = [
            MeasureRequest(cid, code, Period(2026, m), "America/New_York", window, True, thresholds)
            for cid, code, window in ((1, "GOLD-1", 7), (2, "ACME-1", 2))
            for m, thresholds in ((10, (20,)), (11, (10, 30, 60)))
        ]
        fast = measure(session, requests)
        as_of = measure(session, requests, as_of_batch=newest)
    assert fast == as_of
    assert sum(totals(o, threshold=o.thresholds[0]).offered for o in fast.values()) == 10 + 120
    assert totals(fast[(2, Period(2026, 10))]).resolutions > 0


def test_several_thresholds_and_contracts_in_one_query(db, tmp_path):
    golden(db)
    outcomes = outcomes_of(db, "GOLD-1", "2026-10", thresholds=(5, 20, 60))
    answered_within = [totals(outcomes, threshold=t).answered_within for t in (5, 20, 60)]
    assert answered_within == [1, 5, 7]
    with reading(db) as session:
        empty = measure(session, [MeasureRequest(1, "GOLD-1", Period(2025, 1), "UTC", 7, True, (20,))])
    assert empty[(1, Period(2025, 1))].cells == () and empty[(1, Period(2025, 1))].data_as_of is None


def test_productive_hours_come_from_the_workforce_days_of_the_period(db, tmp_path):
    golden(db)
    path = tmp_path / "hours.csv"
    path.write_text(
        "contract,date,agent_id,productive_hours\n"
        "GOLD-1,2026-09-30,a1,8\nGOLD-1,2026-10-01,a1,7.25\nGOLD-1,2026-10-31,a2,6.5\nGOLD-1,2026-11-01,a1,8\n"
    )
    ingest.import_workforce(db, path)
    assert outcomes_of(db, "GOLD-1", "2026-10").productive_hours == Decimal("13.75")
