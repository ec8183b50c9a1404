"""Service levels (docs/contract-language.md): measure each level, decide met / missed / not assessed, allocate
the at-risk amount into credits, cap them, excuse a period above forecast, and earn credits
back. Pure: terms and measured outcomes in, values out.

Two readings of the contract made explicit here:

* **The cap.** "Total credits never exceed the at-risk amount: when they would, the credits
  are cut in the order the levels are listed until the sum equals it." We read it literally:
  the excess is taken off the *first listed* missed level's credit first (down to zero if
  need be), then off the second, and so on, until the credits add up to the at-risk amount.
  The levels listed last keep their full credit longest. Credits are rounded before the cut,
  so every cut credit is still a whole number of minor units.
* **Earnback.** A credit due in P (after the cap; an excused period has none) comes back in
  P+N, N being the ``earnback_months`` of the terms in force in P (the promise made when the
  credit was taken), when the same level (by id) was *met* (``met is True``) in every period
  P+1 .. P+N under the terms in force in each of them. Not assessed, or a level that no longer
  exists, is not met. The measured data decides, whether or not those invoices were issued.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from billing.contracts.terms import ContractTerms, KpiMetric, ServiceLevel, ServiceLevels
from billing.core.money import format_decimal_string, percent_of, round_amount
from billing.core.periods import Period
from billing.measurement.kpis import PeriodOutcomes, metric_value, totals
from billing.rating.lines import LineType, RatedLine, ServiceLevelResult
from billing.rating.pricing.priced import text


@dataclass(frozen=True, slots=True)
class LevelMeasure:
    """One level measured in one period: the unrounded value, its sample and the verdict."""

    level: ServiceLevel
    value: Decimal | None
    sample: int
    met: bool | None  # None: not assessed (no data, or fewer samples than minimum_sample)

    def details(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "level": self.level.id,
            "metric": self.level.metric.value,
            "value": None if self.value is None else format_decimal_string(self.value, 2),
            "target": text(self.level.target),
            "comparison": "at least" if self.level.metric.higher_is_better else "at most",
            "sample": self.sample,
            "met": self.met,
        }
        if self.level.minimum_sample is not None:
            out["minimum_sample"] = self.level.minimum_sample
        if self.level.metric is KpiMetric.SERVICE_LEVEL:
            out["threshold_seconds"] = self.level.threshold_seconds
            out["formula"] = self.level.formula.value
        if self.level.filter.describe():
            out["filter"] = self.level.filter.describe()
        return out


@dataclass(frozen=True, slots=True)
class Excusal:
    offered: int
    forecast: int
    excuse_above_percent: Decimal
    excused: bool

    def details(self) -> dict[str, Any]:
        return {
            "offered": self.offered,
            "forecast": self.forecast,
            "excuse_above_percent": text(self.excuse_above_percent),
            "limit": text(percent_of(Decimal(self.forecast), self.excuse_above_percent)),
            "excused": self.excused,
        }


@dataclass(frozen=True, slots=True)
class Assessment:
    """The service-level outcome of one contract-period."""

    at_risk: Decimal
    results: tuple[ServiceLevelResult, ...]
    measures: tuple[LevelMeasure, ...]
    #: Credit per level id after the cap, as a positive amount (0 when none).
    credits: Mapping[str, Decimal]
    lines: tuple[RatedLine, ...]
    excusal: Excusal | None


def measure_level(level: ServiceLevel, outcomes: PeriodOutcomes) -> LevelMeasure:
    """Measure a level and judge it; values are compared unrounded."""
    value, sample = metric_value(totals(outcomes, level.filter, level.threshold_seconds), level.metric, level.formula)
    if value is None or (level.minimum_sample is not None and sample < level.minimum_sample):
        return LevelMeasure(level, value, sample, None)
    met = value >= level.target if level.metric.higher_is_better else value <= level.target
    return LevelMeasure(level, value, sample, met)


def excusal(service_levels: ServiceLevels, outcomes: PeriodOutcomes) -> Excusal | None:
    """The forecast rule: offered volume of the whole contract above forecast x percent excuses
    the period. ``None`` when the contract has no such rule or no forecast for the period."""
    forecast = service_levels.forecast_for(outcomes.period)
    percent = service_levels.excuse_above_forecast_percent
    if forecast is None or percent is None:
        return None
    offered = totals(outcomes).offered
    return Excusal(offered, forecast, percent, Decimal(offered) > percent_of(Decimal(forecast), percent))


def cap_credits(credits: list[Decimal], at_risk: Decimal) -> list[Decimal]:
    """Cut credits (positive, in level order) so they add up to at most ``at_risk``: the excess
    comes off the first listed credit first, then the next (see the module docstring)."""
    excess = sum(credits, Decimal(0)) - at_risk
    out = []
    for credit in credits:
        cut = min(credit, max(excess, Decimal(0)))
        excess -= cut
        out.append(credit - cut)
    return out


def assess(terms: ContractTerms, outcomes: PeriodOutcomes, charges_total: Decimal) -> Assessment | None:
    """Measure every level of ``terms`` in one period and compute its credits.

    ``charges_total`` is the sum of the period's rounded charge lines (fixed, FTE, hourly,
    usage, true-ups); the at-risk amount is that times ``at_risk_percent``, rounded once.
    """
    sl = terms.service_levels
    if sl is None:
        return None
    minor, mode = terms.currency.minor_units, terms.rounding
    at_risk = round_amount(percent_of(charges_total, sl.at_risk_percent), minor, mode)
    measures = tuple(measure_level(level, outcomes) for level in sl.levels)
    excused = excusal(sl, outcomes)
    is_excused = excused is not None and excused.excused
    full = [
        round_amount(percent_of(at_risk, m.level.allocation_percent), minor, mode)
        if m.met is False and not is_excused
        else Decimal(0)
        for m in measures
    ]
    capped = cap_credits(full, at_risk)
    zero = terms.currency.zero()
    results = []
    lines = []
    for measure, before, credit in zip(measures, full, capped, strict=True):
        level = measure.level
        results.append(
            ServiceLevelResult(
                id=level.id,
                metric=level.metric.value,
                value=measure.value,
                target=level.target,
                met=measure.met,
                sample=measure.sample,
                credit=-credit if credit else zero,
                excused=is_excused,
                allocation_percent=level.allocation_percent,
            )
        )
        if credit == 0:
            continue
        details = {
            **measure.details(),
            "allocation_percent": text(level.allocation_percent),
            "at_risk_amount": str(at_risk),
            "at_risk_percent": text(sl.at_risk_percent),
            "credit_before_cap": str(before),
        }
        if credit != before:
            details["cut_by_cap"] = str(before - credit)
        lines.append(
            RatedLine(
                charge=level.id,
                type=LineType.SERVICE_CREDIT,
                description=level.description or f"Service credit: {level.id} ({_verdict(measure)})",
                quantity=Decimal(1),
                unit_price=-credit,
                exact_amount=-credit,
                amount=-credit,
                details=details,
            )
        )
    return Assessment(
        at_risk,
        tuple(results),
        measures,
        {m.level.id: c for m, c in zip(measures, capped, strict=True)},
        tuple(lines),
        excused,
    )


def _verdict(measure: LevelMeasure) -> str:
    value = "no data" if measure.value is None else format_decimal_string(measure.value, 2)
    sign = ">=" if measure.level.metric.higher_is_better else "<="
    return f"{measure.level.metric.value} {value}, target {sign} {text(measure.level.target)}"


@dataclass(frozen=True, slots=True)
class EarnbackCandidate:
    """A credit taken in ``credit_period`` that may come back in the period being rated."""

    level_id: str
    credit_period: Period
    credit: Decimal
    months: int
    credit_measure: LevelMeasure


def earnback_lines(
    candidates: list[EarnbackCandidate],
    later: Mapping[Period, tuple[ContractTerms, PeriodOutcomes]],
) -> list[RatedLine]:
    """Positive ``earnback`` lines for the candidates whose level was met in every period after
    the credit up to and including the one being rated. ``later`` holds the terms in force and
    outcomes of each of those periods."""
    out = []
    for candidate in candidates:
        checks = []
        earned = True
        for offset in range(1, candidate.months + 1):
            period = candidate.credit_period.shift(offset)
            if period not in later:
                raise ValueError(f"earnback of {candidate.level_id} needs the outcomes of {period}")
            terms, outcomes = later[period]
            level = _level(terms, candidate.level_id)
            if level is None:
                checks.append({"period": str(period), "level": candidate.level_id, "met": None, "absent": True})
                earned = False
                continue
            measure = measure_level(level, outcomes)
            checks.append({"period": str(period), **measure.details()})
            earned = earned and measure.met is True
        if not earned:
            continue
        m = candidate.credit_measure
        out.append(
            RatedLine(
                charge=candidate.level_id,
                type=LineType.EARNBACK,
                description=f"Earnback: {candidate.level_id} credit of {candidate.credit_period} "
                f"(met for {candidate.months} months)",
                quantity=Decimal(1),
                unit_price=candidate.credit,
                exact_amount=candidate.credit,
                amount=candidate.credit,
                details={
                    "level": candidate.level_id,
                    "credit_period": str(candidate.credit_period),
                    "credit": str(candidate.credit),
                    "earnback_months": candidate.months,
                    "credit_measure": m.details(),
                    "met_in": checks,
                    "value": checks[-1].get("value"),
                    "target": checks[-1].get("target"),
                    "sample": checks[-1].get("sample"),
                },
            )
        )
    return out


def _level(terms: ContractTerms, level_id: str) -> ServiceLevel | None:
    if terms.service_levels is None:
        return None
    return next((level for level in terms.service_levels.levels if level.id == level_id), None)


__all__ = [
    "Assessment",
    "EarnbackCandidate",
    "Excusal",
    "LevelMeasure",
    "assess",
    "cap_credits",
    "earnback_lines",
    "excusal",
    "measure_level",
]
