"""What every pricing model returns: an exact amount and the details that explain it."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from billing.core.money import EXACT


@dataclass(frozen=True, slots=True)
class Priced:
    """An exact, unrounded amount for a billable quantity (rating rounds it once).

    ``unit_price`` is the list price when every unit is charged at one price (flat, volume)
    and the effective price per billable unit otherwise (graduated, package); ``None`` when
    nothing is billable and no single price applies. ``details`` are JSON-ready (decimal
    strings) and explain the amount: tiers used, packages started, included units.
    """

    amount: Decimal
    unit_price: Decimal | None
    details: dict[str, Any] = field(default_factory=dict)


def text(value: Decimal | int | None) -> str | None:
    """A decimal as a plain string without exponent or needless trailing zeros."""
    if value is None:
        return None
    normalized = Decimal(value).normalize()
    if normalized == normalized.to_integral_value():
        return str(normalized.quantize(Decimal(1)))
    return format(normalized, "f")


def effective_price(amount: Decimal, units: Decimal) -> Decimal | None:
    return EXACT.divide(amount, units) if units > 0 else None
