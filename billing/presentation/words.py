"""Amounts in words, as Peruvian invoices (and cheques everywhere) write them: the whole units
in words (``num2words``), the minor units as a fraction, and the currency's name, in the
document's language:

- es: ``CIENTO DOS MIL CIENTO NOVENTA Y CUATRO CON 14/100 SOLES``
- en: ``One hundred two thousand one hundred ninety-four and 14/100 US dollars``

Languages without a catalog are written in English (like every other word on a document).
A currency without minor units has no fraction (``Ten thousand Japanese yen``).
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal

from babel.numbers import get_currency_name, get_currency_precision
from num2words import num2words

from billing.presentation.i18n import language_of

#: Where a language's own name for a currency is not babel's plural (SUNAT writes "SOLES").
NAMES = {("es", "PEN"): "soles", ("es", "USD"): "dólares americanos"}
#: Spanish drops the final vowel of "uno" before "mil" and "millón/millones" (veintiún mil).
_APOCOPE = re.compile(r"\b(veinti)?uno(?= (mil|millón|millones|billón|billones)\b)")


def currency_name(code: str, language: str) -> str:
    return NAMES.get((language, code)) or get_currency_name(code, count=2, locale=language)


def whole_in_words(number: int, language: str) -> str:
    """A whole number in words: Spanish with the apocope, English without "and" or commas
    (one hundred two thousand one hundred ninety-four)."""
    if language == "es":
        words = num2words(number, lang="es")
        return _APOCOPE.sub(lambda m: "veintiún" if m.group(1) else "un", words)
    words = num2words(number, lang="en")
    return words.replace(",", "").replace(" and ", " ")


def amount_in_words(amount: Decimal, currency: str, locale: str | None) -> str:
    """``amount`` of ``currency`` in words in ``locale``'s language (sign ignored: documents
    state positive totals)."""
    language = language_of(locale)
    places = get_currency_precision(currency)
    value = abs(amount).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    whole = int(value)
    words = whole_in_words(whole, language)
    name = currency_name(currency, language)
    if places:
        cents = int((value - whole).scaleb(places))
        fraction = f"{cents:0{places}d}/1{'0' * places}"
        joined = f"{words} con {fraction} {name}" if language == "es" else f"{words} and {fraction} {name}"
    else:
        joined = f"{words} {name}"
    if language == "es":
        return joined.upper()
    return joined[:1].upper() + joined[1:]
