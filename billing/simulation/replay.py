"""Replaying one scenario: every period rated under the scenario's terms. Pure."""

from __future__ import annotations

from collections.abc import Sequence

from billing.core.periods import Period
from billing.measurement.kpis import totals
from billing.rating.engine import PeriodFacts, rate
from billing.simulation.results import MonthResult, Scenario, ScenarioResult


def replay(scenario: Scenario, periods: Sequence[Period]) -> ScenarioResult:
    """Rate every period of the range under the scenario's terms."""
    months = []
    reference = next(iter(scenario.terms.values()))
    for period in periods:
        terms = scenario.terms.get(period, reference)
        outcomes = scenario.outcomes[period]
        whole = totals(outcomes)
        invoice = None
        if terms.is_active(period):
            history = {
                p: PeriodFacts(scenario.terms.get(p, terms), o)
                for p, o in scenario.outcomes.items()
                if p <= period and scenario.terms.get(p, terms).is_active(p)
            }
            invoice = rate(period, history)
        months.append(MonthResult(period, invoice, whole.resolutions, whole.answered))
    return ScenarioResult(
        scenario.name,
        scenario.source,
        reference.currency.code,
        reference.currency.minor_units,
        tuple(months),
    )
