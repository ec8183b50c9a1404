"""Words a person reads, in their language: gettext message catalogs managed with Babel.

The catalogs are ``locales/<language>/LC_MESSAGES/messages.po`` beside this module, with the
template ``locales/messages.pot``; English strings are the message ids. A compiled ``.mo``
is used when it is newer than its ``.po`` (``pybabel compile``); otherwise the ``.po`` is
compiled in memory on first use, so a fresh clone works without a build step.

Maintaining them (from the repository root)::

    pybabel extract -F billing/presentation/locales/babel.cfg -k N_ -k pgettext:1c,2 \\
        --no-location --sort-output -o billing/presentation/locales/messages.pot .
    pybabel update -i billing/presentation/locales/messages.pot -d billing/presentation/locales \\
        --no-fuzzy-matching --ignore-obsolete
    # translate the new entries in each messages.po; tests/presentation/test_catalogs.py
    # fails while an entry is untranslated or the template is out of date

Codes stay codes in data and JSON; they become words only when rendered (``labels``).
"""

from __future__ import annotations

from functools import cache
from io import BytesIO
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

LOCALES = Path(__file__).resolve().parent / "locales"
DOMAIN = "messages"
#: Languages with a complete catalog; any other language is shown in English.
LANGUAGES = ("en", "es")
DEFAULT_LANGUAGE = "en"


def N_(message: str) -> str:
    """Marks a string for extraction where it is defined; it is translated where it is shown."""
    return message


def language_of(locale: str | None) -> str:
    """The catalog language of a locale (``es_PE`` -> ``es``); English when there is none."""
    language = (locale or "").replace("-", "_").split("_")[0].lower()
    return language if language in LANGUAGES else DEFAULT_LANGUAGE


@cache
def translations(language: str) -> NullTranslations:
    """The compiled catalog of ``language`` (English falls back to the message ids)."""
    po = LOCALES / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not po.exists():
        return NullTranslations()
    mo = po.with_suffix(".mo")
    if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
        with mo.open("rb") as handle:
            return Translations(handle, domain=DOMAIN)
    with po.open("rb") as handle:
        catalog = read_po(handle, locale=language, domain=DOMAIN)
    buffer = BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return Translations(buffer, domain=DOMAIN)
