"""The simulation as a self-contained HTML page in the reader's language: tables and inline
SVG charts, no script, no CDN, no network (one file to attach to an e-mail).

``report_html(result, locale)`` is the whole rendering: a command writes it to a file, and a
console page can return it as it is. Words go through the gettext catalogs, amounts and
numbers through the ``Formatter``; every amount says whether it is before or after tax. The
break-even, sensitivity and volume sections are ``billing.simulation.report_sweep``.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from billing.presentation.formatting import Formatter
from billing.simulation import report_sweep
from billing.simulation.amounts import Money, pct
from billing.simulation.charts import bar_chart, series_chart
from billing.simulation.results import ScenarioResult, SimulationResult

CURRENT = "current"


def report_html(result: SimulationResult, locale: str, generated_at: str = "") -> str:
    from billing.presentation.templating import environment

    fmt = Formatter.for_locale(locale)
    view = build_view(result, fmt)
    template = environment(fmt.language).get_template("simulation.html")
    return template.render(v=view, fmt=fmt, generated_at=generated_at)


def scenario_name(result: SimulationResult, name: str, fmt: Formatter) -> str:
    if result.kind == "contract" and name == CURRENT:
        return fmt._("Current terms")
    return name


def build_view(result: SimulationResult, fmt: Formatter) -> dict[str, Any]:
    money = Money(fmt, result.currency, result.minor_units)
    names = [scenario_name(result, s.name, fmt) for s in result.scenarios]
    if result.kind == "prospect":
        title = fmt._("Pricing a prospect: {name}").format(name=result.contract)
    else:
        title = fmt._("Pricing workbench: {name}").format(name=result.contract)
    tax = (
        fmt._("Tax: {name} {rate} %.").format(name=result.tax_name, rate=fmt.number(result.tax_rate))
        if result.tax_name
        else fmt._("No tax applies.")
    )
    return {
        "language": fmt.language,
        "title": title,
        "range": fmt._("{first} to {last}").format(
            first=fmt.month(result.periods[0]), last=fmt.month(result.periods[-1])
        ),
        "basis": fmt._(
            "Amounts in {currency}, before tax unless marked after tax. Revenue is what the provider "
            "invoices before tax; margin is revenue less cost."
        ).format(currency=result.currency)
        + " "
        + tax,
        "origin": _origin(result, fmt),
        "names": names,
        "left_out": _left_out(result, fmt),
        "summary": _summary(result, fmt, money),
        "monthly": _monthly(result, fmt, money),
        "monthly_chart": series_chart(
            [fmt.short_month(p) for p in result.periods],
            [
                (n, [m.revenue if m.invoice else None for m in s.months])
                for n, s in zip(names, result.scenarios, strict=True)
            ],
            money.axis,
        ),
        "credits_chart": _credits_chart(result, names, money),
        "invoices": _invoices(result, fmt, money),
        "costs": _costs_note(result, fmt),
        **report_sweep.sections(result, names, fmt, money),
    }


def _origin(result: SimulationResult, fmt: Formatter) -> str:
    if result.kind == "prospect":
        return fmt._(
            "No history: {months} months generated from the profile {profile} with seed {seed}; "
            "the first set of terms is the reference."
        ).format(**{**result.origin, "profile": Path(result.origin.get("profile", "-")).name})
    return fmt._("Every scenario prices the same measured months; the first is the contract's current terms.")


def _left_out(result: SimulationResult, fmt: Formatter) -> list[str]:
    out = []
    for item in result.left_out:
        reason = fmt.label(item.reason)
        if item.included:
            out.append(fmt._("{month}: {reason}; priced all the same and flagged.").format(
                month=fmt.month(item.period), reason=reason))  # fmt: skip
        else:
            out.append(fmt._("{month}: {reason}; left out of every total.").format(
                month=fmt.month(item.period), reason=reason))  # fmt: skip
    return out


def _summary(result: SimulationResult, fmt: Formatter, money: Money) -> list[dict[str, Any]]:
    scenarios = result.scenarios
    current = result.current
    rows: list[tuple[str, list[str]]] = [
        (fmt._("Revenue (before tax)"), [money(s.revenue) for s in scenarios]),
        (fmt._("Total invoiced (after tax)"), [money(s.total) for s in scenarios]),
        (fmt._("Against the reference (before tax)"), [money.signed(s.revenue - current.revenue) for s in scenarios]),
    ]
    if result.has_costs:
        rows += [
            (fmt._("Cost"), [money(s.cost) for s in scenarios]),
            (fmt._("Margin"), [money(s.margin) for s in scenarios]),
            (fmt._("Margin %"), [pct(fmt, s.margin_percent) for s in scenarios]),
        ]
    rows += [
        (fmt._("Margin at risk: credits paid"), [money(s.credits_paid) for s in scenarios]),
        (fmt._("Most credits could have cost (at risk)"), [money(s.at_risk) for s in scenarios]),
        (fmt._("Client cost per resolution (before tax)"), [_per(fmt, money, s, s.resolutions) for s in scenarios]),
        (fmt._("Client cost per contact (before tax)"), [_per(fmt, money, s, s.contacts) for s in scenarios]),
    ]
    return [{"label": label, "cells": cells} for label, cells in rows]


def _per(fmt: Formatter, money: Money, s: ScenarioResult, units: int) -> str:
    if units == 0:
        return "—"
    return f"{fmt.number(s.revenue / units, 4)} {money.currency}"


def _monthly(result: SimulationResult, fmt: Formatter, money: Money) -> list[dict[str, Any]]:
    flags = {m.period: fmt.label(m.reason) for m in result.left_out if m.included}
    rows = []
    for index, period in enumerate(result.periods):
        cells = []
        for scenario in result.scenarios:
            month = scenario.months[index]
            if month.invoice is None:
                cells.append({"revenue": fmt._("not covered"), "margin": ""})
                continue
            text = money(month.revenue)
            if month.margin is not None:
                cells.append({"revenue": text, "margin": fmt._("margin {amount}").format(amount=money(month.margin))})
                continue
            cells.append({"revenue": text, "margin": ""})
        cost = result.current.months[index].cost
        rows.append(
            {
                "month": fmt.month(period),
                "flag": flags.get(period, ""),
                "cells": cells,
                "cost": money(cost.total) if cost else "",
            }
        )
    return rows


def _credits_chart(result: SimulationResult, names: list[str], money: Money) -> Any:
    levels = list(dict.fromkeys(level for s in result.scenarios for level in s.credits))
    series = [
        (n, [-s.credits.get(level, Decimal(0)) for level in levels])
        for n, s in zip(names, result.scenarios, strict=True)
    ]
    return bar_chart(levels, series, money.axis)


def _invoices(result: SimulationResult, fmt: Formatter, money: Money) -> list[dict[str, Any]]:
    out = []
    for check in result.invoices:
        steps = [
            {"label": fmt.label(s.cause), "subtotal": money.signed(s.subtotal), "total": money.signed(s.total)}
            for s in check.steps
        ]
        out.append(
            {
                "title": fmt._("{month}: invoice {number}").format(month=fmt.month(check.period), number=check.number),
                "issued": (money(check.issued_subtotal), money(check.issued_total)),
                "steps": steps,
                "simulated": (money(check.simulated_subtotal), money(check.simulated_total)),
                "notes": money.signed(check.notes_total) if check.notes_total else "",
                "same": not steps,
            }
        )
    return out


def _costs_note(result: SimulationResult, fmt: Formatter) -> str:
    if not result.has_costs:
        return fmt._("No costs file was given: revenue only, no margins (--costs).")
    text = fmt._("Costs from {file}: the same operation costs the same under every scenario.").format(
        file=Path(result.costs_source or "-").name
    )
    missing = result.months_without_hours
    if missing:
        text += " " + fmt._("No productive hours were measured in {months}: no agent cost there.").format(
            months=", ".join(fmt.month(p) for p in missing)
        )
    return text


__all__ = ["Money", "build_view", "pct", "report_html"]
