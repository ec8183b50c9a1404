"""Amounts and percentages of one currency in one locale, as the report shows them."""

from __future__ import annotations

from decimal import Decimal

from billing.presentation.formatting import Formatter


class Money:
    """Amounts of one currency in one locale."""

    def __init__(self, fmt: Formatter, currency: str, minor_units: int) -> None:
        self.fmt, self.currency, self.minor_units = fmt, currency, minor_units

    def __call__(self, value: Decimal | None) -> str:
        return "—" if value is None else self.fmt.money(value, self.currency)

    def signed(self, value: Decimal | None) -> str:
        if value is None:
            return "—"
        text = self(value)
        return f"+{text}" if value > 0 else text

    def axis(self, value: Decimal) -> str:
        return self.fmt.number(value, 0)

    def count(self, value: Decimal) -> str:
        return self.fmt.number(value, 0)


def pct(fmt: Formatter, value: Decimal | None) -> str:
    return "—" if value is None else f"{fmt.number(value, 1)} %"
