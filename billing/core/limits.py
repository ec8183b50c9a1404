"""The limits of every value the engine stores or prints, in one place.

The contract language, the importers and the API check values against these domains at the
edge, with a clear message, so nothing further in can meet an identifier it cannot store or
print safely, an amount its columns cannot hold, or a date that is not a real one.

- **Identifiers** a person chose (contract codes, client ids, charge and level ids, series)
  are short and made of letters, digits and ``. _ -`` (no spaces, no path separators, no
  quotes or control characters), so they are safe in a file name, a URL, a PDF header and a
  log line. Series are upper-case letters, digits and ``-``.
- **External ids** a system sent (interaction ids, agent ids, customer ids) may hold any
  printable character, but no control character (NUL included), no lone surrogate (text
  that is not Unicode, which no database can store) and no more than their domain's
  ``max_length`` characters (the width of the column that stores them).
- **Import rows** are at most ``MAX_ROW_BYTES`` long: an importer holds no more than that of
  one row in memory, and rejects a longer one without reading it into memory.
- **Amounts** fit every amount column on both engines: SQLite stores ``Exact`` columns as a
  64-bit integer of ten-thousandths, so a stored amount must stay below 9.2 x 10^14; a single
  price, rate or amount in a contract is at most ``MAX_AMOUNT`` (a trillion), leaving room for
  sums of many lines. Prices and quantities have at most ``PRICE_PLACES`` decimal places.
- **Dates** are real calendar dates within ``FIRST_DAY`` .. ``LAST_DAY``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation


@dataclass(frozen=True)
class TextDomain:
    """A kind of text the engine stores: a name for messages, a maximum length and the
    characters allowed (a full-match pattern), described in words for the message."""

    name: str
    max_length: int
    pattern: re.Pattern[str]
    allowed: str
    #: The domain is any printable text: ``str.isprintable`` (true for none of the characters
    #: the pattern refuses) is then a quick yes, the pattern deciding only when it says no.
    any_printable: bool = False

    def problem(self, value: str) -> str | None:
        """Why ``value`` is not in this domain (one sentence), or None when it is."""
        article = "an" if self.name[:1] in "aeiou" else "a"
        if not value:
            return f"{article} {self.name} must not be empty"
        if len(value) > self.max_length:
            return f"{article} {self.name} has at most {self.max_length} characters, got {len(value)}"
        if not self.pattern.fullmatch(value):
            return f"{article} {self.name} is made of {self.allowed}; got {shown(value)}"
        return None

    def problem_hidden(self, value: str) -> str | None:
        """``problem`` in words that show nothing of ``value`` (for personal data)."""
        article = "an" if self.name[:1] in "aeiou" else "a"
        if not value:
            return f"{article} {self.name} must not be empty"
        if len(value) > self.max_length:
            return f"{article} {self.name} has at most {self.max_length} characters, got {len(value)}"
        if not self.pattern.fullmatch(value):
            return f"{article} {self.name} is made of {self.allowed}; this one is not (its value is not shown)"
        return None

    def accepts(self, value: str) -> bool:
        """``problem(value) is None``, without building a message: for a check per imported row."""
        if len(value) > self.max_length:
            return False
        if self.any_printable and value and value.isprintable():
            return True
        return self.pattern.fullmatch(value) is not None


#: Printable text: no C0/C1 control characters (NUL, CR, LF, tab, ...), no DEL, and no lone
#: surrogate (what a JSON ``\\ud800`` escape or undecodable bytes leave in a string).
_PRINTABLE = r"[^\x00-\x1f\x7f-\x9f\ud800-\udfff]+"


def _domain(name: str, max_length: int, pattern: str, allowed: str) -> TextDomain:
    return TextDomain(name, max_length, re.compile(pattern), allowed, pattern == _PRINTABLE)


_CODE = r"[A-Za-z0-9][A-Za-z0-9._-]*"
_CODE_WORDS = "letters, digits, '.', '_' and '-', starting with a letter or digit"

CONTRACT_CODE = _domain("contract code", 64, _CODE, _CODE_WORDS)
CLIENT_ID = _domain("client id", 64, _CODE, _CODE_WORDS)
ENTITY_CODE = _domain("entity code", 64, _CODE, _CODE_WORDS)
CHARGE_ID = _domain("charge id", 64, _CODE, _CODE_WORDS)
LEVEL_ID = _domain("service level id", 64, _CODE, _CODE_WORDS)
SERIES = _domain("series", 20, r"[A-Z0-9][A-Z0-9-]*", "upper-case letters, digits and '-'")
CHANNEL = _domain("channel", 30, r"[a-z][a-z0-9_-]*", "lower-case letters, digits, '_' and '-'")
EXTERNAL_ID = _domain("external id", 100, _PRINTABLE, "printable characters (no control characters)")
INTERACTION_ID = _domain("interaction id", 100, _PRINTABLE, "printable characters (no control characters)")
AGENT_ID = _domain("agent id", 100, _PRINTABLE, "printable characters (no control characters)")
CUSTOMER_ID = _domain("customer id", 100, _PRINTABLE, "printable characters (no control characters)")
CURRENCY_CODE = _domain("currency code", 3, r"[A-Z]{3}", "three upper-case letters (ISO 4217)")
TIMEZONE = _domain("time zone", 64, r"[A-Za-z0-9_+/-]+", "an IANA zone name such as America/Lima")
LOCALE = _domain("locale", 20, r"[a-z]{2,3}([_-][A-Za-z0-9]{2,8})*", "a locale such as es_PE or en_US")
TAX_ID = _domain("tax id", 50, r"[A-Za-z0-9][A-Za-z0-9 ./-]*", "letters, digits, spaces, '.', '/' and '-'")
EMAIL = _domain(
    "e-mail address",
    254,
    r"[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+\.[^@\s\x00-\x1f\x7f]+",
    "an address such as ap@example.com",
)
TAX_NAME = _domain("tax name", 50, _PRINTABLE, "printable characters on one line")
COUNTRY_CODE = _domain("country code", 2, r"[A-Z]{2}", "two upper-case letters (ISO 3166-1 alpha-2, such as PE)")
POSTAL_CODE = _domain("postal code", 20, r"[A-Za-z0-9][A-Za-z0-9 -]*", "letters, digits, spaces and '-'")
PHONE = _domain("phone number", 30, r"\+?[0-9][0-9 ().-]*", "digits, spaces, '(', ')', '.', '-' and a leading '+'")
#: Bank account numbers as a bank prints them (spaces and '-' are kept for display, ignored by the checks).
ACCOUNT_NUMBER = _domain("account number", 42, r"[A-Za-z0-9][A-Za-z0-9 -]*", "letters, digits, spaces and '-'")
PURCHASE_ORDER = _domain("purchase order reference", 100, _PRINTABLE, "printable characters on one line")
#: A footer printed at the bottom of every page of a document: printable text, line breaks allowed.
FOOTER = _domain("footer", 1000, r"[^\x00-\x09\x0b-\x1f\x7f-\x9f]+", "printable characters and line breaks")
#: How a payment arrived (``transfer``, ``cheque``, ``stripe``, ``cash``): a code, shown as it is.
PAYMENT_METHOD = _domain("payment method", 30, r"[a-z][a-z0-9_-]*", "lower-case letters, digits, '_' and '-'")
#: Names, descriptions and free text printed on documents: printable, one line.
NAME = _domain("name", 300, _PRINTABLE, "printable characters on one line")
DESCRIPTION = _domain("description", 500, _PRINTABLE, "printable characters on one line")
REFERENCE = _domain("reference", 200, _PRINTABLE, "printable characters on one line")

#: The longest row an import reads (bytes of one line, or of one CSV record over several lines).
MAX_ROW_BYTES = 1 << 20  # 1 MiB

#: The largest single amount, price or rate a contract, a note or a payment may state.
MAX_AMOUNT = Decimal("1000000000000")  # 10^12
#: The largest amount a stored document or line may hold (a line, a subtotal, a total): below
#: what the amount columns hold on SQLite (9.2 x 10^14), with room for sums of documents.
MAX_DOCUMENT_AMOUNT = Decimal("100000000000000")  # 10^14
#: The largest quantity a line may count (units, minutes, hours).
MAX_QUANTITY = Decimal("1000000000000")
#: The largest headcount a charge may state.
MAX_FTE = Decimal(100000)
#: Decimal places a price or rate may have (the unit-price columns keep 6).
PRICE_PLACES = 6
#: Decimal places an amount may have (amount columns keep 4).
AMOUNT_PLACES = 4
#: Percentages (tax rates, at-risk, allocations, targets of rate KPIs) are within 0..100.
MAX_PERCENT = Decimal(100)

#: The largest logo an entity file may name (PNG or JPEG): it is embedded in every PDF.
MAX_LOGO_BYTES = 512 * 1024
#: Bank accounts an entity may list.
MAX_BANK_ACCOUNTS = 20

#: The largest row id (a document id typed by a person): ids are 32-bit integers on PostgreSQL.
MAX_ROW_ID = 2**31 - 1

FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(2099, 12, 31)


def number_problem(value: Decimal, *, maximum: Decimal = MAX_AMOUNT, places: int = PRICE_PLACES) -> str | None:
    """Why a finite number does not fit (too large, too many decimal places), or None."""
    if not value.is_finite():
        return f"must be a finite number, got {value}"
    if abs(value) > maximum:
        return f"must be at most {maximum:,} in size, got {shown(str(value))}"
    return places_problem(value, places)


def places_problem(value: Decimal, places: int) -> str | None:
    """Why ``value`` has more decimal places than ``places`` (trailing zeros do not count)."""
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -places and value != value.quantize(Decimal(1).scaleb(-places)):
        return f"has at most {places} decimal places, got {shown(str(value))}"
    return None


def parse_decimal(text: str) -> Decimal | None:
    """A decimal from text, or None when it is not a finite number of a sane size (``1e400``,
    ``NaN`` and 10,000-digit numbers are refused before any arithmetic on them)."""
    text = text.strip().replace("_", "")
    if not text or len(text) > 40:
        return None
    try:
        value = Decimal(text)
    except (InvalidOperation, ValueError):
        return None
    if not value.is_finite() or value.adjusted() > 30 or value.adjusted() < -30:
        return None
    return value


def date_problem(day: date) -> str | None:
    if not FIRST_DAY <= day <= LAST_DAY:
        return f"must be between {FIRST_DAY} and {LAST_DAY}, got {day}"
    return None


def shown(value: str, limit: int = 40) -> str:
    """A value as it may appear in a message: quoted, control characters escaped, shortened."""
    text = value if len(value) <= limit else value[:limit] + "..."
    return repr(text)
