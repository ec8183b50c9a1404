"""Graduated pricing: each unit at the price of the band it falls in.

Bands are half-open from below and inclusive above: a tier ``{up_to: 50}`` after
``{up_to: 10}`` prices the units above 10 up to and including 50. Fractional quantities
(handled minutes) are split at the same bounds.
"""

from __future__ import annotations

from decimal import Decimal

from billing.contracts.terms import Pricing
from billing.core.money import EXACT
from billing.rating.pricing.priced import Priced, effective_price, text


def price(pricing: Pricing, quantity: Decimal) -> Priced:
    used = []
    amount = Decimal(0)
    lower = Decimal(0)
    for tier in pricing.tiers:
        if quantity <= lower:
            break
        upper = quantity if tier.up_to is None else min(quantity, tier.up_to)
        units = upper - lower
        band = EXACT.multiply(units, tier.unit_price)
        amount = EXACT.add(amount, band)
        used.append(
            {
                "from": text(lower),
                "to": text(tier.up_to),
                "units": text(units),
                "unit_price": text(tier.unit_price),
                "amount": text(band),
            }
        )
        if tier.up_to is None:
            break
        lower = tier.up_to
    return Priced(
        amount, effective_price(amount, quantity), {"model": "graduated", "units": text(quantity), "tiers": used}
    )
