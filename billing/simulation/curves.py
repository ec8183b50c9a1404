"""Revenue (and margin) against volume for every scenario: the outcomes scaled to each monthly
volume as in the volume sensitivity, every scenario replayed there. Pure.

The volumes run from zero to half as much again as measured (further when a break-even volume
lies beyond), on an even grid plus the measured volume and every break-even volume, so each
curve passes exactly through the points the report marks."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal

from billing.core.periods import Period
from billing.simulation.break_even import MAX_VOLUME_FACTOR, monthly_volume, with_volume
from billing.simulation.replay import replay
from billing.simulation.results import Curve, CurvePoint, Scenario

STEPS = 12


def volumes(measured: int, marks: Iterable[Decimal]) -> list[int]:
    if measured <= 0:
        return []
    wanted = [int(m) for m in marks if m <= MAX_VOLUME_FACTOR * measured]
    top = max([measured * 3 // 2, *(v * 11 // 10 for v in wanted)])
    grid = {top * k // STEPS for k in range(STEPS + 1)}
    return sorted(grid | {measured, *wanted})


def curves(scenarios: Sequence[Scenario], periods: Sequence[Period], marks: Iterable[Decimal]) -> tuple[Curve, ...]:
    measured = monthly_volume(scenarios[0], periods)
    points = volumes(measured, marks)
    out = []
    for scenario in scenarios:
        row = []
        for volume in points:
            result = replay(with_volume(scenario, periods, volume), periods)
            row.append(CurvePoint(volume, result.revenue, result.margin))
        out.append(Curve(scenario.name, tuple(row)))
    return tuple(out)
