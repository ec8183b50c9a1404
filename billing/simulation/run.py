"""A whole simulation: every scenario over the range, with break-evens and sensitivities. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from billing.core.periods import Period
from billing.rating.pricing.priced import text
from billing.simulation.break_even import break_even_prices
from billing.simulation.replay import replay
from billing.simulation.results import BreakEven, Scenario, SensitivityCase, SimulationResult
from billing.simulation.sensitivity import scale_outcomes


def simulate(
    contract: str,
    scenarios: Sequence[Scenario],
    periods: Sequence[Period],
    sweep: bool = False,
    sensitivity_percent: Decimal | None = None,
) -> SimulationResult:
    """Every scenario over the range; with ``sweep``, the break-even price of each usage charge of
    each alternative; with ``sensitivity_percent``, every scenario again with the measured
    volume, then the resolutions, moved down and up by that percentage."""
    results = tuple(replay(s, periods) for s in scenarios)
    current = results[0]
    break_even: list[BreakEven] = []
    if sweep:
        for scenario in scenarios[1:]:
            break_even.extend(break_even_prices(scenario, periods, current.total))
    cases: list[SensitivityCase] = []
    if sensitivity_percent is not None:
        for kind in ("volume", "resolutions"):
            for sign in (-1, 1):
                factor = 1 + sign * sensitivity_percent / 100
                name = f"{kind} {'+' if sign > 0 else '-'}{text(sensitivity_percent)}%"
                case_totals = {
                    s.name: replay(s.with_outcomes(scale_outcomes(s.outcomes, kind, factor)), periods).total
                    for s in scenarios
                }
                cases.append(SensitivityCase(name, case_totals))
    return SimulationResult(
        contract,
        current.currency,
        current.minor_units,
        tuple(periods),
        results,
        tuple(break_even),
        tuple(cases),
        sensitivity_percent,
    )
