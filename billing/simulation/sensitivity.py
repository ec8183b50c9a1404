"""Sensitivity: the measured outcomes moved one way at a time, to replay every scenario. Pure.

Four separate cases, each down and up (docs/simulation.md):

- ``volume`` +/-10 %: every count and sum scales (offered, abandoned, resolutions, surveys,
  waits, handle time, the productive hours behind them); rates and averages stay.
- ``resolution_rate`` +/-5 points: each cell resolves 5 % of its answered contacts more or
  fewer; contacts stay.
- ``ai_share`` +/-10 points: 10 % of each channel's offered contacts move from human to AI
  handling (or back); the contacts moved take the rates of their new handler in that channel
  (of that handler over all channels when the channel has none); productive hours follow the
  human handle time. Not applicable when no contact is handled by AI (or by people).
- ``service_level`` +/-5 points: in each channel, 5 % of the contacts the default formula
  counts (answered + abandoned - short abandons) move into or out of every threshold, human
  contacts first. Waits and abandonment stay; so credits move, and only they.

Every moved figure is rounded half-up to a whole count and kept within what it counts.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from billing.core.money import EXACT
from billing.core.periods import Period
from billing.measurement.kpis import OutcomeCell, PeriodOutcomes

HUNDRED = Decimal(100)
#: (kind, step): the four cases, each replayed at -step and +step.
CASES = (
    ("volume", Decimal(10)),
    ("resolution_rate", Decimal(5)),
    ("ai_share", Decimal(10)),
    ("service_level", Decimal(5)),
)

_VOLUME_FIELDS = (
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

Months = Mapping[Period, PeriodOutcomes]


def moved(outcomes: Months, kind: str, step: Decimal) -> dict[Period, PeriodOutcomes] | None:
    """The months moved by ``step`` (percent for volume, points otherwise); None when the case
    does not apply to these outcomes."""
    if kind == "volume":
        return scale_volume(outcomes, 1 + step / HUNDRED)
    if kind == "resolution_rate":
        return {p: _cells(o, tuple(_resolution_rate(c, step) for c in o.cells)) for p, o in outcomes.items()}
    if kind == "ai_share":
        return move_ai_share(outcomes, step)
    if kind == "service_level":
        return {p: _service_level(o, step) for p, o in outcomes.items()}
    raise ValueError(f"unknown sensitivity {kind!r}")


def scale_volume(outcomes: Months, factor: Decimal) -> dict[Period, PeriodOutcomes]:
    """Every count, sum and productive hour times ``factor``."""
    return {
        p: dataclasses.replace(
            o,
            cells=tuple(scale_cell(c, factor) for c in o.cells),
            productive_hours=EXACT.multiply(o.productive_hours, factor),
        )
        for p, o in outcomes.items()
    }


def scale_cell(cell: OutcomeCell, factor: Decimal) -> OutcomeCell:
    changes: dict[str, Any] = {name: _scaled(getattr(cell, name), factor) for name in _VOLUME_FIELDS}
    changes["answered_within"] = tuple(_scaled(v, factor) for v in cell.answered_within)
    changes["abandoned_within"] = tuple(_scaled(v, factor) for v in cell.abandoned_within)
    changes["qa_sum"] = EXACT.multiply(cell.qa_sum, factor)
    scaled = dataclasses.replace(cell, **changes)
    answered = scaled.answered
    return dataclasses.replace(
        scaled,
        resolutions=min(answered, scaled.resolutions),
        answered_within=tuple(min(answered, v) for v in scaled.answered_within),
        abandoned_within=tuple(min(scaled.abandoned, v) for v in scaled.abandoned_within),
    )


def _resolution_rate(cell: OutcomeCell, points: Decimal) -> OutcomeCell:
    delta = _scaled(cell.answered, abs(points) / HUNDRED) * (1 if points > 0 else -1)
    return dataclasses.replace(cell, resolutions=max(0, min(cell.answered, cell.resolutions + delta)))


def move_ai_share(outcomes: Months, points: Decimal) -> dict[Period, PeriodOutcomes] | None:
    out = {}
    for period, o in outcomes.items():
        month = _ai_share(o, points)
        if month is None:
            return None
        out[period] = month
    return out


def _ai_share(o: PeriodOutcomes, points: Decimal) -> PeriodOutcomes | None:
    to, away = ("ai", "human") if points > 0 else ("human", "ai")
    pooled = {who: _pool([c for c in o.cells if c.handled_by == who]) for who in ("ai", "human")}
    if not o.cells:
        return o
    if pooled[to].offered == 0 or pooled[away].offered == 0:
        return None
    channels = list(dict.fromkeys(c.channel for c in o.cells))
    cells: list[OutcomeCell] = []
    for channel in channels:
        own = {c.handled_by: c for c in o.cells if c.channel == channel}
        offered = sum(c.offered for c in own.values())
        source = own.get(away)
        shift = min(_scaled(offered, abs(points) / HUNDRED), source.offered if source else 0)
        for who, cell in own.items():
            if who not in (to, away):
                cells.append(cell)
        if source is not None:
            cells.append(_resized(source, source.offered - shift))
        target = own.get(to)
        if target is not None and target.offered > 0:
            cells.append(_resized(target, target.offered + shift))
        elif shift > 0:
            template = dataclasses.replace(pooled[to], channel=channel, handled_by=to)
            cells.append(_resized(template, shift))
        elif target is not None:
            cells.append(target)
    human_before = pooled["human"].handle_sum
    human_after = sum(c.handle_sum for c in cells if c.handled_by == "human")
    hours = o.productive_hours
    if human_before:
        hours = EXACT.divide(EXACT.multiply(hours, Decimal(human_after)), Decimal(human_before))
    ordered = tuple(sorted((c for c in cells if c.offered > 0), key=lambda c: (c.channel, c.handled_by)))
    return dataclasses.replace(o, cells=ordered, productive_hours=hours)


def _resized(cell: OutcomeCell, offered: int) -> OutcomeCell:
    if cell.offered == 0:
        return cell
    return scale_cell(cell, EXACT.divide(Decimal(offered), Decimal(cell.offered)))


def _pool(cells: list[OutcomeCell]) -> OutcomeCell:
    """Cells summed (one handler over every channel): the rates of that handler."""
    if not cells:
        return OutcomeCell("", "")
    sums: dict[str, Any] = {name: sum(getattr(c, name) for c in cells) for name in _VOLUME_FIELDS}
    slots = len(cells[0].answered_within)
    sums["answered_within"] = tuple(sum(c.answered_within[i] for c in cells) for i in range(slots))
    sums["abandoned_within"] = tuple(sum(c.abandoned_within[i] for c in cells) for i in range(slots))
    sums["qa_sum"] = sum((c.qa_sum for c in cells), Decimal(0))
    return OutcomeCell(cells[0].channel, cells[0].handled_by, **sums)


def _service_level(o: PeriodOutcomes, points: Decimal) -> PeriodOutcomes:
    channels = list(dict.fromkeys(c.channel for c in o.cells))
    cells = {(c.channel, c.handled_by): c for c in o.cells}
    for channel in channels:
        own = sorted((c for c in o.cells if c.channel == channel), key=lambda c: c.handled_by != "human")
        for slot in range(len(o.thresholds)):
            base = sum(c.answered + c.abandoned - c.abandoned_within[slot] for c in own)
            left = _scaled(base, abs(points) / HUNDRED)
            for cell in own:
                current = cells[(cell.channel, cell.handled_by)]
                within = current.answered_within[slot]
                room = current.answered - within if points > 0 else within
                take = min(left, room)
                left -= take
                values = list(current.answered_within)
                values[slot] = within + take if points > 0 else within - take
                cells[(cell.channel, cell.handled_by)] = dataclasses.replace(current, answered_within=tuple(values))
    return _cells(o, tuple(cells[(c.channel, c.handled_by)] for c in o.cells))


def _cells(o: PeriodOutcomes, cells: tuple[OutcomeCell, ...]) -> PeriodOutcomes:
    return dataclasses.replace(o, cells=cells)


def _scaled(value: int, factor: Decimal) -> int:
    return int(EXACT.multiply(Decimal(value), factor).to_integral_value(rounding=ROUND_HALF_UP))
