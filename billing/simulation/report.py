"""The simulation as a self-contained HTML page: tables and two inline SVG charts (monthly
totals per scenario, credits per level). No script, no CDN, no network: one file to attach
to an e-mail. Chart geometry is computed here (pure); the template only draws it."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from billing.simulation.results import SimulationResult

WIDTH, HEIGHT = 720, 260
LEFT, RIGHT, TOP, BOTTOM = 72, 44, 16, 40
COLOURS = ("#1f4e79", "#c55a11", "#548235", "#7030a0", "#bf9000", "#2e75b6", "#a50021", "#404040")


@dataclass(frozen=True)
class Line:
    name: str
    colour: str
    points: tuple[tuple[float, float, str, str], ...]  # x, y, period, amount

    @property
    def polyline(self) -> str:
        return " ".join(f"{x:.1f},{y:.1f}" for x, y, _, _ in self.points)


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    colour: str
    label: str


@dataclass(frozen=True)
class Tick:
    position: float
    label: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    lines: tuple[Line, ...] = ()
    bars: tuple[Bar, ...] = ()
    y_ticks: tuple[Tick, ...] = ()
    x_ticks: tuple[Tick, ...] = ()
    legend: tuple[tuple[str, str, float], ...] = ()  # name, colour, x


def _scale(top: Decimal) -> tuple[Decimal, list[Decimal]]:
    """A round upper bound and four evenly spaced ticks for values from 0 to ``top``."""
    if top <= 0:
        return Decimal(1), [Decimal(0), Decimal(1)]
    magnitude = Decimal(10) ** (len(str(int(top))) - 1)
    for step in (Decimal(1), Decimal(2), Decimal("2.5"), Decimal(5), Decimal(10)):
        bound = step * magnitude
        if bound >= top:
            break
    return bound, [bound * k / 4 for k in range(5)]


def _legend(entries: list[tuple[str, str]]) -> tuple[tuple[str, str, float], ...]:
    """Legend entries side by side, each as wide as its name (about 7 px a character at 10 px)."""
    out, x = [], float(LEFT)
    for name, colour in entries:
        out.append((name, colour, x))
        x += 24 + 7 * len(name)
    return tuple(out)


def totals_chart(result: SimulationResult) -> Chart:
    periods = [str(p) for p in result.periods]
    top = max((m.total for s in result.scenarios for m in s.months), default=Decimal(0))
    bound, ticks = _scale(top)
    span_x = WIDTH - LEFT - RIGHT
    span_y = HEIGHT - TOP - BOTTOM

    def x(index: int) -> float:
        return LEFT + (span_x * index / max(1, len(periods) - 1) if len(periods) > 1 else span_x / 2)

    def y(value: Decimal) -> float:
        return TOP + span_y * (1 - float(value / bound))

    lines = tuple(
        Line(
            s.name,
            COLOURS[i % len(COLOURS)],
            tuple((x(k), y(m.total), str(m.period), str(m.total)) for k, m in enumerate(s.months)),
        )
        for i, s in enumerate(result.scenarios)
    )
    return Chart(
        WIDTH,
        HEIGHT,
        lines=lines,
        y_ticks=tuple(Tick(y(t), f"{t:,.0f}") for t in ticks),
        x_ticks=tuple(Tick(x(k), p) for k, p in enumerate(periods)),
        legend=_legend([(line.name, line.colour) for line in lines]),
    )


def credits_chart(result: SimulationResult) -> Chart:
    """Credits over the range per level (grouped), one bar per scenario."""
    levels = list(dict.fromkeys(level for s in result.scenarios for level in s.credits))
    if not levels:
        return Chart(WIDTH, HEIGHT)
    top = max((-amount for s in result.scenarios for amount in s.credits.values()), default=Decimal(0))
    bound, ticks = _scale(top)
    span_x = WIDTH - LEFT - RIGHT
    span_y = HEIGHT - TOP - BOTTOM
    group = span_x / len(levels)
    bar = group * 0.8 / len(result.scenarios)
    bars = []
    for g, level in enumerate(levels):
        for i, scenario in enumerate(result.scenarios):
            value = -scenario.credits.get(level, Decimal(0))
            height = span_y * float(value / bound)
            bars.append(
                Bar(
                    LEFT + g * group + group * 0.1 + i * bar,
                    TOP + span_y - height,
                    bar,
                    height,
                    COLOURS[i % len(COLOURS)],
                    f"{scenario.name} {level}: {value}",
                )
            )
    return Chart(
        WIDTH,
        HEIGHT,
        bars=tuple(bars),
        y_ticks=tuple(Tick(TOP + span_y * (1 - float(t / bound)), f"{t:,.0f}") for t in ticks),
        x_ticks=tuple(Tick(LEFT + g * group + group / 2, level) for g, level in enumerate(levels)),
        legend=_legend([(s.name, COLOURS[i % len(COLOURS)]) for i, s in enumerate(result.scenarios)]),
    )


def simulation_html(result: SimulationResult, generated_at: str = "") -> str:
    from billing.presentation.templating import environment

    data: dict[str, Any] = result.as_json()
    return (
        environment()
        .get_template("simulation.html")
        .render(
            data=data,
            totals_chart=totals_chart(result),
            credits_chart=credits_chart(result),
            generated_at=generated_at,
        )
    )
