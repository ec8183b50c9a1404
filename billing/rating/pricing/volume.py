"""Volume pricing: every unit at the price of the band the total falls in (``up_to`` inclusive)."""

from __future__ import annotations

from decimal import Decimal

from billing.contracts.terms import Pricing
from billing.core.money import EXACT
from billing.rating.pricing.priced import Priced, text


def price(pricing: Pricing, quantity: Decimal) -> Priced:
    lower = Decimal(0)
    chosen = pricing.tiers[-1]
    for tier in pricing.tiers:
        if tier.up_to is None or quantity <= tier.up_to:
            chosen = tier
            break
        lower = tier.up_to
    amount = EXACT.multiply(quantity, chosen.unit_price)
    band = {
        "from": text(lower),
        "to": text(chosen.up_to),
        "units": text(quantity),
        "unit_price": text(chosen.unit_price),
        "amount": text(amount),
    }
    return Priced(amount, chosen.unit_price, {"model": "volume", "units": text(quantity), "tiers": [band]})
