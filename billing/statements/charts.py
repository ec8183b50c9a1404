"""The KPI trend as small charts (pure): one per service level and one per headline KPI, each
on its own scale with its unit and, for a level, its target line; values come from the
stored invoices. No JavaScript, no network: the templates draw the geometry as SVG.

A chart's vertical range is the span of its values and target, padded and rounded to whole
units (a percentage stays within 0-100), so an abandonment rate near 5 % is not a flat line
at the bottom of a 0-100 axis.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, InvalidOperation
from typing import Any

from billing.statements.views import DocumentView

WIDTH = 300
HEIGHT = 150
PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 44, 22, 12, 26
#: KPIs charted besides the service levels (when measured and not already a level's chart).
HEADLINE_KPIS = ("service_level", "abandonment_rate", "asa_seconds", "aht_seconds", "fcr_rate", "csat")
PERCENT_METRICS = ("service_level", "abandonment_rate", "fcr_rate", "csat")


@dataclass(frozen=True)
class Point:
    period: str
    value: Decimal
    x: float
    y: float
    met: bool | None


@dataclass(frozen=True)
class Tick:
    value: Decimal
    y: float


@dataclass(frozen=True)
class Chart:
    """One metric over the periods: ``level`` is the service level's id (None: a KPI of all
    channels), with its channels and handlers, its target and whether at least or at most."""

    metric: str
    level: dict[str, Any] | None
    points: tuple[Point, ...]
    ticks: tuple[Tick, ...]
    target: Decimal | None
    target_y: float | None
    x_of: tuple[float, ...]
    periods: tuple[str, ...]
    width: int = WIDTH
    height: int = HEIGHT

    @property
    def polyline(self) -> str:
        return " ".join(f"{p.x:.1f},{p.y:.1f}" for p in self.points)

    @property
    def left(self) -> int:
        return PAD_LEFT

    @property
    def right(self) -> int:
        return WIDTH - PAD_RIGHT

    @property
    def bottom(self) -> int:
        return HEIGHT - PAD_BOTTOM


def _decimal(value: object) -> Decimal | None:
    if value is None or isinstance(value, dict | list | bool):
        return None
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def scale(values: list[Decimal], percent: bool) -> tuple[Decimal, Decimal]:
    """The chart's low and high: the values' span padded by a fifth (at least one unit) and
    rounded out to whole units; a percentage stays within 0-100."""
    lo, hi = min(values), max(values)
    pad = max((hi - lo) / 5, Decimal(1))
    lo = (lo - pad).to_integral_value(ROUND_FLOOR)
    hi = (hi + pad).to_integral_value(ROUND_CEILING)
    if percent:
        lo, hi = max(lo, Decimal(0)), min(hi, Decimal(100))
    else:
        lo = max(lo, Decimal(0)) if min(values) >= 0 else lo
    return (lo, hi) if hi > lo else (lo, lo + 1)


def _y(value: Decimal, lo: Decimal, hi: Decimal) -> float:
    inner = HEIGHT - PAD_TOP - PAD_BOTTOM
    share = float((value - lo) / (hi - lo))
    return PAD_TOP + inner * (1 - min(max(share, 0.0), 1.0))


def _chart(
    metric: str,
    level: dict[str, Any] | None,
    raw: dict[str, tuple[Decimal, bool | None]],
    target: Decimal | None,
    periods: tuple[str, ...],
    x_of: tuple[float, ...],
) -> Chart:
    values = [v for v, _ in raw.values()] + ([target] if target is not None else [])
    lo, hi = scale(values, metric in PERCENT_METRICS)
    points = tuple(
        Point(p, raw[p][0], x_of[i], _y(raw[p][0], lo, hi), raw[p][1]) for i, p in enumerate(periods) if p in raw
    )
    middle = ((lo + hi) / 2).quantize(Decimal(1)) if (hi - lo) >= 2 else (lo + hi) / 2
    ticks = tuple(Tick(v, _y(v, lo, hi)) for v in (lo, middle, hi))
    target_y = _y(target, lo, hi) if target is not None else None
    return Chart(metric, level, points, ticks, target, target_y, x_of, periods)


def trend(documents: Iterable[DocumentView]) -> list[Chart]:
    """The small charts over the periods of the billed invoices: each service level (by id),
    then each headline KPI not already charted as an all-channel level."""
    invoices = sorted(
        (d for d in documents if d.kind == "invoice" and d.status in ("issued", "paid")), key=lambda d: d.period
    )
    periods = tuple(sorted({d.period for d in invoices}))
    if not periods:
        return []
    inner = WIDTH - PAD_LEFT - PAD_RIGHT
    step = inner / max(len(periods) - 1, 1)
    x_of = tuple(PAD_LEFT + i * step if len(periods) > 1 else PAD_LEFT + inner / 2 for i in range(len(periods)))
    levels: dict[str, dict[str, Any]] = {}
    level_values: dict[str, dict[str, tuple[Decimal, bool | None]]] = {}
    kpi_values: dict[str, dict[str, tuple[Decimal, bool | None]]] = {}
    for doc in invoices:
        for level in doc.service_levels:
            key = str(level.get("id", level.get("metric", "")))
            levels[key] = dict(level)  # the latest period's terms describe the level
            value = _decimal(level.get("value"))
            if value is not None:
                level_values.setdefault(key, {})[doc.period] = (value, level.get("met"))
        for metric in HEADLINE_KPIS:
            value = _decimal(doc.kpis.get(metric))
            if value is not None:
                kpi_values.setdefault(metric, {})[doc.period] = (value, None)
    charts = [
        _chart(
            str(levels[key].get("metric", key)),
            levels[key],
            level_values[key],
            _decimal(levels[key].get("target")),
            periods,
            x_of,
        )
        for key in levels
        if key in level_values
    ]
    unfiltered = {
        str(level.get("metric"))
        for level in levels.values()
        if not level.get("channels") and not level.get("handled_by")
    }
    charts += [
        _chart(metric, None, kpi_values[metric], None, periods, x_of)
        for metric in HEADLINE_KPIS
        if metric in kpi_values and metric not in unfiltered
    ]
    return charts
