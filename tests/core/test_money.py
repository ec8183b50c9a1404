"""Money: Decimal only, one rounding step, explicit modes."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing.core.currencies import currency
from billing.core.money import Money, RoundingMode, percent_of, quantum, round_amount, to_decimal


def test_floats_are_refused():
    with pytest.raises(TypeError, match="floats are refused"):
        to_decimal(2.5)
    with pytest.raises(TypeError):
        Money(1.1, "USD")  # type: ignore[arg-type]


def test_junk_and_infinity_are_refused():
    with pytest.raises(ValueError):
        to_decimal("12,50")
    with pytest.raises(ValueError):
        to_decimal("Infinity")
    with pytest.raises(TypeError):
        to_decimal(True)


def test_minor_units_come_from_babel():
    assert [currency(c).minor_units for c in ("PEN", "EUR", "USD", "MXN", "JPY", "CLP")] == [2, 2, 2, 2, 0, 0]
    with pytest.raises(ValueError, match="unknown currency"):
        currency("XYZ")


def test_half_up_and_half_even_differ_only_on_ties():
    assert round_amount(Decimal("7.245"), 2, RoundingMode.HALF_UP) == Decimal("7.25")
    assert round_amount(Decimal("7.245"), 2, RoundingMode.HALF_EVEN) == Decimal("7.24")
    assert round_amount(Decimal("7.2485"), 2, RoundingMode.HALF_EVEN) == Decimal("7.25")
    assert round_amount(Decimal("1234.5"), 0, RoundingMode.HALF_EVEN) == Decimal("1234")
    assert round_amount(Decimal("1235.5"), 0, RoundingMode.HALF_EVEN) == Decimal("1236")


def test_rounding_ignores_the_ambient_context():
    import decimal

    with decimal.localcontext() as ctx:
        ctx.prec = 3
        ctx.rounding = decimal.ROUND_FLOOR
        assert round_amount(Decimal("404516.125"), 2, RoundingMode.HALF_UP) == Decimal("404516.13")


def test_money_refuses_mixed_currencies_and_money_times_money():
    pen = Money(Decimal("10.00"), "PEN")
    with pytest.raises(ValueError, match="PEN with USD"):
        pen + Money(Decimal("1"), "USD")
    with pytest.raises(TypeError):
        pen * pen
    assert (pen * 3 + pen).amount == Decimal("40.00")
    assert percent_of(Decimal("109.00"), Decimal("10")) == Decimal("10.9")


amounts = st.decimals(
    min_value=Decimal("-1e12"), max_value=Decimal("1e12"), allow_nan=False, allow_infinity=False, places=8
)


@given(amounts, st.sampled_from([0, 2, 3]), st.sampled_from(list(RoundingMode)))
def test_rounding_never_moves_more_than_half_a_minor_unit(amount, minor_units, mode):
    rounded = round_amount(amount, minor_units, mode)
    assert abs(rounded - amount) <= quantum(minor_units) / 2
    assert rounded == rounded.quantize(quantum(minor_units))  # a whole number of minor units
