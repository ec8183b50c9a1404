"""The edge of ``billing current``: measure the period so far (through the as-of day, from the
daily rollup), and each elapsed day for the weekday method, then project purely
(``billing.rating.projection``)."""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Any

from sqlmodel import Session

from billing.contracts.store import terms_in_force
from billing.core.periods import Period
from billing.measurement.kpis import kpi_report
from billing.measurement.queries import measure
from billing.rating.engine import PeriodOutsideContract
from billing.rating.projection import LINEAR, WEEKDAY, by_weekday, level_statuses, linear, projected_invoice
from billing.rating.service import _request, thresholds_of

METHODS = (LINEAR, WEEKDAY)


def current(session: Session, code: str, as_of: date, method: str = LINEAR) -> dict[str, Any]:
    """The period of ``as_of`` so far and projected (the JSON of ``billing current``)."""
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}: linear or weekday")
    period = Period(as_of.year, as_of.month)
    item = terms_in_force(session, code, period)
    terms = item.terms
    if not terms.is_active(period):
        raise PeriodOutsideContract(f"contract {code} does not cover {period}")
    elapsed = as_of.day
    base = _request(item.contract_id, terms, period, thresholds_of(terms))
    # The month through the as-of day; for the weekday method through each elapsed day (a day's
    # outcomes are the difference of two), each read from the daily rollup.
    throughs = [as_of] if method == LINEAR else [period.first_day.replace(day=d) for d in range(1, elapsed + 1)]
    key = (item.contract_id, period)
    cumulative = [measure(session, [dataclasses.replace(base, through=day)])[key] for day in throughs]
    to_date = cumulative[-1]
    if method == LINEAR:
        projected = linear(to_date, elapsed)
    else:
        days = [_difference(day, before) for before, day in zip([None, *cumulative[:-1]], cumulative, strict=True)]
        projected = by_weekday(to_date, days, as_of)
    invoice = projected_invoice(terms, period, projected, to_date)
    return {
        "contract": code,
        "period": str(period),
        "as_of": as_of.isoformat(),
        "method": method,
        "days_elapsed": elapsed,
        "days_in_period": period.days,
        "to_date": kpi_report(to_date),
        "service_levels": level_statuses(terms, to_date, invoice),
        "projected": kpi_report(projected),
        "projected_invoice": invoice.as_json(),
    }


def _difference(day: Any, before: Any) -> Any:
    """One day's outcomes: the month through it minus the month through the day before."""
    if before is None:
        return day
    from billing.rating.projection import _cell, _values

    earlier = {(c.channel, c.handled_by): _values(c) for c in before.cells}
    cells = []
    for cell in day.cells:
        values = _values(cell)
        minus = earlier.get((cell.channel, cell.handled_by), {})
        cells.append(_cell(cell.channel, cell.handled_by, {k: v - minus.get(k, 0) for k, v in values.items()}))
    return dataclasses.replace(day, cells=tuple(cells), productive_hours=day.productive_hours - before.productive_hours)


def today_for(session: Session, code: str) -> date:
    """Today in the contract's time zone (the default as-of day)."""
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    now = datetime.now(UTC)
    terms = terms_in_force(session, code, Period(now.year, now.month)).terms
    return now.astimezone(ZoneInfo(terms.timezone)).date()
