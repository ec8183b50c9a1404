"""Usage pricing: one small module per model, all with the same pure signature
``price(pricing, quantity) -> Priced``, dispatched by an explicit registry.

``price_usage`` is what rating calls: it takes the measured quantity, subtracts the free
``included`` units, prices the rest with the contract's model, and applies the
``maximum_amount`` cap. The ``minimum_amount`` true-up is a line of its own, made by rating
after rounding (so the charge and its true-up add up to the minimum exactly).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from types import MappingProxyType

from billing.contracts.terms import Pricing, PricingModel
from billing.rating.pricing import flat, graduated, package, volume
from billing.rating.pricing.priced import Priced, text

PriceFunction = Callable[[Pricing, Decimal], Priced]

REGISTRY: MappingProxyType[PricingModel, PriceFunction] = MappingProxyType(
    {
        PricingModel.FLAT: flat.price,
        PricingModel.GRADUATED: graduated.price,
        PricingModel.VOLUME: volume.price,
        PricingModel.PACKAGE: package.price,
    }
)

__all__ = ["REGISTRY", "Priced", "price", "price_usage", "pricing_function"]


def pricing_function(model: PricingModel | str) -> PriceFunction:
    """The price function of a model; an unknown model is refused (the contract parser refuses
    it first, at load time, so this only fires on a programming error)."""
    try:
        return REGISTRY[PricingModel(model)]
    except (KeyError, ValueError):
        raise ValueError(f"unknown pricing model {model!r}; known: {', '.join(m.value for m in REGISTRY)}") from None


def price(pricing: Pricing, quantity: Decimal) -> Priced:
    """Price ``quantity`` billable units with the model of ``pricing``."""
    if quantity < 0:
        raise ValueError(f"a quantity cannot be negative: {quantity}")
    return pricing_function(pricing.model)(pricing, quantity)


def price_usage(
    pricing: Pricing,
    quantity: Decimal,
    included: Decimal = Decimal(0),
    maximum_amount: Decimal | None = None,
) -> Priced:
    """Price a measured quantity: included units are free, the rest is priced, the total capped."""
    billable = max(Decimal(0), quantity - included)
    priced = price(pricing, billable)
    details = {"measured": text(quantity), "included": text(included), "billable": text(billable), **priced.details}
    amount = priced.amount
    if maximum_amount is not None and amount > maximum_amount:
        details["capped_from"] = text(amount)
        details["maximum_amount"] = text(maximum_amount)
        amount = maximum_amount
    return Priced(amount, priced.unit_price, details)
