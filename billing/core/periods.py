"""Billing periods: half-open calendar months in a contract's time zone.

``2026-10`` in America/Lima is [2026-10-01 00:00 local, 2026-11-01 00:00 local). Bounds are
computed by pendulum from local midnights, so a daylight-saving change inside the month
neither drops nor doubles an hour: consecutive periods share their boundary instant.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import pendulum

from billing.core.limits import FIRST_DAY, LAST_DAY

_PERIOD_RE = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True, order=True, slots=True)
class Period:
    """A calendar month, independent of time zone until ``bounds`` is asked."""

    year: int
    month: int

    def __post_init__(self) -> None:
        if not 1 <= self.month <= 12 or not 1 <= self.year <= 9999:
            raise ValueError(f"not a month: {self.year}-{self.month}")

    @classmethod
    def parse(cls, text: str) -> Period:
        """A month a person wrote: ``YYYY-MM`` within the engine's years (``billing.core.limits``
        FIRST_DAY .. LAST_DAY), so a range around it is still a range of real months."""
        match = _PERIOD_RE.match(str(text).strip())
        if not match:
            raise ValueError(f"a period is written YYYY-MM, got {text[:20]!r}")
        year, month = int(match.group(1)), int(match.group(2))
        if not FIRST_DAY.year <= year <= LAST_DAY.year or not 1 <= month <= 12:
            raise ValueError(f"a period is a month from {FIRST_DAY:%Y-%m} to {LAST_DAY:%Y-%m}, got {text!r}")
        return cls(year, month)

    @classmethod
    def of_date(cls, day: date) -> Period:
        return cls(day.year, day.month)

    @classmethod
    def containing(cls, instant: datetime, timezone: str) -> Period:
        """The period that contains an aware instant, seen from ``timezone``."""
        if instant.tzinfo is None:
            raise ValueError("a naive datetime has no instant: give an offset")
        local = pendulum.instance(instant).in_timezone(timezone)
        return cls(local.year, local.month)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def last_day(self) -> date:
        return date(self.year, self.month, self.days)

    @property
    def days(self) -> int:
        return calendar.monthrange(self.year, self.month)[1]

    def shift(self, months: int) -> Period:
        index = self.year * 12 + (self.month - 1) + months
        return Period(index // 12, index % 12 + 1)

    def next(self) -> Period:
        return self.shift(1)

    def previous(self) -> Period:
        return self.shift(-1)

    def bounds(self, timezone: str) -> tuple[datetime, datetime]:
        """[start, end) as aware UTC datetimes: local midnights of the 1st of this and next month."""
        following = self.next()
        start = day_start(timezone, self.first_day)
        end = day_start(timezone, following.first_day)
        return datetime.fromtimestamp(start, UTC), datetime.fromtimestamp(end, UTC)

    def day_numbers(self) -> tuple[int, int]:
        """The first and last ``day_number`` of the month (both inclusive)."""
        return day_number(self.first_day), day_number(self.last_day)

    def contains(self, instant: datetime, timezone: str) -> bool:
        start, end = self.bounds(timezone)
        return start <= instant < end

    def covered_days(self, start: date | None, end: date | None) -> int:
        """Days of this month inside [start, end] (both inclusive, either open)."""
        first = max(self.first_day, start) if start else self.first_day
        last = min(self.last_day, end) if end else self.last_day
        return max(0, (last - first).days + 1)

    def dates(self) -> list[date]:
        return [self.first_day + timedelta(days=i) for i in range(self.days)]


def periods_between(first: Period, last: Period) -> list[Period]:
    """Every period from ``first`` to ``last``, both inclusive."""
    out: list[Period] = []
    current = first
    while current <= last:
        out.append(current)
        current = current.next()
    return out


_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


def day_number(day: date) -> int:
    """Days since 1970-01-01: how a local calendar day is stored (``Interaction.local_day``)."""
    return day.toordinal() - _EPOCH_ORDINAL


def day_of_number(number: int) -> date:
    return date.fromordinal(number + _EPOCH_ORDINAL)


@lru_cache(maxsize=65536)
def day_start(timezone: str, day: date) -> int:
    """The first instant of ``day`` in ``timezone``, in epoch seconds: its local midnight as
    pendulum resolves it (where a daylight-saving jump skips midnight, the first instant after
    the gap). Period bounds are these instants, so a period is exactly its local days."""
    moment = pendulum.datetime(day.year, day.month, day.day, tz=pendulum.timezone(timezone))
    return int(moment.timestamp())


class LocalCalendar:
    """Which local day (``day_number``) an instant falls on in one time zone, by the same rule as
    ``Period.bounds``: day ``d`` holds the instants in [day_start(d), day_start(d + 1)).

    The importer asks this for every row, so answers are kept per UTC hour: an hour without a
    day boundary has one answer, an hour with one keeps the boundary and the days on either
    side. Nothing is assumed about offsets (half-hour zones, skipped days): each hour is
    resolved exactly once, from the zone's rules. The cache is bounded."""

    _HOUR = 3600
    _LIMIT = 200_000

    def __init__(self, timezone: str) -> None:
        self.timezone = timezone
        self._zone = ZoneInfo(timezone)
        self._hours: dict[int, int | tuple[int, int, int]] = {}

    def day_of(self, instant: int) -> int:
        hour = instant // self._HOUR
        known = self._hours.get(hour)
        if known is None:
            if len(self._hours) >= self._LIMIT:
                self._hours.clear()
            known = self._hours[hour] = self._resolve(hour)
        if type(known) is int:
            return known
        boundary, before, after = known  # type: ignore[misc]
        if after - before != 1:  # more than one boundary in the hour (a skipped day): exactly
            return self._exact(instant)
        return after if instant >= boundary else before

    def _resolve(self, hour: int) -> int | tuple[int, int, int]:
        first = hour * self._HOUR
        at_start, at_end = self._exact(first), self._exact(first + self._HOUR - 1)
        if at_start == at_end:
            return at_start
        return (day_start(self.timezone, day_of_number(at_end)), at_start, at_end)

    def _exact(self, instant: int) -> int:
        number = day_number(datetime.fromtimestamp(instant, self._zone).date())
        while instant >= day_start(self.timezone, day_of_number(number + 1)):
            number += 1
        while instant < day_start(self.timezone, day_of_number(number)):
            number -= 1
        return number


@lru_cache(maxsize=1024)
def is_valid_timezone(name: str) -> bool:
    try:
        pendulum.timezone(name)
    except Exception:  # pendulum raises InvalidTimezone or a zoneinfo error
        return False
    return True
