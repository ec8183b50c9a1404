"""Break-evens: where an alternative earns, before tax, what the reference terms earned over
the range. Pure.

For each alternative: the headline price of each usage charge (flat unit price, first tier,
package price; every other tier moves in the same proportion, each rounded to the minor unit),
the monthly rate of each FTE charge, and the monthly volume (contacts offered, the range's
average; every count scaled as in the volume sensitivity). Prices and rates are the smallest
whole number of minor units that reach the target; volume the smallest whole number of
contacts. Revenue never decreases as a price, rate or volume rises (credits are a fixed share
of the charges, a minimum only fills up to its floor, an excusal only removes credits), so a
binary search over the pure pricer finds each exactly.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from decimal import ROUND_HALF_UP, Decimal

from billing.contracts.terms import ContractTerms, FteCharge, Pricing, PricingModel, Tier, UsageCharge
from billing.core.money import EXACT, quantum
from billing.core.periods import Period
from billing.simulation.replay import replay
from billing.simulation.results import ZERO, BreakEven, Scenario
from billing.simulation.sensitivity import scale_volume

#: A volume break-even is looked for up to this many times the measured volume.
MAX_VOLUME_FACTOR = 10


def break_evens(scenario: Scenario, periods: Sequence[Period], target: Decimal) -> list[BreakEven]:
    terms = scenario.reference
    out = [price_break_even(scenario, c, periods, target) for c in terms.charges if isinstance(c, UsageCharge)]
    out += [rate_break_even(scenario, c, periods, target) for c in terms.charges if isinstance(c, FteCharge)]
    out.append(volume_break_even(scenario, periods, target))
    return out


def revenue_of(scenario: Scenario, periods: Sequence[Period]) -> Decimal:
    return replay(scenario, periods).revenue


def headline_price(pricing: Pricing) -> Decimal:
    if pricing.model is PricingModel.FLAT:
        assert pricing.unit_price is not None
        return pricing.unit_price
    if pricing.model is PricingModel.PACKAGE:
        assert pricing.package_price is not None
        return pricing.package_price
    return pricing.tiers[0].unit_price


def priced_at(pricing: Pricing, price: Decimal, minor_units: int) -> Pricing:
    """``pricing`` with its headline price set to ``price``; other tiers in proportion, each
    rounded half-up to the minor unit."""
    if pricing.model is PricingModel.FLAT:
        return dataclasses.replace(pricing, unit_price=price)
    if pricing.model is PricingModel.PACKAGE:
        return dataclasses.replace(pricing, package_price=price)
    first = pricing.tiers[0].unit_price
    step = quantum(minor_units)
    tiers = [Tier(pricing.tiers[0].up_to, price)]
    for tier in pricing.tiers[1:]:
        scaled = EXACT.divide(EXACT.multiply(tier.unit_price, price), first) if first else price
        tiers.append(Tier(tier.up_to, scaled.quantize(step, rounding=ROUND_HALF_UP, context=EXACT)))
    return dataclasses.replace(pricing, tiers=tuple(tiers))


def _change_charges(scenario: Scenario, change: Callable[[ContractTerms], ContractTerms]) -> Scenario:
    return scenario.with_terms({p: change(t) for p, t in scenario.terms.items()})


def with_price(scenario: Scenario, charge_id: str, price: Decimal) -> Scenario:
    minor = scenario.reference.currency.minor_units

    def change(terms: ContractTerms) -> ContractTerms:
        charges = tuple(
            dataclasses.replace(c, pricing=priced_at(c.pricing, price, minor))
            if isinstance(c, UsageCharge) and c.id == charge_id
            else c
            for c in terms.charges
        )
        return dataclasses.replace(terms, charges=charges)

    return _change_charges(scenario, change)


def with_rate(scenario: Scenario, charge_id: str, rate: Decimal) -> Scenario:
    def change(terms: ContractTerms) -> ContractTerms:
        charges = tuple(
            dataclasses.replace(c, rate=rate) if isinstance(c, FteCharge) and c.id == charge_id else c
            for c in terms.charges
        )
        return dataclasses.replace(terms, charges=charges)

    return _change_charges(scenario, change)


def with_volume(scenario: Scenario, periods: Sequence[Period], volume: int) -> Scenario:
    measured = monthly_volume(scenario, periods)
    if measured == 0:
        return scenario
    return scenario.with_outcomes(scale_volume(scenario.outcomes, EXACT.divide(Decimal(volume), Decimal(measured))))


def monthly_volume(scenario: Scenario, periods: Sequence[Period]) -> int:
    """Contacts offered a month over ``periods``, the average rounded half-up."""
    if not periods:
        return 0
    offered = sum(sum(c.offered for c in scenario.outcomes[p].cells) for p in periods)
    return int((Decimal(offered) / len(periods)).to_integral_value(rounding=ROUND_HALF_UP))


def _smallest(reaches: Callable[[int], bool], start: int) -> int | None:
    """The smallest n >= 0 with ``reaches(n)``, ``reaches`` never going from true to false;
    None when it is still false after doubling from ``start`` 64 times."""
    if reaches(0):
        return 0
    high = max(1, start)
    for _ in range(64):
        if reaches(high):
            break
        high *= 2
    else:
        return None
    low = 0
    while high - low > 1:
        middle = (low + high) // 2
        if reaches(middle):
            high = middle
        else:
            low = middle
    return high


def price_break_even(scenario: Scenario, charge: UsageCharge, periods: Sequence[Period], target: Decimal) -> BreakEven:
    minor = scenario.reference.currency.minor_units
    step = quantum(minor)
    in_file = headline_price(charge.pricing)

    def revenue_at(n: int) -> Decimal:
        return revenue_of(with_price(scenario, charge.id, n * step), periods)

    found = _smallest(lambda n: revenue_at(n) >= target, int(in_file / step))
    model = charge.pricing.model.value
    if found is None:
        return BreakEven(scenario.name, "price", charge.id, model, in_file, None, None, target, note="unreachable")
    price = found * step
    tiers = priced_at(charge.pricing, price, minor).tiers
    note = "already_above" if found == 0 else ""
    return BreakEven(scenario.name, "price", charge.id, model, in_file, price, revenue_at(found), target, tiers, note)


def rate_break_even(scenario: Scenario, charge: FteCharge, periods: Sequence[Period], target: Decimal) -> BreakEven:
    step = quantum(scenario.reference.currency.minor_units)

    def revenue_at(n: int) -> Decimal:
        return revenue_of(with_rate(scenario, charge.id, n * step), periods)

    found = _smallest(lambda n: revenue_at(n) >= target, int(charge.rate / step))
    if found is None:
        return BreakEven(scenario.name, "fte_rate", charge.id, None, charge.rate, None, None, target, (), "unreachable")
    note = "already_above" if found == 0 else ""
    return BreakEven(
        scenario.name, "fte_rate", charge.id, None, charge.rate, found * step, revenue_at(found), target, note=note
    )


def volume_break_even(scenario: Scenario, periods: Sequence[Period], target: Decimal) -> BreakEven:
    """The crossing nearest the measured volume: when the alternative earns less than the
    target there, the smallest volume above it that earns the target; when it earns at least
    the target, the smallest volume below it down to which it still does. (Far from the
    measured volume revenue need not rise with volume: at next to no volume no service level
    is assessed and no credit is paid.)"""
    measured = monthly_volume(scenario, periods)
    if measured == 0:
        return BreakEven(scenario.name, "volume", None, None, ZERO, None, None, target, note="no_units")

    def revenue_at(volume: int) -> Decimal:
        return revenue_of(with_volume(scenario, periods, volume), periods)

    if revenue_at(measured) >= target:
        low, high = 0, measured  # high reaches the target; low is taken as not reaching it
        note = "above_at_measured"
    else:
        low, high = measured, 2 * measured
        while revenue_at(high) < target:
            if high >= MAX_VOLUME_FACTOR * measured:
                return BreakEven(
                    scenario.name, "volume", None, None, Decimal(measured), None, None, target, (), "unreachable"
                )
            low, high = high, min(2 * high, MAX_VOLUME_FACTOR * measured)
        note = ""
    while high - low > 1:
        middle = (low + high) // 2
        if revenue_at(middle) >= target:
            high = middle
        else:
            low = middle
    return BreakEven(
        scenario.name, "volume", None, None, Decimal(measured), Decimal(high), revenue_at(high), target, (), note
    )
