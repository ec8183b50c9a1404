"""Honest ranges: which months of a range can be priced as real months. Pure.

A month that has not ended in the contract's time zone (``now`` is passed in: nothing here
reads a clock), or that holds no data at all (no contact, no productive hour), would be
priced as if it were a real month and distort every total. Such months are left out and
listed; asked to, the simulation prices them anyway and flags them."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

from billing.core.periods import Period
from billing.measurement.kpis import PeriodOutcomes
from billing.simulation.results import LeftOut

NOT_ENDED = "not_ended"
NO_DATA = "no_data"


def has_data(outcomes: PeriodOutcomes) -> bool:
    return any(cell.offered for cell in outcomes.cells) or outcomes.productive_hours > 0


def left_out(
    periods: Sequence[Period],
    outcomes: Mapping[Period, PeriodOutcomes],
    timezone_of: Callable[[Period], str],
    now: datetime,
    include: bool = False,
) -> list[LeftOut]:
    """The months of ``periods`` that have not ended at ``now`` (an aware instant) or hold no
    data, in order; ``included`` says they are priced (and flagged) all the same."""
    out = []
    for period in periods:
        if period.bounds(timezone_of(period))[1] > now:
            out.append(LeftOut(period, NOT_ENDED, include))
        elif not has_data(outcomes[period]):
            out.append(LeftOut(period, NO_DATA, include))
    return out


def priced(periods: Sequence[Period], months_left_out: Sequence[LeftOut]) -> list[Period]:
    skipped = {m.period for m in months_left_out if not m.included}
    return [p for p in periods if p not in skipped]
