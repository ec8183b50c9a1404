"""Money: Decimal amounts with an explicit currency precision and rounding mode.

Never use floating point in an accounting system. Every amount here is a ``Decimal``;
floats are refused at the door. Rounding happens with an explicit context and mode,
never with whatever the ambient decimal context happens to be.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Context, Decimal, InvalidOperation
from enum import StrEnum

#: Context for exact intermediate arithmetic (proration, tier sums, percentages).
EXACT = Context(prec=60)


class RoundingMode(StrEnum):
    HALF_UP = "half_up"
    HALF_EVEN = "half_even"

    @property
    def decimal_rounding(self) -> str:
        return ROUND_HALF_UP if self is RoundingMode.HALF_UP else ROUND_HALF_EVEN


def to_decimal(value: object) -> Decimal:
    """Convert an int, Decimal or numeric string to Decimal; refuse floats and junk."""
    if isinstance(value, bool):
        raise TypeError("a boolean is not an amount")
    if isinstance(value, float):
        raise TypeError("floats are refused for money: write the amount as a string")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except InvalidOperation:
            raise ValueError(f"not a number: {value!r}") from None
    else:
        raise TypeError(f"not an amount: {value!r}")
    if not result.is_finite():
        raise ValueError(f"not a finite number: {value!r}")
    return result


def quantum(minor_units: int) -> Decimal:
    """The smallest unit of a currency with ``minor_units`` decimals (2 -> 0.01)."""
    return Decimal(1).scaleb(-minor_units)


def round_amount(amount: Decimal, minor_units: int, mode: RoundingMode = RoundingMode.HALF_UP) -> Decimal:
    """Round an exact amount once, to the currency's minor unit, in the given mode."""
    return amount.quantize(quantum(minor_units), rounding=mode.decimal_rounding, context=EXACT)


def percent_of(amount: Decimal, percent: Decimal) -> Decimal:
    """Exact ``amount x percent / 100``."""
    return EXACT.divide(EXACT.multiply(amount, percent), Decimal(100))


@dataclass(frozen=True, slots=True)
class Currency:
    """An ISO 4217 code with its number of minor units (from babel, resolved at the edge)."""

    code: str
    minor_units: int

    def round(self, amount: Decimal, mode: RoundingMode = RoundingMode.HALF_UP) -> Decimal:
        return round_amount(amount, self.minor_units, mode)

    def zero(self) -> Decimal:
        return Decimal(0).quantize(quantum(self.minor_units))


@dataclass(frozen=True, slots=True)
class Money:
    """An immutable amount in one currency. Adding two currencies or multiplying money
    by money is a bug and raises."""

    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "amount", to_decimal(self.amount))

    def __add__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(EXACT.add(self.amount, other.amount), self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(EXACT.subtract(self.amount, other.amount), self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __mul__(self, factor: object) -> Money:
        if isinstance(factor, Money):
            raise TypeError("cannot multiply money by money")
        return Money(EXACT.multiply(self.amount, to_decimal(factor)), self.currency)

    __rmul__ = __mul__

    def rounded(self, minor_units: int, mode: RoundingMode = RoundingMode.HALF_UP) -> Money:
        return Money(round_amount(self.amount, minor_units, mode), self.currency)

    def _same_currency(self, other: object) -> None:
        if not isinstance(other, Money):
            raise TypeError(f"cannot combine money with {type(other).__name__}")
        if other.currency != self.currency:
            raise ValueError(f"cannot combine {self.currency} with {other.currency}")


def format_decimal_string(value: Decimal, places: int) -> str:
    """Fixed-point string with exactly ``places`` decimals, half-up (display of KPIs)."""
    return str(value.quantize(quantum(places), rounding=ROUND_HALF_UP, context=EXACT))
