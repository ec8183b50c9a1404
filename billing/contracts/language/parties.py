"""The parties of a document in the contract and entity languages: the client block, postal
addresses and tax ids with their schemes (checked by ``billing.contracts.identifiers``)."""

from __future__ import annotations

from billing.contracts.identifiers import SCHEMES, country_problem, tax_id_problem
from billing.contracts.language.reader import Reader, join
from billing.contracts.language.yaml_source import LineDict, LineList
from billing.contracts.terms import Address, ClientInfo
from billing.core import limits
from billing.core.currencies import is_known_locale

CLIENT_KEYS = {
    "id",
    "name",
    "locale",
    "tax_id",
    "tax_scheme",
    "email",
    "legal_name",
    "address",
    "billing_email",
    "purchase_order",
}
ADDRESS_KEYS = {"lines", "city", "region", "postal_code", "country"}
MAX_ADDRESS_LINES = 3


def client_of(r: Reader, doc: LineDict) -> ClientInfo | None:
    m = r.mapping(doc, "client", "")
    if m is None:
        return None
    r.unknown_keys(m, CLIENT_KEYS, "client")
    cid = r.text(m, "id", "client", domain=limits.CLIENT_ID)
    name = r.text(m, "name", "client", domain=limits.NAME)
    locale = r.text(m, "locale", "client", required=False, domain=limits.LOCALE) or "en_US"
    if not is_known_locale(locale):
        r.problem("unknown_locale", f"unknown locale {locale!r}", m, "client.locale", "locale")
    scheme, tax_id = tax_id_of(r, m, "client", required=False)
    email = r.text(m, "email", "client", required=False, domain=limits.EMAIL)
    legal_name = r.text(m, "legal_name", "client", required=False, domain=limits.NAME)
    address = address_of(r, m, "client", required=False)
    billing_email = r.text(m, "billing_email", "client", required=False, domain=limits.EMAIL)
    purchase_order = r.text(m, "purchase_order", "client", required=False, domain=limits.PURCHASE_ORDER)
    if cid is None or name is None:
        return None
    return ClientInfo(cid, name, locale, tax_id, email, legal_name, scheme, address, billing_email, purchase_order)


def tax_id_of(r: Reader, m: LineDict, path: str, required: bool) -> tuple[str | None, str | None]:
    """``(scheme, tax id)``: with a ``tax_scheme`` the id is checked with its check digits and
    kept in the scheme's canonical form; without one it is text in the tax id domain."""
    scheme = r.text(m, "tax_scheme", path, required=False, domain=limits.ENTITY_CODE)
    if scheme is not None and scheme not in SCHEMES:
        r.problem(
            "unknown_tax_scheme",
            f"unknown tax scheme {scheme!r}; expected one of {', '.join(sorted(SCHEMES))}",
            m,
            join(path, "tax_scheme"),
            "tax_scheme",
        )
        scheme = None
    tax_id = r.text(m, "tax_id", path, required=required, domain=limits.TAX_ID)
    if scheme is None:
        return None, tax_id
    if tax_id is None:
        if not required and m.get("tax_id") is None:
            r.problem("missing", "is required with a tax_scheme", m, join(path, "tax_id"))
        return scheme, None
    canonical, problem = tax_id_problem(scheme, tax_id)
    if problem:
        r.problem("tax_id", problem, m, join(path, "tax_id"), "tax_id")
        return scheme, None
    return scheme, canonical


def address_of(r: Reader, m: LineDict, path: str, required: bool) -> Address | None:
    a = r.mapping(m, "address", path, required=required)
    if a is None:
        return None
    where = join(path, "address")
    r.unknown_keys(a, ADDRESS_KEYS, where)
    lines: list[str] = []
    raw = a.get("lines")
    if raw is not None:
        if not isinstance(raw, LineList) or not raw or len(raw) > MAX_ADDRESS_LINES:
            r.problem("type", f"is a list of 1 to {MAX_ADDRESS_LINES} lines", a, join(where, "lines"), "lines")
        else:
            for index, item in enumerate(raw):
                text = str(item).strip() if not isinstance(item, dict | list | bool) else ""
                problem = limits.NAME.problem(text)
                if problem:
                    r.problem("invalid_text", problem, raw.item_lines[index], join(join(where, "lines"), index))
                else:
                    lines.append(text)
    city = r.text(a, "city", where, required=False, domain=limits.NAME)
    region = r.text(a, "region", where, required=False, domain=limits.NAME)
    postal_code = r.text(a, "postal_code", where, required=False, domain=limits.POSTAL_CODE)
    country = r.text(a, "country", where, domain=limits.COUNTRY_CODE)
    if country is not None:
        problem = country_problem(country)
        if problem:
            r.problem("unknown_country", problem, a, join(where, "country"), "country")
            country = None
    if country is None:
        return None
    return Address(country, tuple(lines), city, region, postal_code)
