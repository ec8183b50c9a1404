"""A whole simulation: every scenario over the range, with break-evens, sensitivities and the
revenue-against-volume curves. Pure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from billing.core.periods import Period
from billing.simulation.break_even import break_evens, monthly_volume
from billing.simulation.curves import curves
from billing.simulation.replay import replay
from billing.simulation.results import (
    ZERO,
    BreakEven,
    Curve,
    InvoiceCheck,
    LeftOut,
    Scenario,
    SensitivityCase,
    SimulationResult,
)
from billing.simulation.sensitivity import CASES, moved


@dataclass(frozen=True)
class Context:
    """What the edge knows about the range besides the outcomes."""

    kind: str = "contract"
    locale: str = "en_US"
    left_out: tuple[LeftOut, ...] = ()
    invoices: tuple[InvoiceCheck, ...] = ()
    costs_source: str | None = None
    origin: Mapping[str, str] = field(default_factory=dict)


def simulate(
    contract: str,
    scenarios: Sequence[Scenario],
    periods: Sequence[Period],
    sweep: bool = False,
    context: Context = Context(),
) -> SimulationResult:
    """Every scenario over ``periods``; with ``sweep``, the break-evens of each alternative
    against the first scenario (the reference), the four sensitivity cases and the curves."""
    if not periods:
        raise ValueError("no month to simulate")
    results = tuple(replay(s, periods) for s in scenarios)
    reference = results[0]
    found: list[BreakEven] = []
    cases: list[SensitivityCase] = []
    lines: tuple[Curve, ...] = ()
    if sweep:
        for scenario in scenarios[1:]:
            found.extend(break_evens(scenario, periods, reference.revenue))
        cases = sensitivity(scenarios, periods)
        marks = [b.value for b in found if b.kind == "volume" and b.value is not None]
        lines = curves(scenarios, periods, marks)
    terms = scenarios[0].terms.get(periods[0], scenarios[0].reference)
    return SimulationResult(
        contract,
        reference.currency,
        reference.minor_units,
        tuple(periods),
        results,
        tuple(found),
        tuple(cases),
        lines,
        monthly_volume(scenarios[0], periods),
        context.left_out,
        context.invoices,
        context.kind,
        context.locale,
        terms.tax.name if terms.tax else None,
        terms.tax.rate if terms.tax else ZERO,
        context.costs_source,
        dict(context.origin),
    )


def sensitivity(scenarios: Sequence[Scenario], periods: Sequence[Period]) -> list[SensitivityCase]:
    """The four cases, each down then up, every scenario replayed with the outcomes moved."""
    out = []
    for kind, size in CASES:
        for step in (-size, size):
            moved_outcomes = [moved(s.outcomes, kind, step) for s in scenarios]
            if any(m is None for m in moved_outcomes):
                out.append(SensitivityCase(kind, step, {}, {}, applicable=False))
                continue
            results = [replay(s.with_outcomes(m), periods) for s, m in zip(scenarios, moved_outcomes, strict=True) if m]
            out.append(
                SensitivityCase(kind, step, {r.name: r.revenue for r in results}, {r.name: r.margin for r in results})
            )
    return out
