"""Replaying one scenario: every period rated under the scenario's terms, and costed under
its cost model. Pure."""

from __future__ import annotations

from collections.abc import Sequence

from billing.core.periods import Period
from billing.measurement.kpis import totals
from billing.rating.engine import PeriodFacts, rate
from billing.simulation.costs import month_cost
from billing.simulation.results import MonthResult, Scenario, ScenarioResult


def replay(scenario: Scenario, periods: Sequence[Period]) -> ScenarioResult:
    """Rate every period of the range under the scenario's terms."""
    months = []
    reference = scenario.reference
    minor = reference.currency.minor_units
    active = {p: scenario.terms.get(p, reference) for p in scenario.outcomes}
    active = {p: t for p, t in active.items() if t.is_active(p)}
    for period in periods:
        terms = scenario.terms.get(period, reference)
        outcomes = scenario.outcomes[period]
        whole = totals(outcomes)
        invoice = None
        if terms.is_active(period):
            history = {p: PeriodFacts(t, scenario.outcomes[p]) for p, t in active.items() if p <= period}
            invoice = rate(period, history)
        cost = month_cost(scenario.costs, outcomes, minor) if scenario.costs is not None else None
        months.append(MonthResult(period, invoice, whole.resolutions, whole.answered, cost, whole.offered))
    return ScenarioResult(scenario.name, scenario.source, reference.currency.code, minor, tuple(months))
