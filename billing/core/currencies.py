"""Currency facts from babel (the edge: the pure core receives them resolved)."""

from __future__ import annotations

from functools import cache, lru_cache

from babel.core import Locale, UnknownLocaleError
from babel.numbers import get_currency_precision, list_currencies

from billing.core.money import Currency


@cache
def known_currencies() -> frozenset[str]:
    return frozenset(list_currencies())


#: ISO 4217 codes that are not money one can invoice in: precious metals, IMF units,
#: settlement units, bond markets, the testing code and "no currency".
NOT_MONEY = frozenset(
    {"XAG", "XAU", "XPD", "XPT", "XDR", "XBA", "XBB", "XBC", "XBD", "XSU", "XUA", "XTS", "XXX", "XFO", "XFU", "XRE"}
)


def currency(code: str) -> Currency:
    """The currency with its minor units as babel knows them (PEN 2, JPY 0, CLP 0)."""
    if code not in known_currencies() or code in NOT_MONEY:
        raise ValueError(f"unknown currency {code!r}")
    return Currency(code, get_currency_precision(code))


@lru_cache(maxsize=256)
def is_known_locale(tag: str) -> bool:
    try:
        Locale.parse(tag)
    except (UnknownLocaleError, ValueError, TypeError):
        return False
    return True
