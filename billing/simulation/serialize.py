"""A simulation as JSON: everything the report shows, amounts as strings with the currency's
minor units, codes as codes (the report turns them into words)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from billing.core.money import EXACT, format_decimal_string
from billing.rating.pricing.priced import text
from billing.simulation.results import (
    BreakEven,
    InvoiceCheck,
    MonthResult,
    ScenarioResult,
    SensitivityCase,
    SimulationResult,
    percent,
)


def simulation_json(result: SimulationResult) -> dict[str, Any]:
    mu = result.minor_units
    money = _money(mu)
    base = {s.name: s for s in result.scenarios}
    return {
        "kind": result.kind,
        "contract": result.contract,
        "currency": result.currency,
        "locale": result.locale,
        "tax": {"name": result.tax_name, "rate": text(result.tax_rate)},
        "from": str(result.periods[0]),
        "to": str(result.periods[-1]),
        "periods": [str(p) for p in result.periods],
        "left_out": [{"period": str(m.period), "reason": m.reason, "included": m.included} for m in result.left_out],
        "costs": result.costs_source,
        "origin": dict(result.origin),
        "months_without_hours": [str(p) for p in result.months_without_hours],
        "scenarios": [_scenario(s, result) for s in result.scenarios],
        "break_even": [_break_even(b, mu) for b in result.break_even],
        "sensitivity": [_case(c, base, mu) for c in result.sensitivity],
        "curves": {
            "measured_volume": result.measured_volume,
            "scenarios": [
                {
                    "name": curve.scenario,
                    "points": [
                        {"volume": p.volume, "revenue": money(p.revenue), "margin": money(p.margin)}
                        for p in curve.points
                    ],
                }
                for curve in result.curves
            ],
        },
        "invoices": [_invoice(i, mu) for i in result.invoices],
    }


def _money(minor_units: int) -> Any:
    def money(value: Decimal | None) -> str | None:
        return None if value is None else format_decimal_string(value, minor_units)

    return money


def _percent(value: Decimal | None) -> str | None:
    return None if value is None else format_decimal_string(value, 2)


def _per(amount: Decimal, units: int) -> str | None:
    return None if units == 0 else format_decimal_string(EXACT.divide(amount, Decimal(units)), 4)


def _scenario(s: ScenarioResult, result: SimulationResult) -> dict[str, Any]:
    money = _money(result.minor_units)
    reference = result.current
    flags = {m.period: m.reason for m in result.left_out if m.included}
    return {
        "name": s.name,
        "source": s.source,
        "months": [
            _month(m, r, flags.get(m.period), result.minor_units)
            for m, r in zip(s.months, reference.months, strict=True)
        ],
        "revenue": money(s.revenue),
        "tax": money(s.tax),
        "total": money(s.total),
        "revenue_difference": money(s.revenue - reference.revenue),
        "total_difference": money(s.total - reference.total),
        "cost": money(s.cost),
        "margin": money(s.margin),
        "margin_percent": _percent(s.margin_percent),
        "margin_difference": None
        if s.margin is None or reference.margin is None
        else money(s.margin - reference.margin),
        "client_per_resolution": _per(s.revenue, s.resolutions),
        "client_per_contact": _per(s.revenue, s.contacts),
        "resolutions": s.resolutions,
        "contacts": s.contacts,
        "credits": {k: money(v) for k, v in s.credits.items()},
        "credits_paid": money(s.credits_paid),
        "at_risk": money(s.at_risk),
    }


def _month(m: MonthResult, reference: MonthResult, flag: str | None, mu: int) -> dict[str, Any]:
    money = _money(mu)
    out: dict[str, Any] = {
        "period": str(m.period),
        "covered": m.invoice is not None,
        "flag": flag,
        "revenue": money(m.revenue),
        "tax": money(m.total - m.subtotal),
        "total": money(m.total),
        "revenue_difference": money(m.revenue - reference.revenue),
        "cost": money(m.cost_total),
        "margin": money(m.margin),
        "margin_percent": _percent(percent(m.margin, m.revenue)),
        "offered": m.offered,
        "contacts": m.contacts,
        "resolutions": m.resolutions,
        "credits": {k: money(v) for k, v in m.credits.items()},
        "at_risk": money(m.at_risk),
    }
    if m.cost is not None:
        out["cost_detail"] = {
            "agents": money(m.cost.agents),
            "ai_contacts": money(m.cost.ai_contacts),
            "ai_resolutions": money(m.cost.ai_resolutions),
            "fixed": money(m.cost.fixed),
            "productive_hours": format_decimal_string(m.cost.productive_hours, 2),
        }
    return out


def _break_even(b: BreakEven, mu: int) -> dict[str, Any]:
    money = _money(mu)
    volume = b.kind == "volume"

    def value(v: Decimal | None) -> str | None:
        if v is None:
            return None
        return str(int(v)) if volume else format_decimal_string(v, mu)

    return {
        "scenario": b.scenario,
        "kind": b.kind,
        "charge": b.charge,
        "model": b.model,
        "in_file": value(b.in_file) if volume else text(b.in_file),
        "value": value(b.value),
        "factor": None if b.factor is None else format_decimal_string(b.factor, 4),
        "revenue": money(b.revenue),
        "target": money(b.target),
        "difference": money(b.difference),
        "tiers": [
            {"up_to": None if t.up_to is None else text(t.up_to), "unit_price": format_decimal_string(t.unit_price, mu)}
            for t in b.tiers
        ],
        "note": b.note or None,
    }


def _case(case: SensitivityCase, base: dict[str, ScenarioResult], mu: int) -> dict[str, Any]:
    money = _money(mu)
    return {
        "kind": case.kind,
        "step": text(case.step) if case.step < 0 else f"+{text(case.step)}",
        "unit": "percent" if case.kind == "volume" else "points",
        "applicable": case.applicable,
        "revenue": {k: money(v) for k, v in case.revenue.items()},
        "revenue_change": {k: money(v - base[k].revenue) for k, v in case.revenue.items()},
        "margin": {k: money(v) for k, v in case.margin.items()},
    }


def _invoice(check: InvoiceCheck, mu: int) -> dict[str, Any]:
    money = _money(mu)
    return {
        "period": str(check.period),
        "number": check.number,
        "issued": {"subtotal": money(check.issued_subtotal), "total": money(check.issued_total)},
        "notes_total": money(check.notes_total),
        "steps": [{"cause": s.cause, "subtotal": money(s.subtotal), "total": money(s.total)} for s in check.steps],
        "simulated": {"subtotal": money(check.simulated_subtotal), "total": money(check.simulated_total)},
    }
