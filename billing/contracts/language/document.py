"""The document as a whole: top-level fields, client, tax, invoicing, resolution and
reconciliation settings, and ``parse_terms`` which assembles the sections into frozen terms."""

from __future__ import annotations

from decimal import Decimal

from billing.contracts.language.amendments import effective_from_of
from billing.contracts.language.charges import charges_of
from billing.contracts.language.parties import client_of
from billing.contracts.language.reader import Reader
from billing.contracts.language.service_levels import service_levels_of
from billing.contracts.language.yaml_source import LineDict, read_document
from billing.contracts.terms import (
    DEFAULT_RECONCILIATION_DAYS,
    ContractTerms,
    Invoicing,
    Reconciliation,
    ResolutionRule,
    Tax,
    Withholding,
)
from billing.core import limits
from billing.core.currencies import currency as lookup_currency
from billing.core.money import RoundingMode
from billing.core.periods import is_valid_timezone
from billing.core.problems import Problem

_TOP_KEYS = {
    "contract",
    "client",
    "currency",
    "timezone",
    "start",
    "end",
    "effective_from",
    "rounding",
    "tax",
    "invoicing",
    "resolution",
    "charges",
    "service_levels",
    "reconciliation",
    "description",
    "issuer",
}
_INVOICING_KEYS = {
    "series",
    "credit_note_series",
    "debit_note_series",
    "payment_terms_days",
    "close_after_days",
    "withholding",
}
_WITHHOLDING_KEYS = {"name", "percent", "applies_above", "account", "legend"}


def parse_terms(document: LineDict, source: str) -> tuple[ContractTerms | None, list[Problem]]:
    """Validate a contract document; return the terms, or None and every problem found."""
    r = Reader(source)
    r.unknown_keys(document, _TOP_KEYS, "")
    code = r.text(document, "contract", "", domain=limits.CONTRACT_CODE)
    client = client_of(r, document)
    issuer = r.text(document, "issuer", "", required=False, domain=limits.ENTITY_CODE)
    currency = None
    currency_code = r.text(document, "currency", "", domain=limits.CURRENCY_CODE)
    if currency_code is not None:
        try:
            currency = lookup_currency(currency_code)
        except ValueError:
            r.problem("unknown_currency", f"unknown currency {currency_code!r}", document, "currency", "currency")
    timezone = r.text(document, "timezone", "", domain=limits.TIMEZONE)
    if timezone is not None and not is_valid_timezone(timezone):
        r.problem("unknown_timezone", f"unknown time zone {timezone!r}", document, "timezone", "timezone")
        timezone = None
    start = r.day(document, "start", "")
    end = r.day(document, "end", "", required=False)
    if start and end and end < start:
        r.problem("dates", f"end {end} is before start {start}", document, "end", "end")
    effective_from = effective_from_of(r, document, start, end)
    rounding = (
        r.choice(
            document,
            "rounding",
            "",
            RoundingMode,
            [m.value for m in RoundingMode],
            required=False,
            what="rounding mode",
        )
        or RoundingMode.HALF_UP
    )
    tax = _tax(r, document)
    invoicing = _invoicing(r, document)
    resolution = _resolution(r, document)
    reconciliation = _reconciliation(r, document)
    charges = charges_of(r, document)
    service_levels = service_levels_of(r, document)

    if r.problems:
        return None, r.problems
    assert code and client and currency and timezone and start and invoicing and charges is not None
    terms = ContractTerms(
        code=code,
        client=client,
        currency=currency,
        timezone=timezone,
        start=start,
        end=end,
        effective_from=effective_from,
        rounding=rounding,
        tax=tax,
        invoicing=invoicing,
        resolution=resolution,
        charges=charges,
        service_levels=service_levels,
        reconciliation=reconciliation,
        issuer=issuer,
    )
    return terms, []


def _tax(r: Reader, doc: LineDict) -> Tax | None:
    m = r.mapping(doc, "tax", "", required=False)
    if m is None:
        return None
    r.unknown_keys(m, {"name", "rate"}, "tax")
    name = r.text(m, "name", "tax", domain=limits.TAX_NAME)
    rate = r.number(m, "rate", "tax", maximum=limits.MAX_PERCENT)
    if rate is not None and rate > 100:
        r.problem("range", f"a tax rate is a percent between 0 and 100, got {rate}", m, "tax.rate", "rate")
    return Tax(name, rate) if name and rate is not None else None


def _invoicing(r: Reader, doc: LineDict) -> Invoicing | None:
    m = r.mapping(doc, "invoicing", "")
    if m is None:
        return None
    r.unknown_keys(m, _INVOICING_KEYS, "invoicing")
    series = r.text(m, "series", "invoicing", domain=limits.SERIES)
    credit = r.text(m, "credit_note_series", "invoicing", domain=limits.SERIES)
    debit = r.text(m, "debit_note_series", "invoicing", required=False, domain=limits.SERIES)
    days = r.integer(m, "payment_terms_days", "invoicing", required=False, maximum=366)
    close_after = r.integer(m, "close_after_days", "invoicing", required=False, maximum=366)
    withholding = _withholding(r, m)
    if series and credit and series == credit:
        r.problem(
            "series",
            "the credit note series must differ from the invoice series",
            m,
            "invoicing.credit_note_series",
            "credit_note_series",
        )
    if debit and debit in (series, credit):
        r.problem(
            "series",
            "the debit note series must differ from the invoice and credit note series",
            m,
            "invoicing.debit_note_series",
            "debit_note_series",
        )
    if series is None or credit is None:
        return None
    return Invoicing(series, credit, debit or f"{series}-ND", 30 if days is None else days, close_after, withholding)


def _withholding(r: Reader, invoicing: LineDict) -> Withholding | None:
    m = r.mapping(invoicing, "withholding", "invoicing", required=False)
    if m is None:
        return None
    path = "invoicing.withholding"
    r.unknown_keys(m, _WITHHOLDING_KEYS, path)
    name = r.text(m, "name", path, domain=limits.TAX_NAME)
    percent = r.number(m, "percent", path, maximum=limits.MAX_PERCENT, places=4)
    if percent is not None and percent <= 0:
        r.problem("negative", f"must be greater than zero, got {percent}", m, f"{path}.percent", "percent")
        percent = None
    applies_above = r.number(m, "applies_above", path, required=False, places=limits.AMOUNT_PLACES)
    account = r.text(m, "account", path, domain=limits.ACCOUNT_NUMBER)
    legend = r.text(m, "legend", path, domain=limits.DESCRIPTION)
    if name is None or percent is None or account is None or legend is None:
        return None
    return Withholding(name, percent, applies_above or Decimal(0), account, legend)


def _resolution(r: Reader, doc: LineDict) -> ResolutionRule:
    m = r.mapping(doc, "resolution", "", required=False)
    if m is None:
        return ResolutionRule()
    r.unknown_keys(m, {"repeat_window_days", "exclude_escalated"}, "resolution")
    days = r.integer(m, "repeat_window_days", "resolution", required=False, maximum=366)
    return ResolutionRule(7 if days is None else days, r.boolean(m, "exclude_escalated", "resolution", True))


def _reconciliation(r: Reader, doc: LineDict) -> Reconciliation:
    m = r.mapping(doc, "reconciliation", "", required=False)
    if m is None:
        return Reconciliation()
    r.unknown_keys(m, {"tolerance_percent", "window_days"}, "reconciliation")
    tolerance = r.number(m, "tolerance_percent", "reconciliation", required=False, maximum=limits.MAX_PERCENT)
    window = r.integer(m, "window_days", "reconciliation", required=False, maximum=3660)
    return Reconciliation(
        tolerance if tolerance is not None else Decimal("0.5"),
        DEFAULT_RECONCILIATION_DAYS if window is None else window,
    )


def load_terms_text(text: str, source: str) -> tuple[ContractTerms | None, list[Problem]]:
    """Read and validate one contract file's text."""
    document, problems = read_document(text, source)
    if document is None:
        return None, problems
    return parse_terms(document, source)
