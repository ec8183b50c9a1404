"""Break-even prices: the unit price at which an alternative earns what the current terms
earned over the range. Pure."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from decimal import ROUND_CEILING, Decimal

from billing.contracts.terms import ContractTerms, Pricing, PricingModel, Tier, UsageCharge
from billing.core.money import EXACT
from billing.core.periods import Period
from billing.measurement.kpis import totals
from billing.simulation.replay import replay
from billing.simulation.results import ZERO, BreakEven, Scenario


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
