"""The message catalogs: the template holds every string the code and templates mark, and
every language's catalog translates every one of them (no fuzzy, no empty entry)."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.frontend import CommandLineInterface
from babel.messages.pofile import read_po

from billing.presentation.formatting import Formatter
from billing.presentation.i18n import LANGUAGES, LOCALES
from billing.presentation.labels import LABELS
from tests.conftest import REPO


def _ids(path: Path) -> set[str]:
    with path.open("rb") as handle:
        return {str(m.id) for m in read_po(handle) if m.id}


def test_the_template_is_up_to_date_with_the_sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    out = tmp_path / "fresh.pot"
    keywords = ["-k", "N_", "-k", "pgettext:1c,2"]
    options = ["--no-location", "--sort-output", "--omit-header", "-o", str(out)]
    CommandLineInterface().run(["pybabel", "-q", "extract", "-F", str(LOCALES / "babel.cfg"), *keywords, *options, "."])
    assert _ids(out) == _ids(LOCALES / "messages.pot"), "run pybabel extract (billing/presentation/i18n.py)"


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_is_translated(language: str) -> None:
    with (LOCALES / language / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalog = read_po(handle)
    wanted = _ids(LOCALES / "messages.pot")
    translated = {str(m.id) for m in catalog if m.id and m.string and not m.fuzzy}
    assert wanted - translated == set(), f"untranslated in {language}: run pybabel update and translate"


def test_every_label_is_in_the_template() -> None:
    assert set(LABELS.values()) <= _ids(LOCALES / "messages.pot")


def test_codes_become_words_in_the_readers_language() -> None:
    assert Formatter.for_locale("es_PE").label("credit_note") == "Nota de crédito"
    assert Formatter.for_locale("es_ES")._("Statement of account") == "Estado de cuenta"
    assert Formatter.for_locale("en_US").label("paid") == "Paid"
    assert Formatter.for_locale("fr_FR").label("void") == "Void"  # no French catalog: English
    assert Formatter.for_locale("es_MX").label("unknown_code") == "unknown_code"
