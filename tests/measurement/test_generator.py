"""The seeded traffic generator: same seed same rows, realistic shapes, values the importer
accepts, and the files it writes read back as they were generated."""

from __future__ import annotations

import csv
import itertools
import json
import statistics
import tracemalloc
from collections import Counter, defaultdict
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from billing.contracts.language import load_terms_text
from billing.core.periods import Period
from billing.measurement.contracts import load_contracts
from billing.measurement.ingest import import_interactions, import_workforce
from fixtures.generator import (
    COLUMNS,
    HOURS_PER_FTE,
    allocate,
    bulk_specs,
    demo_specs,
    generate_interactions,
    generate_many,
    generate_workforce,
    write_bulk_contracts,
    write_csv,
    write_jsonl,
)
from fixtures.profiles import ChannelMix, GenerationSpec, Quality
from tests.conftest import CONTRACTS

MADRID = GenerationSpec(
    contract="SHOP-1",
    timezone="Europe/Madrid",
    offered={"2026-10": 6000, "2026-11": 4000},  # the clocks go back on 2026-10-25
    channels=(ChannelMix("voice", 0.5, ai_share=0.1), ChannelMix("chat", 0.3, 0.5), ChannelMix("email", 0.2, 0.2)),
    quality={"2026-11": Quality(staffing=0.8)},
    headcount=((date(2026, 1, 1), 10), (date(2026, 11, 16), 14)),
)


@pytest.fixture(scope="module")
def rows() -> list[dict]:
    return list(generate_interactions(MADRID, seed=7))


def voice_service_level(rows: list[dict], threshold: int = 20) -> float:
    """docs/kpis.md, formula exclude_short_abandons, on voice contacts."""
    voice = [r for r in rows if r["channel"] == "voice"]
    answered = [r for r in voice if not r["abandoned"]]
    abandoned = [r for r in voice if r["abandoned"]]
    within = sum(r["wait_seconds"] <= threshold for r in answered)
    short = sum(r["wait_seconds"] <= threshold for r in abandoned)
    return 100 * within / (len(answered) + len(abandoned) - short)


def in_period(row: dict) -> str:
    """started_at is written in the contract's time zone, so its month is the period."""
    return row["started_at"][:7]


def test_the_same_seed_gives_the_same_rows_and_another_seed_other_rows(rows: list[dict]) -> None:
    assert list(generate_interactions(MADRID, seed=7)) == rows
    assert list(itertools.islice(generate_interactions(MADRID, seed=8), 50)) != rows[:50]


def test_a_contract_s_rows_do_not_depend_on_the_other_contracts_generated(rows: list[dict]) -> None:
    other = GenerationSpec("OTHER-1", "Asia/Tokyo", {"2026-10": 500}, (ChannelMix("chat", 1.0, 0.5),))
    together = list(generate_many([other, MADRID], seed=7))
    assert [r for r in together if r["contract"] == "SHOP-1"] == rows
    assert len(together) == len(rows) + 500


def test_each_month_offers_exactly_its_volume_inside_the_contract_s_local_month(rows: list[dict]) -> None:
    assert Counter(in_period(r) for r in rows) == {"2026-10": 6000, "2026-11": 4000}
    assert all(
        in_period(r) == str(Period.containing(datetime.fromisoformat(r["started_at"]), "Europe/Madrid")) for r in rows
    )
    offsets = {r["started_at"][-6:] for r in rows}
    assert offsets == {"+02:00", "+01:00"}  # summer time until 25 October, then winter time


def test_rows_come_in_time_order_with_ids_unique_within_the_contract(rows: list[dict]) -> None:
    instants = [datetime.fromisoformat(r["started_at"]) for r in rows]
    assert instants == sorted(instants)
    assert len({r["interaction_id"] for r in rows}) == len(rows)
    assert all(tuple(r) == COLUMNS for r in rows)


def test_values_stay_in_the_ranges_the_spec_allows(rows: list[dict]) -> None:
    assert {r["channel"] for r in rows} == {"voice", "chat", "email"}
    assert {r["handled_by"] for r in rows} == {"ai", "human"}
    assert all(r["wait_seconds"] >= 0 for r in rows)
    assert all((r["handle_seconds"] is None) == r["abandoned"] for r in rows)
    assert all(r["handle_seconds"] is None or r["handle_seconds"] > 0 for r in rows)
    answered = [r for r in rows if not r["abandoned"]]
    assert {r["csat"] for r in answered if r["csat"] is not None} == {1, 2, 3, 4, 5}
    assert {r["nps"] for r in answered if r["nps"] is not None} <= set(range(11))
    assert all(0 <= r["qa_score"] <= 100 for r in rows if r["qa_score"] is not None)
    abandoned = [r for r in rows if r["abandoned"]]
    assert all(r["csat"] is r["nps"] is r["qa_score"] is None and not r["resolved"] for r in abandoned)


def test_ai_answers_at_once_resolves_a_share_and_escalates_some(rows: list[dict]) -> None:
    ai = [r for r in rows if r["handled_by"] == "ai"]
    assert not any(r["abandoned"] for r in ai)
    assert statistics.median(r["wait_seconds"] for r in ai if r["channel"] == "voice") <= 3
    resolved = sum(r["resolved"] for r in ai) / len(ai)
    escalated = sum(r["escalated"] for r in ai) / len(ai)
    assert 0.5 < resolved < 0.8 and 0.1 < escalated < 0.35
    assert not any(r["qa_score"] is not None for r in ai)  # QA samples human work only


def test_callers_abandon_mostly_after_long_waits_and_a_few_within_seconds(rows: list[dict]) -> None:
    voice = [r for r in rows if r["channel"] == "voice" and r["handled_by"] == "human"]
    gave_up = [r["wait_seconds"] for r in voice if r["abandoned"]]
    answered = [r["wait_seconds"] for r in voice if not r["abandoned"]]
    assert statistics.median(gave_up) > 2 * statistics.median(answered)
    assert 0 < sum(w <= 10 for w in gave_up) < len(gave_up) / 2
    assert not any(r["abandoned"] for r in rows if r["channel"] == "email")


def test_email_waits_hours_while_voice_waits_seconds(rows: list[dict]) -> None:
    def median_wait(channel: str) -> float:
        return statistics.median(
            r["wait_seconds"] for r in rows if r["channel"] == channel and r["handled_by"] == "human"
        )

    assert median_wait("voice") < 30 < 3600 < median_wait("email")


def test_customers_come_back_within_days_and_across_the_month_end(rows: list[dict]) -> None:
    contacts: dict[str, list[datetime]] = defaultdict(list)
    for r in rows:
        if r["customer_id"] is not None:
            contacts[r["customer_id"]].append(datetime.fromisoformat(r["started_at"]))
    gaps = [(b - a).total_seconds() for times in contacts.values() for a, b in itertools.pairwise(times)]
    within_week = sum(gap <= 7 * 86400 for gap in gaps)
    assert within_week > 0.05 * len(rows)
    crossing = [
        times
        for times in contacts.values()
        if any(a.month == 10 and b.month == 11 and (b - a).days < 7 for a, b in itertools.pairwise(times))
    ]
    assert crossing


def test_volume_follows_office_hours_and_weekdays(rows: list[dict]) -> None:
    local = [datetime.fromisoformat(r["started_at"]) for r in rows]
    by_hour = Counter(moment.hour for moment in local)
    assert by_hour[11] > 5 * by_hour[3]
    by_weekday = Counter(moment.weekday() for moment in local)
    assert by_weekday[0] > 1.5 * by_weekday[6]


def test_an_understaffed_month_misses_the_answer_speed_a_planned_month_meets(rows: list[dict]) -> None:
    october = [r for r in rows if in_period(r) == "2026-10"]
    november = [r for r in rows if in_period(r) == "2026-11"]
    assert voice_service_level(october) > 85 > 75 > voice_service_level(november)


def test_demo_months_meet_some_service_levels_and_miss_others() -> None:
    bandino = demo_specs()[0]
    assert bandino.contract == "BANDINO-2026"
    months: dict[str, list[dict]] = defaultdict(list)
    for r in generate_interactions(bandino, seed=0):
        months[in_period(r)].append(r)
    assert {m: len(v) for m, v in months.items()} == bandino.offered
    assert voice_service_level(months["2026-08"]) >= 80 > voice_service_level(months["2026-09"])


def test_demo_specs_fit_the_example_contracts() -> None:
    for spec in demo_specs():
        files = [p for p in CONTRACTS.glob("*.yaml") if f"contract: {spec.contract}\n" in p.read_text()]
        assert files, spec.contract
        terms, problems = load_terms_text(files[0].read_text(), str(files[0]))
        assert not problems and terms is not None
        assert terms.timezone == spec.timezone


def test_generation_streams_without_holding_the_month() -> None:
    huge = GenerationSpec("BIG", "America/Lima", {"2026-10": 50_000_000}, (ChannelMix("voice", 1.0),))
    tracemalloc.start()
    first = list(itertools.islice(generate_interactions(huge), 1000))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert len(first) == 1000
    assert peak < 64 * 1024 * 1024  # one hour's arrivals, not fifty million rows


def test_csv_and_json_lines_read_back_as_generated(tmp_path: Path, rows: list[dict]) -> None:
    sample = rows[:300]
    assert write_csv(iter(sample), tmp_path / "out.csv") == 300
    assert write_jsonl(iter(sample), tmp_path / "out.jsonl") == 300

    def as_text(value: object) -> str:
        return "" if value is None else str(value).lower() if isinstance(value, bool) else str(value)

    with open(tmp_path / "out.csv", newline="") as handle:
        read = list(csv.DictReader(handle))
    assert read == [{k: as_text(v) for k, v in r.items()} for r in sample]
    lines = (tmp_path / "out.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in lines] == [{k: v for k, v in r.items() if v is not None} for r in sample]


def test_workforce_hours_match_the_headcount_and_fall_short_when_understaffed() -> None:
    entries = list(generate_workforce(MADRID, seed=1))
    hours: Counter[str] = Counter()
    for entry in entries:
        assert Decimal(entry["productive_hours"]) % Decimal("0.25") == 0
        hours[entry["date"][:7]] += float(entry["productive_hours"])
    october_fte = 10
    november_fte = (15 * 10 + 15 * 14) / 30
    assert hours["2026-10"] == pytest.approx(october_fte * HOURS_PER_FTE, rel=0.03)
    assert hours["2026-11"] == pytest.approx(november_fte * HOURS_PER_FTE * 0.8, rel=0.03)
    assert len({(e["date"], e["agent_id"]) for e in entries}) == len(entries)
    assert list(generate_workforce(MADRID, seed=1)) == entries


def test_allocation_is_exact_and_proportional() -> None:
    assert allocate(10, [1, 1, 2]) == [3, 2, 5] or allocate(10, [1, 1, 2]) == [2, 3, 5]
    assert sum(allocate(1_000_003, [0.3, 1.7, 2.2, 0.01])) == 1_000_003
    assert allocate(5, [0, 0]) == [0, 0]


def test_bulk_specs_split_the_rows_exactly_and_their_contracts_load(tmp_path: Path) -> None:
    specs = bulk_specs(contracts=12, rows=100_003, month="2026-10")
    assert sum(spec.offered["2026-10"] for spec in specs) == 100_003
    assert len({spec.contract for spec in specs}) == 12
    for path, spec in zip(write_bulk_contracts(specs, tmp_path), specs, strict=True):
        terms, problems = load_terms_text(path.read_text(), str(path))
        assert problems == [], problems
        assert terms is not None and terms.code == spec.contract and terms.timezone == spec.timezone


def test_every_generated_row_passes_the_importer(db: Engine, tmp_path: Path) -> None:
    """Six bulk contracts cover every market and contract shape; CSV and JSON Lines both import
    without a single rejection, and the workforce feed too."""
    specs = bulk_specs(contracts=6, rows=4_000, month="2026-10", seed=5)
    load_contracts(db, write_bulk_contracts(specs, tmp_path / "contracts"))
    write_csv(generate_many(specs[:3], seed=5), tmp_path / "first.csv")
    write_jsonl(generate_many(specs[3:], seed=5), tmp_path / "second.jsonl")
    write_csv((row for spec in specs for row in generate_workforce(spec, seed=5)), tmp_path / "hours.csv")

    first = import_interactions(db, tmp_path / "first.csv", progress=False)
    second = import_interactions(db, tmp_path / "second.jsonl", progress=False)
    hours = import_workforce(db, tmp_path / "hours.csv", progress=False)

    offered = [sum(spec.offered.values()) for spec in specs]
    assert (first.imported, first.rejected) == (sum(offered[:3]), 0), first.errors
    assert (second.imported, second.rejected) == (sum(offered[3:]), 0), second.errors
    assert hours.imported > 0 and hours.rejected == 0, hours.errors
    with db.connect() as conn:
        stored = dict(
            conn.execute(
                text(
                    "SELECT c.code, COUNT(*) FROM interaction i JOIN contract c ON c.id = i.contract_id GROUP BY c.code"
                )
            ).all()
        )
    assert stored == {spec.contract: n for spec, n in zip(specs, offered, strict=True)}
