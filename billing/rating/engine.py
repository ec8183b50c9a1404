"""Rating: one contract-period's terms and measured outcomes -> an explainable ``RatedInvoice``.

Pure: no session, clock or babel. The service layer (``billing.rating.service``) measures
and hands over a *history*: for the period being rated and each earlier period the earnback
rule looks back on, the terms in force and the measured outcomes. Re-pricing the same
measured outcomes under other terms (simulation) is one call to ``rate_under``.

Every line is computed exactly and rounded once, to the currency's minor unit in the
contract's rounding mode; subtotal = sum of rounded lines, tax = round(subtotal x rate),
total = subtotal + tax. Order of lines: the charges as the contract lists them (a usage
charge's minimum true-up right after it), then service credits in level order, then earnback.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from billing.contracts.terms import (
    DEFAULT_THRESHOLD_SECONDS,
    Charge,
    ContractTerms,
    FixedCharge,
    FteCharge,
    HourlyCharge,
    UsageCharge,
)
from billing.core.money import EXACT, percent_of, round_amount
from billing.core.periods import Period
from billing.measurement.kpis import PeriodOutcomes, kpi_report, totals, usage_quantity
from billing.rating.credits import Assessment, EarnbackCandidate, assess, earnback_lines
from billing.rating.lines import LineType, RatedInvoice, RatedLine
from billing.rating.pricing import price_usage
from billing.rating.pricing.priced import text

#: Quantities and unit prices on a line are shown (and stored) with six decimals; amounts
#: are always computed from the exact values, never from these.
QUANTITY_PLACES = Decimal("0.000001")


@dataclass(frozen=True, slots=True)
class PeriodFacts:
    """What rating needs to know about one period: the terms in force and what was measured."""

    terms: ContractTerms
    outcomes: PeriodOutcomes


class PeriodOutsideContract(ValueError):
    """The contract covers no day of the period being rated."""


def rate(period: Period, history: Mapping[Period, PeriodFacts]) -> RatedInvoice:
    """Rate ``period`` from ``history[period]``; earlier periods in ``history`` feed earnback.

    A credit of an earlier period P comes back here when P + earnback_months (of P's terms)
    is ``period``; ``history`` must then hold P and every period after it (see
    ``lookback_periods``). A credit period missing from ``history`` gives no earnback; a
    credit period present with a gap after it is an error (the verdict would be a guess).
    """
    facts = history[period]
    terms, outcomes = facts.terms, facts.outcomes
    if not terms.is_active(period):
        raise PeriodOutsideContract(
            f"contract {terms.code} does not cover {period} (it runs {terms.start} to {terms.end or 'open end'})"
        )
    charges = charge_lines(terms, outcomes, period)
    assessment = assess(terms, outcomes, sum((line.amount for line in charges), Decimal(0)))
    candidates = [c for p, f in sorted(history.items()) if p < period for c in _earnback_candidates(p, f, period)]
    later = {p: (f.terms, f.outcomes) for p, f in history.items() if p <= period}
    lines = [*charges, *(assessment.lines if assessment else ()), *earnback_lines(candidates, later)]
    return _invoice(terms, period, outcomes, lines, assessment)


def rate_under(terms: ContractTerms, outcomes: Mapping[Period, PeriodOutcomes], period: Period) -> RatedInvoice:
    """Rate ``period`` as if ``terms`` had governed every period in ``outcomes`` (simulation:
    measure once, price under any terms). Earnback looks back on the other periods given."""
    history = {p: PeriodFacts(terms, o) for p, o in outcomes.items() if p == period or terms.is_active(p)}
    return rate(period, history)


def lookback_periods(period: Period, terms: ContractTerms) -> list[Period]:
    """The periods whose outcomes rating ``period`` under ``terms`` needs, oldest first:
    the period itself and, with earnback, the N before it (only those the contract covers)."""
    months = terms.service_levels.earnback_months if terms.service_levels else None
    back = [period.shift(-n) for n in range(months or 0, 0, -1)]
    return [p for p in back if terms.is_active(p)] + [period]


def _earnback_candidates(credit_period: Period, facts: PeriodFacts, period: Period) -> list[EarnbackCandidate]:
    sl = facts.terms.service_levels
    if sl is None or not sl.earnback_months or credit_period.shift(sl.earnback_months) != period:
        return []
    if not facts.terms.is_active(credit_period):
        return []
    charges = charge_lines(facts.terms, facts.outcomes, credit_period)
    assessment = assess(facts.terms, facts.outcomes, sum((line.amount for line in charges), Decimal(0)))
    assert assessment is not None
    return [
        EarnbackCandidate(m.level.id, credit_period, assessment.credits[m.level.id], sl.earnback_months, m)
        for m in assessment.measures
        if assessment.credits[m.level.id] > 0
    ]


def _invoice(
    terms: ContractTerms,
    period: Period,
    outcomes: PeriodOutcomes,
    lines: list[RatedLine],
    assessment: Assessment | None,
) -> RatedInvoice:
    minor, mode = terms.currency.minor_units, terms.rounding
    subtotal = sum((line.amount for line in lines), terms.currency.zero())
    rate_percent = terms.tax.rate if terms.tax else Decimal(0)
    tax = round_amount(percent_of(subtotal, rate_percent), minor, mode)
    threshold = DEFAULT_THRESHOLD_SECONDS if DEFAULT_THRESHOLD_SECONDS in outcomes.thresholds else None
    kpis: dict[str, Any] = kpi_report(outcomes, threshold=threshold or outcomes.thresholds[0])
    if assessment is not None and assessment.excusal is not None:
        kpis["forecast_excusal"] = assessment.excusal.details()
    return RatedInvoice(
        contract=terms.code,
        period=period,
        currency=terms.currency.code,
        minor_units=minor,
        lines=tuple(lines),
        subtotal=subtotal,
        tax=tax,
        total=subtotal + tax,
        tax_name=terms.tax.name if terms.tax else None,
        tax_rate=rate_percent,
        service_levels=assessment.results if assessment else (),
        at_risk_amount=assessment.at_risk if assessment else None,
        kpis=kpis,
    )


# -- charges ---------------------------------------------------------------------------------


def charge_lines(terms: ContractTerms, outcomes: PeriodOutcomes, period: Period) -> list[RatedLine]:
    """The rated charge lines of a period (fixed, FTE, hourly, usage and minimum true-ups)."""
    lines: list[RatedLine] = []
    for charge in terms.charges:
        lines.extend(_rate_charge(terms, charge, outcomes, period))
    return lines


def _rate_charge(terms: ContractTerms, charge: Charge, outcomes: PeriodOutcomes, period: Period) -> list[RatedLine]:
    if isinstance(charge, FixedCharge):
        return [_fixed(terms, charge, period)]
    if isinstance(charge, FteCharge):
        return [_fte(terms, charge, period)]
    if isinstance(charge, HourlyCharge):
        return [_hourly(terms, charge, outcomes)]
    return _usage(terms, charge, outcomes)


def _line(
    terms: ContractTerms,
    charge: Charge,
    line_type: LineType,
    quantity: Decimal,
    unit_price: Decimal | None,
    exact: Decimal,
    details: dict[str, Any],
    description: str | None = None,
) -> RatedLine:
    return RatedLine(
        charge=charge.id,
        type=line_type,
        description=description or charge.description or _default_description(charge),
        quantity=_shown(quantity),
        unit_price=None if unit_price is None else _shown(unit_price),
        exact_amount=exact,
        amount=round_amount(exact, terms.currency.minor_units, terms.rounding),
        details=details,
    )


def _fixed(terms: ContractTerms, charge: FixedCharge, period: Period) -> RatedLine:
    covered = period.covered_days(terms.start, terms.end)
    share = EXACT.divide(Decimal(covered), Decimal(period.days))
    exact = EXACT.multiply(charge.amount, share)
    details = {"amount": text(charge.amount), "days_covered": covered, "days_in_month": period.days}
    details["prorated"] = covered != period.days
    return _line(terms, charge, LineType.FIXED, share, charge.amount, exact, details)


def _fte(terms: ContractTerms, charge: FteCharge, period: Period) -> RatedLine:
    """rate x sum over the contract's days of max(fte, minimum_fte) / days in the month."""
    steps: list[dict[str, Any]] = []
    fte_days = Decimal(0)
    covered = 0
    for day in period.dates():
        if day < terms.start or (terms.end is not None and day > terms.end):
            continue
        covered += 1
        fte = charge.fte_on(day)
        fte_days += fte
        if steps and steps[-1]["fte"] == text(fte) and steps[-1]["_next"] == day.toordinal():
            steps[-1]["to"], steps[-1]["days"] = day.isoformat(), steps[-1]["days"] + 1
        else:
            steps.append({"from": day.isoformat(), "to": day.isoformat(), "days": 1, "fte": text(fte)})
            steps[-1]["contracted_fte"] = text(_contracted(charge, day))
        steps[-1]["_next"] = day.toordinal() + 1
    for step in steps:
        del step["_next"]
    fte_months = EXACT.divide(fte_days, Decimal(period.days))
    exact = EXACT.multiply(charge.rate, fte_months)
    details = {
        "rate": text(charge.rate),
        "fte_days": text(fte_days),
        "days_in_month": period.days,
        "days_covered": covered,
        "average_fte": text(_shown(EXACT.divide(fte_days, Decimal(covered)))) if covered else "0",
        "minimum_fte": text(charge.minimum_fte),
        "steps": steps,
    }
    return _line(terms, charge, LineType.FTE, fte_months, charge.rate, exact, details)


def _contracted(charge: FteCharge, day: date) -> Decimal:
    fte = Decimal(0)
    for step in charge.headcount:
        if step.start <= day:
            fte = step.fte
    return fte


def _hourly(terms: ContractTerms, charge: HourlyCharge, outcomes: PeriodOutcomes) -> RatedLine:
    hours = outcomes.productive_hours
    exact = EXACT.multiply(charge.rate, hours)
    details = {"rate": text(charge.rate), "productive_hours": text(hours)}
    return _line(terms, charge, LineType.HOURLY, hours, charge.rate, exact, details)


def _usage(terms: ContractTerms, charge: UsageCharge, outcomes: PeriodOutcomes) -> list[RatedLine]:
    quantity = usage_quantity(totals(outcomes, charge.filter), charge.metric)
    priced = price_usage(charge.pricing, quantity, charge.included, charge.maximum_amount)
    details = {"metric": charge.metric.value, **priced.details}
    if charge.filter.describe():
        details["filter"] = charge.filter.describe()
    if charge.minimum_amount is not None:
        details["minimum_amount"] = text(charge.minimum_amount)
    line = _line(terms, charge, LineType.USAGE, quantity, priced.unit_price, priced.amount, details)
    if charge.minimum_amount is None:
        return [line]
    minimum = round_amount(charge.minimum_amount, terms.currency.minor_units, terms.rounding)
    if line.amount >= minimum:
        return [line]
    shortfall = minimum - line.amount
    true_up = _line(
        terms,
        charge,
        LineType.MINIMUM_TRUE_UP,
        Decimal(1),
        shortfall,
        shortfall,
        {"minimum_amount": text(charge.minimum_amount), "charged": str(line.amount), "shortfall": str(shortfall)},
        description=f"Minimum true-up: {charge.description or _default_description(charge)}",
    )
    return [line, true_up]


def _shown(value: Decimal) -> Decimal:
    return value.quantize(QUANTITY_PLACES, rounding=ROUND_HALF_UP, context=EXACT)


def _default_description(charge: Charge) -> str:
    if isinstance(charge, FixedCharge):
        return "Fixed fee"
    if isinstance(charge, FteCharge):
        return "Dedicated agents (FTE)"
    if isinstance(charge, HourlyCharge):
        return "Productive hours"
    described = charge.filter.describe()
    name = charge.metric.value.replace("_", " ").capitalize()
    return f"{name} ({described})" if described else name


def assemble(
    terms: ContractTerms,
    period: Period,
    outcomes: PeriodOutcomes,
    lines: list[RatedLine],
    assessment: Assessment | None,
) -> RatedInvoice:
    """An invoice from lines already rated (totals, tax, KPIs): for a projection of the month."""
    return _invoice(terms, period, outcomes, lines, assessment)
