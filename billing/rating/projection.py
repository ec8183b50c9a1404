"""The month as it happens (``billing current``): the period's outcomes so far projected to the
whole month, and the invoice that projection would give. Pure: outcomes in, values out.

**Linear** (the default): every additive count (offered, answered, abandoned, resolutions,
handle and wait sums, surveys, QA, productive hours, ...) to date x days in period / days
elapsed, rounded to a whole count (hours and QA sums kept to their places), where days elapsed
counts the period's local days from its first through the as-of day. **Weekday**: each weekday's
average so far (over the elapsed days that fell on it; the average of all elapsed days for a
weekday not seen yet) added for every remaining day.

The projected invoice rates the projected outcomes under the terms in force, but judges every
service level on its value **to date** (a ratio is no better known by projecting its parts):
met or missed as it stands, with the credit it would carry on the projected charges.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from billing.contracts.terms import ContractTerms, KpiMetric
from billing.core.money import EXACT
from billing.core.periods import Period
from billing.measurement.kpis import OutcomeCell, PeriodOutcomes
from billing.rating.credits import assess, measure_level
from billing.rating.engine import assemble, charge_lines
from billing.rating.lines import RatedInvoice

LINEAR = "linear"
WEEKDAY = "weekday"
_COUNTS = (
    "offered",
    "abandoned",
    "answered_wait_sum",
    "handle_sum",
    "resolutions",
    "csat_n",
    "csat_good",
    "nps_n",
    "nps_promoters",
    "nps_detractors",
    "qa_n",
)
#: How close to its target a level that is met counts as at risk: points of a percentage, or a
#: share of the target for seconds and scores.
AT_RISK_POINTS = Decimal(2)
AT_RISK_SHARE = Decimal("0.05")


def linear(to_date: PeriodOutcomes, elapsed: int) -> PeriodOutcomes:
    """The month projected from the days so far, each count x days in period / days elapsed."""
    factor = EXACT.divide(Decimal(to_date.period.days), Decimal(elapsed))
    return _scaled(to_date, lambda cell: _times(cell, factor), to_date.productive_hours * factor)


def by_weekday(to_date: PeriodOutcomes, days: Sequence[PeriodOutcomes], as_of: date) -> PeriodOutcomes:
    """The month projected from each weekday's average so far (``days``: one outcome per elapsed
    day, in order). Remaining days add their weekday's average."""
    first = to_date.period.first_day
    remaining = [as_of + timedelta(days=n) for n in range(1, (to_date.period.last_day - as_of).days + 1)]
    by_day: dict[int, list[PeriodOutcomes]] = {}
    for offset, measured in enumerate(days):
        by_day.setdefault((first + timedelta(days=offset)).weekday(), []).append(measured)
    weights: dict[int, Decimal] = {}  # weekday -> how many of its average days are added
    for later in remaining:
        weights[later.weekday()] = weights.get(later.weekday(), Decimal(0)) + 1
    added: list[tuple[PeriodOutcomes, Decimal]] = []
    for weekday, count in weights.items():
        seen = by_day.get(weekday) or list(days)
        for outcome in seen:
            added.append((outcome, EXACT.divide(count, Decimal(len(seen)))))
    cells: dict[tuple[str, str], dict[str, Decimal]] = {}
    hours = to_date.productive_hours
    for outcome, weight in [(to_date, Decimal(1)), *added]:
        hours += outcome.productive_hours * weight
        for cell in outcome.cells:
            into = cells.setdefault((cell.channel, cell.handled_by), {})
            for name, value in _values(cell).items():
                into[name] = into.get(name, Decimal(0)) + value * weight
    projected = tuple(_cell(channel, by, values) for (channel, by), values in sorted(cells.items()))
    return dataclasses.replace(to_date, cells=projected, productive_hours=_hours(hours))


def projected_invoice(
    terms: ContractTerms, period: Period, projected: PeriodOutcomes, to_date: PeriodOutcomes
) -> RatedInvoice:
    """The projected month rated: charges on the projected outcomes, service levels judged on
    the values to date (credits on the projected charges). Earnback is not projected."""
    charges = charge_lines(terms, projected, period)
    assessment = assess(terms, to_date, sum((line.amount for line in charges), Decimal(0)))
    lines = [*charges, *(assessment.lines if assessment else ())]
    return assemble(terms, period, projected, lines, assessment)


def level_statuses(terms: ContractTerms, to_date: PeriodOutcomes, invoice: RatedInvoice) -> list[dict[str, Any]]:
    """Each level to date: value, target, sample and ``met``, ``at_risk`` (met, within
    ``AT_RISK_POINTS`` points or ``AT_RISK_SHARE`` of the target), ``missed`` or ``not_assessed``,
    with the credit it would carry if the month ended now."""
    if terms.service_levels is None:
        return []
    credits = {result.id: result.credit for result in invoice.service_levels}
    out = []
    for level in terms.service_levels.levels:
        measured = measure_level(level, to_date)
        if measured.met is None:
            status = "not_assessed"
        elif not measured.met:
            status = "missed"
        else:
            assert measured.value is not None
            margin = abs(measured.value - level.target)
            percent = level.metric not in (KpiMetric.ASA_SECONDS, KpiMetric.AHT_SECONDS, KpiMetric.QA_SCORE)
            close = AT_RISK_POINTS if percent else level.target * AT_RISK_SHARE
            status = "at_risk" if margin <= close else "met"
        out.append(
            {
                **measured.details(),
                "status": status,
                "credit": str(credits.get(level.id, terms.currency.zero())),
            }
        )
    return out


def _values(cell: OutcomeCell) -> dict[str, Decimal]:
    values = {name: Decimal(getattr(cell, name)) for name in _COUNTS}
    values["qa_sum"] = cell.qa_sum
    for k, count in enumerate(cell.answered_within):
        values[f"aw{k}"] = Decimal(count)
    for k, count in enumerate(cell.abandoned_within):
        values[f"bw{k}"] = Decimal(count)
    return values


def _cell(channel: str, handled_by: str, values: dict[str, Decimal]) -> OutcomeCell:
    def whole(name: str) -> int:
        return int(values.get(name, Decimal(0)).quantize(Decimal(1), rounding=ROUND_HALF_UP))

    slots = sorted(int(name[2:]) for name in values if name.startswith("aw"))
    return OutcomeCell(
        channel=channel,
        handled_by=handled_by,
        **{name: whole(name) for name in _COUNTS},
        answered_within=tuple(whole(f"aw{k}") for k in slots),
        abandoned_within=tuple(whole(f"bw{k}") for k in slots),
        qa_sum=values.get("qa_sum", Decimal(0)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP),
    )


def _times(cell: OutcomeCell, factor: Decimal) -> OutcomeCell:
    return _cell(cell.channel, cell.handled_by, {name: value * factor for name, value in _values(cell).items()})


def _hours(hours: Decimal) -> Decimal:
    return hours.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


def _scaled(outcomes: PeriodOutcomes, each: Any, hours: Decimal) -> PeriodOutcomes:
    return dataclasses.replace(
        outcomes, cells=tuple(each(cell) for cell in outcomes.cells), productive_hours=_hours(hours)
    )
