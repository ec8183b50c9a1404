"""Package pricing: units are sold in packages of ``package_size``; a started package is charged whole."""

from __future__ import annotations

from decimal import ROUND_CEILING, Decimal

from billing.contracts.terms import Pricing
from billing.core.money import EXACT
from billing.rating.pricing.priced import Priced, effective_price, text


def price(pricing: Pricing, quantity: Decimal) -> Priced:
    assert pricing.package_size is not None and pricing.package_price is not None
    packages = EXACT.divide(quantity, pricing.package_size).to_integral_value(rounding=ROUND_CEILING)
    amount = EXACT.multiply(packages, pricing.package_price)
    return Priced(
        amount,
        effective_price(amount, quantity),
        {
            "model": "package",
            "units": text(quantity),
            "package_size": text(pricing.package_size),
            "package_price": text(pricing.package_price),
            "packages": text(packages),
        },
    )
