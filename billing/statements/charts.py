"""The KPI trend chart as plain geometry (pure): service-level values per period from the
stored invoices, scaled into an SVG box the templates draw. No JavaScript, no network."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from billing.statements.views import DocumentView

WIDTH = 640
HEIGHT = 220
PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 48, 16, 16, 32


@dataclass(frozen=True)
class Point:
    period: str
    value: Decimal
    x: float
    y: float
    met: bool | None


@dataclass(frozen=True)
class Series:
    id: str
    metric: str
    target: Decimal | None
    target_y: float | None
    points: tuple[Point, ...]

    @property
    def polyline(self) -> str:
        return " ".join(f"{p.x:.1f},{p.y:.1f}" for p in self.points)


@dataclass(frozen=True)
class Chart:
    periods: tuple[str, ...]
    x_of: tuple[float, ...]
    top: Decimal
    series: tuple[Series, ...]
    width: int = WIDTH
    height: int = HEIGHT

    def y_for(self, value: Decimal) -> float:
        return _y(value, self.top)


def _decimal(value: object) -> Decimal | None:
    if value is None:
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def _y(value: Decimal, top: Decimal) -> float:
    inner = HEIGHT - PAD_TOP - PAD_BOTTOM
    share = float(value / top) if top else 0.0
    return PAD_TOP + inner * (1 - min(max(share, 0.0), 1.0))


def trend(documents: Iterable[DocumentView]) -> Chart:
    """One series per service level, over the periods of the billed invoices."""
    invoices = [d for d in documents if d.kind == "invoice" and d.status in ("issued", "paid")]
    periods = tuple(sorted({d.period for d in invoices}))
    raw: dict[str, dict[str, tuple[Decimal, bool | None]]] = {}
    metrics: dict[str, str] = {}
    targets: dict[str, Decimal | None] = {}
    for doc in invoices:
        for level in doc.service_levels:
            value = _decimal(level.get("value"))
            key = str(level.get("id", level.get("metric", "")))
            metrics[key] = str(level.get("metric", key))
            targets[key] = _decimal(level.get("target"))
            if value is not None:
                raw.setdefault(key, {})[doc.period] = (value, level.get("met"))
    values = [v for per in raw.values() for v, _ in per.values()]
    values += [t for t in targets.values() if t is not None]
    top = max([Decimal(100), *values]) if values else Decimal(100)
    inner_w = WIDTH - PAD_LEFT - PAD_RIGHT
    step = inner_w / max(len(periods) - 1, 1)
    x_of = tuple(PAD_LEFT + i * step if len(periods) > 1 else PAD_LEFT + inner_w / 2 for i in range(len(periods)))
    series = []
    for key in sorted(raw):
        points = tuple(
            Point(p, raw[key][p][0], x_of[i], _y(raw[key][p][0], top), raw[key][p][1])
            for i, p in enumerate(periods)
            if p in raw[key]
        )
        target = targets.get(key)
        series.append(Series(key, metrics[key], target, _y(target, top) if target is not None else None, points))
    return Chart(periods, x_of, top, tuple(series))
