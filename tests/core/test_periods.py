"""Billing periods: half-open local months, no gap and no overlap across daylight saving."""

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing.core.periods import LocalCalendar, Period, day_number, day_of_number, day_start, periods_between

ZONES = ["America/New_York", "Europe/Madrid", "America/Lima", "Asia/Tokyo"]
instants = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2060, 12, 31), timezones=st.just(UTC))


@given(instants, st.sampled_from(ZONES))
def test_every_instant_belongs_to_exactly_one_period(instant, zone):
    period = Period.containing(instant, zone)
    assert period.contains(instant, zone)
    assert not period.previous().contains(instant, zone)
    assert not period.next().contains(instant, zone)


@given(st.integers(2000, 2060), st.integers(1, 12), st.sampled_from(ZONES))
def test_consecutive_periods_touch(year, month, zone):
    period = Period(year, month)
    assert period.bounds(zone)[1] == period.next().bounds(zone)[0]
    start, end = period.bounds(zone)
    hours = (end - start) / timedelta(hours=1)
    # A month is its days times 24 hours, give or take the one hour a DST change moves.
    assert abs(hours - period.days * 24) <= 1


@pytest.mark.parametrize(
    ("zone", "period", "hours"),
    [
        ("America/New_York", "2026-03", 31 * 24 - 1),  # spring forward: 743 hours
        ("America/New_York", "2026-11", 30 * 24 + 1),  # fall back at 02:00 on Nov 1: 721 hours
        ("Europe/Madrid", "2026-10", 31 * 24 + 1),
        ("America/Lima", "2026-10", 31 * 24),
        ("Asia/Tokyo", "2026-03", 31 * 24),
    ],
)
def test_daylight_saving_months_have_the_real_number_of_hours(zone, period, hours):
    start, end = Period.parse(period).bounds(zone)
    assert (end - start) == timedelta(hours=hours)


def test_the_golden_boundary_cases():
    # 2026-11-01T03:30Z is Oct 31 23:30 EDT; 04:30Z is Nov 1 00:30 EDT.
    assert str(Period.containing(datetime(2026, 11, 1, 3, 30, tzinfo=UTC), "America/New_York")) == "2026-10"
    assert str(Period.containing(datetime(2026, 11, 1, 4, 30, tzinfo=UTC), "America/New_York")) == "2026-11"


def test_naive_instants_are_refused():
    with pytest.raises(ValueError, match="naive"):
        Period.containing(datetime(2026, 10, 1), "America/Lima")


def test_parsing_and_arithmetic():
    assert Period.parse("2026-12").next() == Period(2027, 1)
    assert Period.parse("2026-01").shift(-1) == Period(2025, 12)
    assert [str(p) for p in periods_between(Period(2026, 11), Period(2027, 2))] == [
        "2026-11",
        "2026-12",
        "2027-01",
        "2027-02",
    ]
    for bad in ("2026-13", "2026-1", "26-10", "october"):
        with pytest.raises(ValueError):
            Period.parse(bad)


def test_covered_days_for_partial_months():
    july = Period(2026, 7)
    assert july.covered_days(date(2026, 7, 15), None) == 17
    assert july.covered_days(date(2026, 1, 1), date(2026, 7, 10)) == 10
    assert july.covered_days(date(2026, 8, 1), None) == 0
    assert Period(2028, 2).days == 29


#: Zones whose rules stress a local calendar: midnight skipped or repeated by daylight saving
#: (Santiago, Havana), half- and quarter-hour offsets (Kolkata, Kathmandu, St John's), a
#: half-hour daylight-saving shift (Lord Howe) and a skipped calendar day (Apia, 2011-12-30).
CALENDAR_ZONES = [
    *ZONES,
    "America/Santiago",
    "America/Havana",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "America/St_Johns",
    "Australia/Lord_Howe",
    "Pacific/Apia",
]


@given(instants, st.sampled_from(CALENDAR_ZONES))
def test_an_instant_falls_on_the_local_day_whose_bounds_hold_it(instant, zone):
    """The importer files each contact under a local day; measuring by days must select the
    same contacts as measuring by the period's bounds."""
    seconds = int(instant.timestamp())
    number = LocalCalendar(zone).day_of(seconds)
    assert day_start(zone, day_of_number(number)) <= seconds < day_start(zone, day_of_number(number + 1))
    period = Period.of_date(day_of_number(number))
    first, last = period.day_numbers()
    assert first <= number <= last
    assert period.contains(datetime.fromtimestamp(seconds, UTC), zone)


@pytest.mark.parametrize("zone", CALENDAR_ZONES)
def test_one_calendar_answers_every_second_around_a_year_of_boundaries_alike(zone):
    """The per-hour cache gives the same day as a fresh calendar, on both sides of every
    local midnight of 2026 (and of 2011 in Apia, which skipped December 30th)."""
    calendar = LocalCalendar(zone)
    year = 2011 if zone == "Pacific/Apia" else 2026
    day = date(year, 1, 1)
    while day.year == year:
        start = day_start(zone, day)
        for seconds in (start - 1, start, start + 1, start + 1799, start + 3600):
            assert calendar.day_of(seconds) == LocalCalendar(zone).day_of(seconds)
        assert calendar.day_of(start) >= day_number(day)
        assert calendar.day_of(start - 1) < day_number(day)
        day += timedelta(days=1)


def test_a_skipped_day_holds_no_instant():
    apia = LocalCalendar("Pacific/Apia")
    start = day_start("Pacific/Apia", date(2011, 12, 30))
    assert start == day_start("Pacific/Apia", date(2011, 12, 31))
    assert day_of_number(apia.day_of(start - 1)) == date(2011, 12, 29)
    assert day_of_number(apia.day_of(start)) == date(2011, 12, 31)
