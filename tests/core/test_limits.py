"""One place defines what the engine stores: identifiers, amounts, dates."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing.core import limits


@pytest.mark.parametrize("code", ["BANDINO-2026", "GOLD-1", "acme.eu_2", "F"])
def test_contract_codes_people_write_are_accepted(code: str) -> None:
    assert limits.CONTRACT_CODE.problem(code) is None


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("", "must not be empty"),
        ("X" * 65, "at most 64 characters, got 65"),
        ("../../etc/passwd", "made of letters"),
        ("a b", "made of letters"),
        ("-lead", "made of letters"),
        ('F0"1', "made of letters"),
    ],
)
def test_unsafe_codes_are_refused_with_the_reason(code: str, reason: str) -> None:
    problem = limits.CONTRACT_CODE.problem(code)
    assert problem is not None and reason in problem


def test_series_are_upper_case_and_dashes() -> None:
    assert limits.SERIES.problem("F001-ND") is None
    assert limits.SERIES.problem('F"01\r\n') is not None
    assert limits.SERIES.problem("f001") is not None


def test_external_ids_take_any_printable_text_but_no_control_character() -> None:
    assert limits.INTERACTION_ID.problem("ticket #42 / ñandú") is None
    assert limits.INTERACTION_ID.problem("ab\x00cd") is not None
    assert limits.INTERACTION_ID.problem("line\nbreak") is not None
    assert limits.INTERACTION_ID.problem("i" * 101) is not None
    assert limits.INTERACTION_ID.problem("\ud800") is not None  # a lone surrogate: no database stores it
    assert limits.INTERACTION_ID.problem("no\u00a0break") is None  # printable to the domain, not to isprintable


DOMAINS = [limits.CONTRACT_CODE, limits.CHANNEL, limits.INTERACTION_ID, limits.AGENT_ID, limits.CUSTOMER_ID]


@given(st.sampled_from(DOMAINS), st.text(max_size=120) | st.sampled_from(["\u00a0", "a\u2028b", "\ufeff", "x\udcff"]))
def test_the_quick_check_of_a_domain_says_what_its_problem_says(domain, value: str) -> None:
    assert domain.accepts(value) == (domain.problem(value) is None)


def test_amounts_fit_the_columns() -> None:
    assert limits.number_problem(Decimal("999999999999.99")) is None
    assert limits.number_problem(Decimal("99999999999999999999999.99")) is not None
    assert limits.number_problem(Decimal("0.1234567")) is not None
    assert limits.number_problem(Decimal("0.1234560")) is None
    # a hundred of the largest allowed amounts, in ten-thousandths, still fit SQLite's 64-bit integer
    assert limits.MAX_AMOUNT * 10**4 * 100 < 2**63


@pytest.mark.parametrize("text", ["1e400", "NaN", "Infinity", "-inf", "1" * 50, "", "abc", "1e-40"])
def test_numbers_that_are_not_sane_are_not_parsed(text: str) -> None:
    assert limits.parse_decimal(text) is None


def test_numbers_parse_exactly() -> None:
    assert limits.parse_decimal(" 1_000.50 ") == Decimal("1000.50")


def test_dates_are_within_the_engines_range() -> None:
    assert limits.date_problem(date(2026, 2, 28)) is None
    assert limits.date_problem(date(1900, 1, 1)) is not None
    assert limits.date_problem(date(2999, 1, 1)) is not None
