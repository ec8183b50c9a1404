"""Chart geometry for the simulation report, computed here (pure) and drawn by the template:
monthly revenue per scenario, revenue and margin against volume with the break-evens marked,
and credits per level. Labels arrive formatted (the report formats them in the reader's
locale); amounts are before tax."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

WIDTH, HEIGHT = 720, 270
LEFT, RIGHT, TOP, BOTTOM = 84, 44, 16, 44
COLOURS = ("#1f4e79", "#c55a11", "#548235", "#7030a0", "#bf9000", "#2e75b6", "#a50021", "#404040")

Format = Callable[[Decimal], str]


@dataclass(frozen=True)
class Line:
    name: str
    colour: str
    points: tuple[tuple[float, float, str], ...]  # x, y, tooltip
    dashed: bool = False

    @property
    def polyline(self) -> str:
        return " ".join(f"{x:.1f},{y:.1f}" for x, y, _ in self.points)


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
class Mark:
    """A marked point (a break-even crossing) with its label."""

    x: float
    y: float
    colour: str
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
    marks: tuple[Mark, ...] = ()
    guides: tuple[tuple[float, float, float, float, str], ...] = ()  # x1, y1, x2, y2, label
    x_title: str = ""
    y_title: str = ""

    @property
    def empty(self) -> bool:
        return not (self.lines or self.bars)


def scale(low: Decimal, high: Decimal) -> tuple[Decimal, Decimal, list[Decimal]]:
    """Round bounds and five evenly spaced ticks covering ``low`` .. ``high`` (0 included)."""
    low, high = min(low, Decimal(0)), max(high, Decimal(0))
    span = high - low
    if span <= 0:
        return Decimal(0), Decimal(1), [Decimal(0), Decimal(1)]
    magnitude = Decimal(10) ** (len(str(int(span))) - 1)
    for step in (Decimal(1), Decimal(2), Decimal("2.5"), Decimal(5), Decimal(10)):
        unit = step * magnitude / 4
        bottom = (low / unit).to_integral_value(rounding="ROUND_FLOOR") * unit
        top = (high / unit).to_integral_value(rounding="ROUND_CEILING") * unit
        if (top - bottom) / unit <= 4:
            break
    count = int((top - bottom) / unit)
    return bottom, top, [bottom + unit * k for k in range(count + 1)]


def legend(entries: Sequence[tuple[str, str]]) -> tuple[tuple[str, str, float], ...]:
    """Legend entries side by side, each as wide as its name (about 7 px a character at 10 px)."""
    out, x = [], float(LEFT)
    for name, colour in entries:
        out.append((name, colour, x))
        x += 24 + 7 * len(name)
    return tuple(out)


class Frame:
    """Maps values to pixels inside the plotting area."""

    def __init__(self, x_low: Decimal, x_high: Decimal, y_low: Decimal, y_high: Decimal) -> None:
        self.x_low, self.x_high, self.y_low, self.y_high = x_low, x_high, y_low, y_high
        self.span_x = WIDTH - LEFT - RIGHT
        self.span_y = HEIGHT - TOP - BOTTOM

    def x(self, value: Decimal) -> float:
        if self.x_high == self.x_low:
            return LEFT + self.span_x / 2
        return LEFT + self.span_x * float((value - self.x_low) / (self.x_high - self.x_low))

    def y(self, value: Decimal) -> float:
        return TOP + self.span_y * (1 - float((value - self.y_low) / (self.y_high - self.y_low)))


def series_chart(
    categories: Sequence[str], series: Sequence[tuple[str, Sequence[Decimal | None]]], money: Format
) -> Chart:
    """One line per series over evenly spaced categories (months)."""
    values = [v for _, row in series for v in row if v is not None]
    low, high, ticks = scale(min(values, default=Decimal(0)), max(values, default=Decimal(0)))
    frame = Frame(Decimal(0), Decimal(max(0, len(categories) - 1)), low, high)
    lines = []
    for i, (name, row) in enumerate(series):
        points = tuple(
            (frame.x(Decimal(k)), frame.y(v), f"{name} {categories[k]}: {money(v)}")
            for k, v in enumerate(row)
            if v is not None
        )
        lines.append(Line(name, COLOURS[i % len(COLOURS)], points))
    return Chart(
        WIDTH,
        HEIGHT,
        lines=tuple(lines),
        y_ticks=tuple(Tick(frame.y(t), money(t)) for t in ticks),
        x_ticks=tuple(Tick(frame.x(Decimal(k)), c) for k, c in enumerate(categories)),
        legend=legend([(line.name, line.colour) for line in lines]),
    )


def volume_chart(
    curves: Sequence[tuple[str, Sequence[tuple[int, Decimal | None]]]],
    crossings: Sequence[tuple[int, int, Decimal, str]],  # curve index, volume, value, label
    measured: int,
    target: tuple[Decimal, str] | None,
    money: Format,
    count: Format,
) -> Chart:
    """One line per scenario against monthly volume; ``crossings`` marked; a vertical guide
    at the measured volume and a horizontal one at ``target`` (the reference's revenue)."""
    values = [v for _, row in curves for _, v in row if v is not None]
    if target is not None:
        values.append(target[0])
    volumes = [v for _, row in curves for v, _ in row]
    if not values or not volumes:
        return Chart(WIDTH, HEIGHT)
    low, high, ticks = scale(min(values), max(values))
    x_high = Decimal(max(volumes))
    frame = Frame(Decimal(0), x_high, low, high)
    lines = []
    for i, (name, row) in enumerate(curves):
        points = tuple(
            (frame.x(Decimal(v)), frame.y(value), f"{name} {count(Decimal(v))}: {money(value)}")
            for v, value in row
            if value is not None
        )
        lines.append(Line(name, COLOURS[i % len(COLOURS)], points))
    marks = tuple(
        Mark(frame.x(Decimal(v)), frame.y(value), COLOURS[i % len(COLOURS)], label) for i, v, value, label in crossings
    )
    x_ticks_values = [x_high * k / 4 for k in range(5)]
    at = frame.x(Decimal(measured))
    guides = [(at, float(TOP), at, frame.y(low), count(Decimal(measured)))]
    if target is not None:
        guides.append((float(LEFT), frame.y(target[0]), float(WIDTH - RIGHT), frame.y(target[0]), target[1]))
    return Chart(
        WIDTH,
        HEIGHT,
        lines=tuple(lines),
        y_ticks=tuple(Tick(frame.y(t), money(t)) for t in ticks),
        x_ticks=tuple(Tick(frame.x(t), count(t)) for t in x_ticks_values),
        legend=legend([(line.name, line.colour) for line in lines]),
        marks=marks,
        guides=tuple(guides),
    )


def bar_chart(groups: Sequence[str], series: Sequence[tuple[str, Sequence[Decimal]]], money: Format) -> Chart:
    """Grouped bars: one group per category (level), one bar per series (scenario)."""
    if not groups or not series:
        return Chart(WIDTH, HEIGHT)
    top = max((v for _, row in series for v in row), default=Decimal(0))
    low, high, ticks = scale(Decimal(0), top)
    frame = Frame(Decimal(0), Decimal(1), low, high)
    group = frame.span_x / len(groups)
    width = group * 0.8 / len(series)
    bars = []
    for g, name in enumerate(groups):
        for i, (scenario, row) in enumerate(series):
            value = row[g]
            y = frame.y(value)
            bars.append(
                Bar(
                    LEFT + g * group + group * 0.1 + i * width,
                    y,
                    width,
                    frame.y(low) - y,
                    COLOURS[i % len(COLOURS)],
                    f"{scenario} {name}: {money(value)}",
                )
            )
    return Chart(
        WIDTH,
        HEIGHT,
        bars=tuple(bars),
        y_ticks=tuple(Tick(frame.y(t), money(t)) for t in ticks),
        x_ticks=tuple(Tick(LEFT + g * group + group / 2, name) for g, name in enumerate(groups)),
        legend=legend([(s, COLOURS[i % len(COLOURS)]) for i, (s, _) in enumerate(series)]),
    )
