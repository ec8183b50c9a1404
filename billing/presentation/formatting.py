"""Locale-aware presentation of amounts, numbers and dates: the ONLY module that formats
with babel. Statements, invoices and the portal receive a ``Formatter`` and never format
money themselves, so a locale's conventions (``S/ 1,234.56`` in es_PE, ``1.234,56 €`` in
es_ES) live in one place.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from babel.core import Locale, UnknownLocaleError
from babel.dates import format_date
from babel.numbers import format_currency, format_decimal, format_percent, get_currency_precision

from billing.core.periods import Period
from billing.presentation.i18n import language_of, translations
from billing.presentation.labels import LABELS
from billing.presentation.metrics import PERCENT, UNIT_NAMES, UNIT_SYMBOLS, filter_words, metric_of, parse_filter

DEFAULT_LOCALE = "en_US"


def usable_locale(tag: str | None) -> str:
    """``tag`` when babel knows it, else the default (a stored locale never breaks a page)."""
    if not tag:
        return DEFAULT_LOCALE
    try:
        Locale.parse(tag.replace("-", "_"))
    except (UnknownLocaleError, ValueError, TypeError):
        return DEFAULT_LOCALE
    return tag.replace("-", "_")


@dataclass(frozen=True)
class Formatter:
    locale: str

    @classmethod
    def for_locale(cls, tag: str | None) -> Formatter:
        return cls(usable_locale(tag))

    @property
    def language(self) -> str:
        """The catalog language (``es`` for es_PE and es_ES; ``en`` for any language without one)."""
        return language_of(self.locale)

    def gettext(self, message: str) -> str:
        """``message`` (an English message id) in this locale's language."""
        return translations(self.language).ugettext(message)

    _ = gettext

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return translations(self.language).ungettext(singular, plural, n)

    def pgettext(self, context: str, message: str) -> str:
        return translations(self.language).upgettext(context, message)

    def label(self, code: str | None) -> str:
        """A code (``credit_note``, ``paid``) as the reader's word for it."""
        if code is None:
            return ""
        message = LABELS.get(code)
        return self.gettext(message) if message is not None else code

    def money(self, amount: Decimal | str | None, currency: str) -> str:
        """``S/ 1,234.56`` (es_PE), ``1.234,56 €`` (es_ES), ``$1,234.56`` (en_US): babel's
        pattern with the currency's own minor units. Babel's non-breaking spaces are kept."""
        if amount is None or amount == "":
            return ""
        value = Decimal(str(amount))
        places = get_currency_precision(currency)
        text = format_currency(value.quantize(Decimal(1).scaleb(-places)), currency, locale=self.locale)
        # A locale without a symbol for the currency writes its code: PEN 1,234.56, not PEN1,234.56.
        return re.sub(rf"(?<={currency})(?=[\d-])", "\u00a0", text)

    def number(self, value: Decimal | int | str | None, places: int | None = None) -> str:
        if value is None or value == "":
            return "—"
        number = Decimal(str(value))
        if places is None and isinstance(value, str) and "." in value:
            places = len(value.split(".", 1)[1])  # "61.20" keeps its two decimals
        if places is None:
            return format_decimal(number, locale=self.locale, decimal_quantization=False)
        fmt = "#,##0." + "0" * places if places else "#,##0"
        return format_decimal(number.quantize(Decimal(1).scaleb(-places)), format=fmt, locale=self.locale)

    def price(self, value: Decimal | str | None) -> str:
        """A unit price: at least two decimals, more only when the price has them (2.50, 39.166667)."""
        if value is None or value == "":
            return ""
        number = Decimal(str(value)).normalize()
        places = max(2, -int(number.as_tuple().exponent))
        return self.number(number, places)

    def long_date(self, value: date | datetime | str | None) -> str:
        day = _day(value)
        return "" if day is None else format_date(day, "long", locale=self.locale)

    def short_date(self, value: date | datetime | str | None) -> str:
        """A date (or an ISO date string, as JSON data holds it) in this locale's medium form."""
        day = _day(value)
        return "" if day is None else format_date(day, "medium", locale=self.locale)

    def month(self, period: Period | str) -> str:
        """``octubre de 2026`` / ``October 2026``: the stand-alone month name and the year."""
        p = Period.parse(period) if isinstance(period, str) else period
        text = format_date(p.first_day, "LLLL y", locale=self.locale)
        return text[:1].upper() + text[1:]

    def amount_in_words(self, amount: Decimal | str | None, currency: str) -> str:
        """The amount in words in this locale's language (``billing.presentation.words``)."""
        from billing.presentation.words import amount_in_words

        if amount is None or amount == "":
            return ""
        return amount_in_words(Decimal(str(amount)), currency, self.locale)

    def country(self, code: str | None) -> str:
        """A country's name in this locale (``PE`` -> ``Perú`` / ``Peru``)."""
        if not code:
            return ""
        return str(Locale.parse(self.locale).territories.get(code, code))

    def percent(self, value: Decimal | int | str | None, places: int = 2) -> str:
        """A share of 100 (``82.69``) as this locale writes a percentage (``82.69%``, ``82,69 %``)."""
        if value is None or value == "":
            return "—"
        pattern = Locale.parse(self.locale).percent_formats[None].pattern.split(";")[0]
        decimals = "." + "0" * places if places else ""
        number = Decimal(str(value)).quantize(Decimal(1).scaleb(-places)) / 100
        return format_percent(number, format=pattern.replace("#,##0", "#,##0" + decimals, 1), locale=self.locale)

    def metric(self, code: str | None) -> str:
        """A KPI's name (``asa_seconds`` -> ``Average speed of answer``)."""
        if not code:
            return ""
        found = metric_of(code)
        return self.gettext(found.name) if found else self.label(code)

    def measure(self, code: str | None, value: Decimal | int | str | None, places: int | None = None) -> str:
        """A KPI's value with its unit: ``82.69%``, ``479.44 s``, ``47,800``."""
        if value is None or value == "":
            return "—"
        found = metric_of(code or "")
        if found is None:
            return self.number(value)
        if found.unit == PERCENT:
            return self.percent(value, 2 if places is None else places)
        symbol = UNIT_SYMBOLS.get(found.unit)
        shown = self.number(value, places)
        return f"{shown}\u00a0{self.gettext(symbol)}" if symbol else shown

    def unit_name(self, code: str | None) -> str:
        """The unit of a KPI in words, for a chart (``percent``, ``seconds``)."""
        found = metric_of(code or "")
        return self.gettext(UNIT_NAMES[found.unit]) if found else ""

    def scope(
        self,
        channels: list[str] | tuple[str, ...] | None = None,
        handled_by: list[str] | tuple[str, ...] | None = None,
        described: str | None = None,
    ) -> str:
        """What a level or charge measures: ``voice``, ``voice, AI``; all contacts when unfiltered.
        ``described``: a stored filter description (``Filter.describe``) instead of the lists."""
        if described is not None:
            channels, handled_by = parse_filter(described)
        channel_ids, handler_ids = filter_words(channels or (), handled_by or ())
        words = [self.gettext(w) for w in channel_ids] + [self.gettext(w) for w in handler_ids]
        return ", ".join(words) if words else self.gettext("all channels")

    def short_month(self, period: Period | str) -> str:
        p = Period.parse(period) if isinstance(period, str) else period
        return format_date(p.first_day, "LLL yy", locale=self.locale)


def _day(value: date | datetime | str | None) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return date.fromisoformat(value[:10])
    return value.date() if isinstance(value, datetime) else value
