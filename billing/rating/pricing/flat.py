"""Flat pricing: every unit at one price."""

from __future__ import annotations

from decimal import Decimal

from billing.contracts.terms import Pricing
from billing.core.money import EXACT
from billing.rating.pricing.priced import Priced, text


def price(pricing: Pricing, quantity: Decimal) -> Priced:
    assert pricing.unit_price is not None, "the parser guarantees a flat unit_price"
    amount = EXACT.multiply(quantity, pricing.unit_price)
    return Priced(
        amount, pricing.unit_price, {"model": "flat", "units": text(quantity), "unit_price": text(pricing.unit_price)}
    )
