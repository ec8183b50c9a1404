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

import pendulum

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
        match = _PERIOD_RE.match(str(text).strip())
        if not match:
            raise ValueError(f"a period is written YYYY-MM, got {text!r}")
        return cls(int(match.group(1)), int(match.group(2)))

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
        tz = pendulum.timezone(timezone)
        start = pendulum.datetime(self.year, self.month, 1, tz=tz)
        following = self.next()
        end = pendulum.datetime(following.year, following.month, 1, tz=tz)
        return _utc(start), _utc(end)

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


def _utc(moment: pendulum.DateTime) -> datetime:
    utc = moment.in_timezone("UTC")
    return datetime(utc.year, utc.month, utc.day, utc.hour, utc.minute, utc.second, utc.microsecond, tzinfo=UTC)


@lru_cache(maxsize=1024)
def is_valid_timezone(name: str) -> bool:
    try:
        pendulum.timezone(name)
    except Exception:  # pendulum raises InvalidTimezone or a zoneinfo error
        return False
    return True
