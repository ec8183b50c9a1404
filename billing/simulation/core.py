"""Pricing simulation: replay measured months under other terms. Pure.

Measure once, price many times: the service measures each month once (per resolution rule)
and hands the outcomes here; every scenario, every break-even probe and every sensitivity
case is pure re-rating of those same outcomes with ``billing.rating.engine.rate``.

A scenario is the terms in force for each period: the contract's own versions for the
``current`` scenario (amendments included, so it equals what ``rate_contract`` gives), one
alternative file's terms for every period otherwise.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal
from typing import Any

from billing.contracts.terms import ContractTerms, Pricing, PricingModel, Tier, UsageCharge
from billing.core.money import EXACT, format_decimal_string
from billing.core.periods import Period
from billing.measurement.kpis import OutcomeCell, PeriodOutcomes, totals
from billing.rating.engine import PeriodFacts, rate
from billing.rating.lines import LineType, RatedInvoice
from billing.rating.pricing.priced import text

ZERO = Decimal(0)


@dataclass(frozen=True)
class Scenario:
    """One pricing to replay: ``terms`` gives the terms governing each period (history
    periods included); ``outcomes`` are the measured months under its resolution rule."""

    name: str
    source: str
    terms: Mapping[Period, ContractTerms]
    outcomes: Mapping[Period, PeriodOutcomes]

    def with_terms(self, terms: Mapping[Period, ContractTerms]) -> Scenario:
        return dataclasses.replace(self, terms=terms)

    def with_outcomes(self, outcomes: Mapping[Period, PeriodOutcomes]) -> Scenario:
        return dataclasses.replace(self, outcomes=outcomes)


@dataclass(frozen=True)
class MonthResult:
    period: Period
    invoice: RatedInvoice | None  # None: the scenario's terms do not cover the month
    resolutions: int
    contacts: int

    @property
    def total(self) -> Decimal:
        return self.invoice.total if self.invoice else ZERO

    @property
    def subtotal(self) -> Decimal:
        return self.invoice.subtotal if self.invoice else ZERO

    @property
    def credits(self) -> dict[str, Decimal]:
        """Service credits per level (negative amounts), as the invoice applies them."""
        out: dict[str, Decimal] = {}
        for line in self.invoice.lines if self.invoice else ():
            if line.type is LineType.SERVICE_CREDIT:
                out[line.charge] = out.get(line.charge, ZERO) + line.amount
        return out


@dataclass(frozen=True)
class ScenarioResult:
    name: str
    source: str
    currency: str
    minor_units: int
    months: tuple[MonthResult, ...]

    @property
    def total(self) -> Decimal:
        return sum((m.total for m in self.months), ZERO)

    @property
    def subtotal(self) -> Decimal:
        return sum((m.subtotal for m in self.months), ZERO)

    @property
    def credits(self) -> dict[str, Decimal]:
        out: dict[str, Decimal] = {}
        for month in self.months:
            for level, amount in month.credits.items():
                out[level] = out.get(level, ZERO) + amount
        return out


@dataclass(frozen=True)
class BreakEven:
    scenario: str
    charge: str
    model: str
    current_price: Decimal  # the headline price in the alternative (flat unit, first tier, package)
    price: Decimal | None  # the headline price that earns what the current terms earned
    factor: Decimal | None  # price / current_price: every tier scales by it
    total: Decimal | None  # the scenario total at that price
    difference: Decimal | None  # total - current total (>= 0, below one step of the price)
    note: str = ""


@dataclass(frozen=True)
class SensitivityCase:
    name: str  # "volume -10%", "resolutions +10%"
    totals: dict[str, Decimal]  # scenario -> total


@dataclass(frozen=True)
class SimulationResult:
    contract: str
    currency: str
    minor_units: int
    periods: tuple[Period, ...]
    scenarios: tuple[ScenarioResult, ...]  # the first is the current terms
    break_even: tuple[BreakEven, ...] = ()
    sensitivity: tuple[SensitivityCase, ...] = ()
    sensitivity_percent: Decimal | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def current(self) -> ScenarioResult:
        return self.scenarios[0]

    def as_json(self) -> dict[str, Any]:
        mu = self.minor_units
        current = self.current
        scenarios = []
        for scenario in self.scenarios:
            months = []
            for month, base in zip(scenario.months, current.months, strict=True):
                months.append(
                    {
                        "period": str(month.period),
                        "covered": month.invoice is not None,
                        "subtotal": _money(month.subtotal, mu),
                        "total": _money(month.total, mu),
                        "difference": _money(month.total - base.total, mu),
                        "resolutions": month.resolutions,
                        "contacts": month.contacts,
                        "price_per_resolution": _price(month.subtotal, month.resolutions),
                        "price_per_contact": _price(month.subtotal, month.contacts),
                        "credits": {k: _money(v, mu) for k, v in month.credits.items()},
                    }
                )
            resolutions = sum(m.resolutions for m in scenario.months if m.invoice)
            contacts = sum(m.contacts for m in scenario.months if m.invoice)
            scenarios.append(
                {
                    "name": scenario.name,
                    "source": scenario.source,
                    "months": months,
                    "subtotal": _money(scenario.subtotal, mu),
                    "total": _money(scenario.total, mu),
                    "difference": _money(scenario.total - current.total, mu),
                    "price_per_resolution": _price(scenario.subtotal, resolutions),
                    "price_per_contact": _price(scenario.subtotal, contacts),
                    "credits": {k: _money(v, mu) for k, v in scenario.credits.items()},
                }
            )
        return {
            "contract": self.contract,
            "currency": self.currency,
            "from": str(self.periods[0]),
            "to": str(self.periods[-1]),
            "periods": [str(p) for p in self.periods],
            "scenarios": scenarios,
            "break_even": [
                {
                    "scenario": b.scenario,
                    "charge": b.charge,
                    "model": b.model,
                    "current_price": text(b.current_price),
                    "price": text(b.price),
                    "factor": None if b.factor is None else format_decimal_string(b.factor, 6),
                    "total": None if b.total is None else _money(b.total, mu),
                    "difference": None if b.difference is None else _money(b.difference, mu),
                    "note": b.note,
                }
                for b in self.break_even
            ],
            "sensitivity": {
                "percent": text(self.sensitivity_percent),
                "cases": [
                    {
                        "case": case.name,
                        "totals": {k: _money(v, mu) for k, v in case.totals.items()},
                        "differences": {k: _money(v - case.totals[current.name], mu) for k, v in case.totals.items()},
                    }
                    for case in self.sensitivity
                ],
            },
            "notes": list(self.notes),
        }


# -- replay ------------------------------------------------------------------------------------


def replay(scenario: Scenario, periods: Sequence[Period]) -> ScenarioResult:
    """Rate every period of the range under the scenario's terms."""
    months = []
    reference = next(iter(scenario.terms.values()))
    for period in periods:
        terms = scenario.terms.get(period, reference)
        outcomes = scenario.outcomes[period]
        whole = totals(outcomes)
        invoice = None
        if terms.is_active(period):
            history = {
                p: PeriodFacts(scenario.terms.get(p, terms), o)
                for p, o in scenario.outcomes.items()
                if p <= period and scenario.terms.get(p, terms).is_active(p)
            }
            invoice = rate(period, history)
        months.append(MonthResult(period, invoice, whole.resolutions, whole.answered))
    return ScenarioResult(
        scenario.name,
        scenario.source,
        reference.currency.code,
        reference.currency.minor_units,
        tuple(months),
    )


def simulate(
    contract: str,
    scenarios: Sequence[Scenario],
    periods: Sequence[Period],
    sweep: bool = False,
    sensitivity_percent: Decimal | None = None,
) -> SimulationResult:
    """Every scenario over the range; with ``sweep``, the break-even price of each usage charge of
    each alternative; with ``sensitivity_percent``, every scenario again with the measured
    volume, then the resolutions, moved down and up by that percentage."""
    results = tuple(replay(s, periods) for s in scenarios)
    current = results[0]
    break_even: list[BreakEven] = []
    if sweep:
        for scenario in scenarios[1:]:
            break_even.extend(break_even_prices(scenario, periods, current.total))
    cases: list[SensitivityCase] = []
    if sensitivity_percent is not None:
        for kind in ("volume", "resolutions"):
            for sign in (-1, 1):
                factor = 1 + sign * sensitivity_percent / 100
                name = f"{kind} {'+' if sign > 0 else '-'}{text(sensitivity_percent)}%"
                case_totals = {
                    s.name: replay(s.with_outcomes(scale_outcomes(s.outcomes, kind, factor)), periods).total
                    for s in scenarios
                }
                cases.append(SensitivityCase(name, case_totals))
    return SimulationResult(
        contract,
        current.currency,
        current.minor_units,
        tuple(periods),
        results,
        tuple(break_even),
        tuple(cases),
        sensitivity_percent,
    )


# -- break-even --------------------------------------------------------------------------------


def usage_charges(scenario: Scenario) -> list[UsageCharge]:
    terms = next(iter(scenario.terms.values()))
    return [c for c in terms.charges if isinstance(c, UsageCharge)]


def headline_price(pricing: Pricing) -> Decimal:
    if pricing.model is PricingModel.FLAT:
        assert pricing.unit_price is not None
        return pricing.unit_price
    if pricing.model is PricingModel.PACKAGE:
        assert pricing.package_price is not None
        return pricing.package_price
    return pricing.tiers[0].unit_price


def priced_at(pricing: Pricing, price: Decimal) -> Pricing:
    """``pricing`` with its headline price set to ``price`` (tiers scale in proportion)."""
    if pricing.model is PricingModel.FLAT:
        return dataclasses.replace(pricing, unit_price=price)
    if pricing.model is PricingModel.PACKAGE:
        return dataclasses.replace(pricing, package_price=price)
    first = pricing.tiers[0].unit_price
    factor = EXACT.divide(price, first) if first else Decimal(1)
    tiers = tuple(Tier(t.up_to, EXACT.multiply(t.unit_price, factor)) for t in pricing.tiers)
    return dataclasses.replace(pricing, tiers=tiers)


def with_price(scenario: Scenario, charge_id: str, price: Decimal) -> Scenario:
    def change(terms: ContractTerms) -> ContractTerms:
        charges = tuple(
            dataclasses.replace(c, pricing=priced_at(c.pricing, price))
            if isinstance(c, UsageCharge) and c.id == charge_id
            else c
            for c in terms.charges
        )
        return dataclasses.replace(terms, charges=charges)

    return scenario.with_terms({p: change(t) for p, t in scenario.terms.items()})


def break_even_prices(scenario: Scenario, periods: Sequence[Period], target: Decimal) -> list[BreakEven]:
    return [break_even_price(scenario, charge, periods, target) for charge in usage_charges(scenario)]


def break_even_price(scenario: Scenario, charge: UsageCharge, periods: Sequence[Period], target: Decimal) -> BreakEven:
    """The smallest headline price (on a grid fine enough that one step moves the range's total
    by less than a minor unit) at which the scenario earns at least ``target``.

    The total never decreases as the price rises (credits are a fixed share of the charges, a
    minimum true-up only fills up to its floor), so a binary search over the pure pricer finds
    it exactly on that grid."""
    current = headline_price(charge.pricing)

    def total_at(price: Decimal) -> Decimal:
        return replay(with_price(scenario, charge.id, price), periods).total

    minor_units = next(iter(scenario.terms.values())).currency.minor_units
    units = _max_units(scenario, charge, periods, current)
    # one grid step x units x (1 + tax) must stay below a minor unit
    places = minor_units + 2 + max(0, math.ceil(math.log10(float(units) + 1)))
    step = Decimal(1).scaleb(-places)

    def result(price: Decimal | None, note: str = "") -> BreakEven:
        if price is None:
            return BreakEven(
                scenario.name, charge.id, charge.pricing.model.value, current, None, None, None, None, note
            )
        total = total_at(price)
        factor = EXACT.divide(price, current) if current else None
        return BreakEven(
            scenario.name, charge.id, charge.pricing.model.value, current, price, factor, total, total - target, note
        )

    if total_at(ZERO) >= target:
        return result(ZERO, "the other charges alone earn at least the current total")
    high = max(current, Decimal(1))
    for _ in range(64):
        if total_at(high) >= target:
            break
        high *= 2
    else:
        return result(None, "no price reaches the current total (the charge is capped or has no units)")
    low_n, high_n = 0, int((high / step).to_integral_value(rounding=ROUND_CEILING))
    while high_n - low_n > 1:
        middle = (low_n + high_n) // 2
        if total_at(middle * step) >= target:
            high_n = middle
        else:
            low_n = middle
    return result((high_n * step).normalize())


def _max_units(scenario: Scenario, charge: UsageCharge, periods: Sequence[Period], price: Decimal) -> Decimal:
    """The units priced over the range (packages for package pricing): what one step of the
    price is multiplied by."""
    from billing.measurement.kpis import usage_quantity

    quantity = sum((usage_quantity(totals(scenario.outcomes[p], charge.filter), charge.metric) for p in periods), ZERO)
    if charge.pricing.model is PricingModel.PACKAGE and charge.pricing.package_size:
        return EXACT.divide(quantity, charge.pricing.package_size) + len(periods)
    return quantity


# -- sensitivity -------------------------------------------------------------------------------

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


def scale_outcomes(
    outcomes: Mapping[Period, PeriodOutcomes], kind: str, factor: Decimal
) -> dict[Period, PeriodOutcomes]:
    """The measured months with the volume (every count and sum) or only the resolutions scaled
    by ``factor``, each figure rounded half-up to a whole count. Rates and averages stay as they
    were for volume; for resolutions, the FCR moves with them (capped at the answered)."""
    return {
        p: dataclasses.replace(o, cells=tuple(_scale_cell(c, kind, factor) for c in o.cells))
        for p, o in outcomes.items()
    }


def _scale_cell(cell: OutcomeCell, kind: str, factor: Decimal) -> OutcomeCell:
    if kind == "resolutions":
        return dataclasses.replace(cell, resolutions=min(cell.answered, _scaled(cell.resolutions, factor)))
    changes: dict[str, Any] = {name: _scaled(getattr(cell, name), factor) for name in _VOLUME_FIELDS}
    changes["answered_within"] = tuple(_scaled(v, factor) for v in cell.answered_within)
    changes["abandoned_within"] = tuple(_scaled(v, factor) for v in cell.abandoned_within)
    changes["qa_sum"] = EXACT.multiply(cell.qa_sum, factor)
    scaled = dataclasses.replace(cell, **changes)
    return dataclasses.replace(scaled, resolutions=min(scaled.answered, scaled.resolutions))


def _scaled(value: int, factor: Decimal) -> int:
    return int(EXACT.multiply(Decimal(value), factor).to_integral_value(rounding=ROUND_HALF_UP))


def _money(value: Decimal, minor_units: int) -> str:
    return format_decimal_string(value, minor_units)


def _price(amount: Decimal, units: int) -> str | None:
    return None if units == 0 else format_decimal_string(EXACT.divide(amount, Decimal(units)), 4)
