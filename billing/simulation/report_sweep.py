"""The report's sections that ``--sweep`` computes: break-evens with the tiers that move stated
in words, the four sensitivity cases, and revenue (and margin) against volume with the
break-evens marked. Views only: formatted text and chart geometry."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from billing.contracts.terms import Tier
from billing.presentation.formatting import Formatter
from billing.simulation.amounts import Money
from billing.simulation.charts import Chart, volume_chart
from billing.simulation.results import BreakEven, SimulationResult


def sections(result: SimulationResult, names: list[str], fmt: Formatter, money: Money) -> dict[str, Any]:
    if not (result.break_even or result.sensitivity or result.curves):
        return {"sweep": False}
    display = dict(zip((s.name for s in result.scenarios), names, strict=True))
    return {
        "sweep": True,
        "break_even": [_break_even(b, display, fmt, money) for b in result.break_even],
        "sensitivity": _sensitivity(result, display, fmt, money),
        "volume_chart": _volume(result, display, fmt, money, margin=False),
        "margin_chart": _volume(result, display, fmt, money, margin=True) if result.has_costs else None,
    }


def _break_even(b: BreakEven, display: dict[str, str], fmt: Formatter, money: Money) -> dict[str, str]:
    if b.kind == "volume":
        what = fmt._("Contacts offered a month")
        in_file = money.count(b.in_file)
        value = "—" if b.value is None else money.count(b.value)
        moves = fmt._("Every count scales with the volume; prices and rates stay.")
    elif b.kind == "fte_rate":
        what = fmt._("FTE rate: {charge}").format(charge=b.charge)
        in_file, value = money(b.in_file), money(b.value)
        moves = fmt._("The monthly rate per FTE moves; the headcount and the other charges stay.")
    else:
        what = fmt._("Unit price: {charge}").format(charge=b.charge)
        in_file = f"{fmt.price(b.in_file)} {money.currency}"
        value = "—" if b.value is None else f"{fmt.price(b.value)} {money.currency}"
        moves = _tier_words(b, fmt)
    change = "—"
    if b.factor is not None:
        change = f"{'+' if b.factor > 1 else ''}{fmt.number((b.factor - 1) * 100, 1)} %"
    if b.note:
        moves = fmt.label(b.note) + ". " + moves
    return {
        "scenario": display[b.scenario],
        "what": what,
        "in_file": in_file,
        "value": value,
        "change": change,
        "revenue": money(b.revenue),
        "moves": moves,
    }


def _tier_words(b: BreakEven, fmt: Formatter) -> str:
    if b.model == "flat":
        return fmt._("The unit price alone moves; the other charges stay.")
    if b.model == "package":
        return fmt._("The package price alone moves; the other charges stay.")
    tiers = _tiers(b.tiers, fmt)
    if b.model == "volume":
        return fmt._(
            "Every tier moves in proportion, each price rounded to the minor unit; the whole quantity is "
            "priced at the tier it reaches: {tiers}."
        ).format(tiers=tiers)
    return fmt._(
        "Every tier moves in proportion, each price rounded to the minor unit; "
        "each unit is priced in its band: {tiers}."
    ).format(tiers=tiers)


def _tiers(tiers: tuple[Tier, ...], fmt: Formatter) -> str:
    out = []
    low: Decimal | None = None
    for tier in tiers:
        price = fmt.price(tier.unit_price)
        if tier.up_to is None:
            out.append(fmt._("above {low} at {price}").format(low=fmt.number(low or 0), price=price))
        elif low is None:
            out.append(fmt._("up to {limit} at {price}").format(limit=fmt.number(tier.up_to), price=price))
        else:
            out.append(
                fmt._("from {low} to {limit} at {price}").format(
                    low=fmt.number(low), limit=fmt.number(tier.up_to), price=price
                )
            )
        low = tier.up_to
    return "; ".join(out)


def _sensitivity(result: SimulationResult, display: dict[str, str], fmt: Formatter, money: Money) -> list[Any]:
    base = {s.name: s for s in result.scenarios}
    rows: list[dict[str, Any]] = []
    for case in result.sensitivity:
        step = f"{'+' if case.step > 0 else '−'}{fmt.number(abs(case.step))}"
        if case.kind == "volume":
            label = fmt._("{case} {step} %").format(case=fmt.label(case.kind), step=step)
        else:
            label = fmt._("{case} {step} points").format(case=fmt.label(case.kind), step=step)
        if not case.applicable:
            rows.append({"label": label, "cells": None, "note": fmt._("Not applicable: no contact to move.")})
            continue
        cells: list[dict[str, str | None]] = []
        for name, scenario in base.items():
            revenue = case.revenue[name]
            margin = case.margin.get(name)
            cells.append(
                {
                    "revenue": money(revenue),
                    "change": money.signed(revenue - scenario.revenue),
                    "margin": None if margin is None else money(margin),
                }
            )
        rows.append({"label": label, "cells": cells, "note": ""})
    return rows


def _volume(result: SimulationResult, display: dict[str, str], fmt: Formatter, money: Money, margin: bool) -> Chart:
    curves = []
    for curve in result.curves:
        points = [(p.volume, p.margin if margin else p.revenue) for p in curve.points]
        curves.append((display[curve.scenario], points))
    index = {s.name: i for i, s in enumerate(result.scenarios)}
    crossings = []
    for b in result.break_even:
        if b.kind != "volume" or b.value is None:
            continue
        curve = result.curves[index[b.scenario]]
        point = next((p for p in curve.points if p.volume == int(b.value)), None)
        value = (point.margin if margin else point.revenue) if point else None
        if value is not None:
            label = fmt._("break-even {volume}").format(volume=money.count(b.value))
            crossings.append((index[b.scenario], int(b.value), value, label))
    target = None if margin else (result.current.revenue, fmt._("reference revenue"))
    return volume_chart(curves, crossings, result.measured_volume, target, money.axis, money.count)
