"""Identifiers of the parties to a document, checked with their check digits: tax ids by scheme
(``python-stdnum``), bank accounts (IBAN, Peru's CCI, US routing numbers) and SWIFT/BIC codes,
and ISO country codes. Each check returns the identifier in its canonical form, or why it is
not one (a sentence for a ``Problem``); nothing here touches a database.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from functools import cache
from typing import Any


@dataclass(frozen=True)
class TaxScheme:
    """A kind of tax id: the ``python-stdnum`` module that checks it, the country it belongs to,
    what it is called, and its EN 16931 scheme (``VA`` a VAT id, ``FC`` a tax registration)."""

    code: str
    module: str
    country: str | None
    label: str
    en16931: str


SCHEMES: dict[str, TaxScheme] = {
    scheme.code: scheme
    for scheme in (
        TaxScheme("pe_ruc", "stdnum.pe.ruc", "PE", "RUC", "FC"),
        TaxScheme("es_nif", "stdnum.es.nif", "ES", "NIF", "VA"),
        TaxScheme("es_cif", "stdnum.es.cif", "ES", "CIF", "VA"),
        TaxScheme("eu_vat", "stdnum.eu.vat", None, "VAT", "VA"),
        TaxScheme("gb_vat", "stdnum.gb.vat", "GB", "VAT", "VA"),
        TaxScheme("us_ein", "stdnum.us.ein", "US", "EIN", "FC"),
        TaxScheme("mx_rfc", "stdnum.mx.rfc", "MX", "RFC", "FC"),
        TaxScheme("cl_rut", "stdnum.cl.rut", "CL", "RUT", "FC"),
        TaxScheme("co_nit", "stdnum.co.nit", "CO", "NIT", "FC"),
        TaxScheme("ar_cuit", "stdnum.ar.cuit", "AR", "CUIT", "FC"),
        TaxScheme("br_cnpj", "stdnum.br.cnpj", "BR", "CNPJ", "FC"),
    )
}


def tax_id_problem(scheme: str, value: str) -> tuple[str | None, str | None]:
    """``(canonical, None)`` when ``value`` is a valid id of ``scheme``, else ``(None, why)``.
    The canonical form is the id as the scheme's registry writes it (stdnum's ``compact``:
    no spaces, dots or dashes, ``20100047218``, ``B12345674``, ``123456789``)."""
    known = SCHEMES.get(scheme)
    if known is None:
        return None, f"unknown tax scheme {scheme!r}; expected one of {', '.join(sorted(SCHEMES))}"
    module: Any = importlib.import_module(known.module)
    try:
        return str(module.validate(value)), None
    except Exception as exc:  # stdnum raises ValidationError subclasses with a reason
        reason = str(exc).rstrip(".") or type(exc).__name__
        return None, f"{value!r} is not a valid {known.label} ({scheme}): {reason}"


def display_tax_id(scheme: str | None, value: str) -> str:
    """A tax id as people write it (``12-3456789`` for an EIN); the stored form otherwise."""
    known = SCHEMES.get(scheme or "")
    if known is None:
        return value
    module: Any = importlib.import_module(known.module)
    formatter = getattr(module, "format", None)
    return str(formatter(value)) if formatter else value


@cache
def countries() -> frozenset[str]:
    """ISO 3166-1 alpha-2 codes babel knows (two letters; not regions such as ``001``)."""
    from babel.core import Locale

    codes = (str(code) for code in Locale("en").territories)
    return frozenset(code for code in codes if len(code) == 2 and code.isalpha())


def country_problem(code: str) -> str | None:
    if code not in countries():
        return f"unknown country {code!r}: an ISO 3166-1 alpha-2 code such as PE, ES or US"
    return None


# -- bank accounts ------------------------------------------------------------------------------


def _digits(value: str) -> str:
    return value.replace(" ", "").replace("-", "")


def iban_problem(value: str) -> tuple[str | None, str | None]:
    from stdnum import iban

    try:
        return str(iban.validate(value)), None
    except Exception as exc:
        return None, f"{value!r} is not a valid IBAN: {str(exc).rstrip('.')}"


def cci_check_digit(digits: str) -> int:
    """The check digit of Peru's CCI over ``digits``: each digit weighted 1, 2, 1, 2, ... from
    the left, the digits of each product summed, and the complement to the next ten."""
    total = 0
    for position, char in enumerate(digits):
        product = int(char) * (1 if position % 2 == 0 else 2)
        total += product // 10 + product % 10
    return (10 - total % 10) % 10


def cci_problem(value: str) -> tuple[str | None, str | None]:
    """Peru's Codigo de Cuenta Interbancario: 20 digits, bank (3), office (3), account (12) and
    two check digits, the first over bank and office, the second over the account."""
    digits = _digits(value)
    if len(digits) != 20 or not digits.isdigit():
        return None, f"{value!r} is not a CCI: it has 20 digits (bank, office, account, check digits)"
    expected = f"{cci_check_digit(digits[:6])}{cci_check_digit(digits[6:18])}"
    if digits[18:] != expected:
        return None, f"{value!r} is not a valid CCI: its check digits are {digits[18:]}, expected {expected}"
    return digits, None


def routing_problem(value: str) -> tuple[str | None, str | None]:
    """A US ABA routing transit number (9 digits with a checksum)."""
    from stdnum.us import rtn

    try:
        return str(rtn.validate(_digits(value))), None
    except Exception as exc:
        return None, f"{value!r} is not a valid ABA routing number: {str(exc).rstrip('.')}"


def account_problem(value: str) -> tuple[str | None, str | None]:
    """A domestic account number: 4 to 34 digits and letters (spaces and '-' ignored)."""
    digits = _digits(value)
    if not 4 <= len(digits) <= 34 or not digits.isalnum():
        return None, f"{value!r} is not an account number: 4 to 34 letters and digits"
    return value.strip(), None


def swift_problem(value: str) -> tuple[str | None, str | None]:
    from stdnum import bic

    try:
        return str(bic.validate(value)), None
    except Exception as exc:
        return None, f"{value!r} is not a valid SWIFT/BIC code: {str(exc).rstrip('.')}"
