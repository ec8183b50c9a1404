"""KPI formulas (docs/kpis.md) over measured, additive outcome counts. Pure.

The database aggregates a contract-period's interactions into ``OutcomeCell`` rows, one per
(channel, handled_by), holding only additive sums. Every KPI for any channel or handled_by
filter is then a sum over cells followed by one division here, so one scan of the data
serves every charge, every service level and every pricing scenario (measure once, price
many times).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from billing.contracts.terms import DEFAULT_THRESHOLD_SECONDS, Filter, KpiMetric, ServiceLevelFormula, UsageMetric
from billing.core.money import EXACT, format_decimal_string
from billing.core.periods import Period

HUNDRED = Decimal(100)


@dataclass(frozen=True, slots=True)
class OutcomeCell:
    """Additive sums over one contract-period's interactions of one channel and handler.
    ``answered_within[i]`` / ``abandoned_within[i]`` count waits <= ``thresholds[i]``."""

    channel: str
    handled_by: str
    offered: int = 0
    abandoned: int = 0
    answered_wait_sum: int = 0
    handle_sum: int = 0
    answered_within: tuple[int, ...] = ()
    abandoned_within: tuple[int, ...] = ()
    resolutions: int = 0
    csat_n: int = 0
    csat_good: int = 0
    nps_n: int = 0
    nps_promoters: int = 0
    nps_detractors: int = 0
    qa_n: int = 0
    qa_sum: Decimal = Decimal(0)

    @property
    def answered(self) -> int:
        return self.offered - self.abandoned


@dataclass(frozen=True, slots=True)
class PeriodOutcomes:
    """Everything measured for one contract and period."""

    contract: str
    period: Period
    thresholds: tuple[int, ...] = (DEFAULT_THRESHOLD_SECONDS,)
    cells: tuple[OutcomeCell, ...] = ()
    productive_hours: Decimal = Decimal(0)
    #: The newest import batch the measurement saw (``None``: nothing imported yet).
    data_as_of: int | None = None


@dataclass(frozen=True, slots=True)
class Totals:
    """The cells matching a filter, summed."""

    offered: int = 0
    abandoned: int = 0
    answered_wait_sum: int = 0
    handle_sum: int = 0
    answered_within: int = 0
    abandoned_within: int = 0
    resolutions: int = 0
    csat_n: int = 0
    csat_good: int = 0
    nps_n: int = 0
    nps_promoters: int = 0
    nps_detractors: int = 0
    qa_n: int = 0
    qa_sum: Decimal = field(default=Decimal(0))

    @property
    def answered(self) -> int:
        return self.offered - self.abandoned


def matches(cell: OutcomeCell, flt: Filter) -> bool:
    if flt.channels is not None and cell.channel not in flt.channels:
        return False
    return not (flt.handled_by is not None and cell.handled_by not in flt.handled_by)


def totals(outcomes: PeriodOutcomes, flt: Filter = Filter(), threshold: int = DEFAULT_THRESHOLD_SECONDS) -> Totals:
    try:
        index = outcomes.thresholds.index(threshold)
    except ValueError:
        raise ValueError(
            f"threshold {threshold}s was not measured for {outcomes.contract} "
            f"{outcomes.period} (measured: {outcomes.thresholds})"
        ) from None
    sums = dict.fromkeys(
        (
            "offered",
            "abandoned",
            "answered_wait_sum",
            "handle_sum",
            "answered_within",
            "abandoned_within",
            "resolutions",
            "csat_n",
            "csat_good",
            "nps_n",
            "nps_promoters",
            "nps_detractors",
            "qa_n",
        ),
        0,
    )
    qa_sum = Decimal(0)
    for cell in outcomes.cells:
        if not matches(cell, flt):
            continue
        for name in sums:
            if name == "answered_within":
                sums[name] += cell.answered_within[index]
            elif name == "abandoned_within":
                sums[name] += cell.abandoned_within[index]
            else:
                sums[name] += getattr(cell, name)
        qa_sum += cell.qa_sum
    return Totals(**sums, qa_sum=qa_sum)


def _ratio(numerator: int | Decimal, denominator: int, scale: Decimal = HUNDRED) -> Decimal | None:
    if denominator == 0:
        return None
    return EXACT.divide(EXACT.multiply(Decimal(numerator), scale), Decimal(denominator))


def service_level(t: Totals, formula: ServiceLevelFormula) -> tuple[Decimal | None, int]:
    """(value in percent, denominator) for one of the four industry formulas."""
    a, ab, a_t, ab_t = t.answered, t.abandoned, t.answered_within, t.abandoned_within
    if formula is ServiceLevelFormula.EXCLUDE_SHORT_ABANDONS:
        numerator, denominator = a_t, a + ab - ab_t
    elif formula is ServiceLevelFormula.ABANDONS_AGAINST:
        numerator, denominator = a_t, a + ab
    elif formula is ServiceLevelFormula.ABANDONS_FOR:
        numerator, denominator = a_t + ab_t, a + ab
    else:
        numerator, denominator = a_t, a
    return _ratio(numerator, denominator), denominator


def metric_value(
    t: Totals,
    metric: KpiMetric,
    formula: ServiceLevelFormula = ServiceLevelFormula.EXCLUDE_SHORT_ABANDONS,
) -> tuple[Decimal | None, int]:
    """(unrounded value, sample size) of a service-level metric; value None when undefined."""
    if metric is KpiMetric.SERVICE_LEVEL:
        return service_level(t, formula)
    if metric is KpiMetric.ASA_SECONDS:
        return _ratio(t.answered_wait_sum, t.answered, Decimal(1)), t.answered
    if metric is KpiMetric.AHT_SECONDS:
        return _ratio(t.handle_sum, t.answered, Decimal(1)), t.answered
    if metric is KpiMetric.ABANDONMENT_RATE:
        return _ratio(t.abandoned, t.offered), t.offered
    if metric is KpiMetric.FCR_RATE:
        return _ratio(t.resolutions, t.answered), t.answered
    if metric is KpiMetric.CSAT:
        return _ratio(t.csat_good, t.csat_n), t.csat_n
    if metric is KpiMetric.NPS:
        return _ratio(t.nps_promoters - t.nps_detractors, t.nps_n), t.nps_n
    return _ratio(t.qa_sum, t.qa_n, Decimal(1)), t.qa_n


def usage_quantity(t: Totals, metric: UsageMetric) -> Decimal:
    """The billable quantity of a usage metric, exact (handled minutes may be fractional)."""
    if metric is UsageMetric.RESOLUTIONS:
        return Decimal(t.resolutions)
    if metric is UsageMetric.CONTACTS:
        return Decimal(t.answered)
    return EXACT.divide(Decimal(t.handle_sum), Decimal(60))


def kpi_report(
    outcomes: PeriodOutcomes,
    flt: Filter = Filter(),
    threshold: int = DEFAULT_THRESHOLD_SECONDS,
    formula: ServiceLevelFormula = ServiceLevelFormula.EXCLUDE_SHORT_ABANDONS,
) -> dict[str, object]:
    """Every KPI of docs/kpis.md as the JSON of ``billing kpis``: counts as integers, rates and
    seconds as two-decimal strings, None when undefined."""
    t = totals(outcomes, flt, threshold)

    def fmt(value: Decimal | None) -> str | None:
        return None if value is None else format_decimal_string(value, 2)

    report: dict[str, object] = {
        "offered": t.offered,
        "answered": t.answered,
        "abandoned": t.abandoned,
        "service_level": fmt(service_level(t, formula)[0]),
    }
    for metric in (KpiMetric.ASA_SECONDS, KpiMetric.AHT_SECONDS, KpiMetric.ABANDONMENT_RATE):
        report[metric.value] = fmt(metric_value(t, metric)[0])
    report["resolutions"] = t.resolutions
    report["contacts"] = t.answered
    report["handled_minutes"] = fmt(usage_quantity(t, UsageMetric.HANDLED_MINUTES))
    for metric in (KpiMetric.FCR_RATE, KpiMetric.CSAT, KpiMetric.NPS, KpiMetric.QA_SCORE):
        report[metric.value] = fmt(metric_value(t, metric)[0])
    report["productive_hours"] = format_decimal_string(outcomes.productive_hours, 2)
    report["samples"] = {"surveys_csat": t.csat_n, "surveys_nps": t.nps_n, "qa_scored": t.qa_n}
    return report
