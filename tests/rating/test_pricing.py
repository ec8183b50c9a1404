"""Usage pricing models with worked numbers: each model is one pure function of the same shape."""

from decimal import Decimal as D

import pytest

from billing.contracts.terms import Pricing, PricingModel, Tier
from billing.rating.pricing import REGISTRY, price, price_usage, pricing_function

GRADUATED = Pricing(
    PricingModel.GRADUATED,
    tiers=(Tier(D(50), D("0.95")), Tier(D(100), D("0.90")), Tier(None, D("0.85"))),
)
VOLUME = Pricing(PricingModel.VOLUME, tiers=GRADUATED.tiers)


def test_every_model_is_registered_and_unknown_ones_are_refused():
    assert set(REGISTRY) == set(PricingModel)
    with pytest.raises(ValueError, match="unknown pricing model 'tiered'"):
        pricing_function("tiered")


def test_flat_charges_every_unit_at_the_unit_price():
    priced = price(Pricing(PricingModel.FLAT, unit_price=D("2.50")), D(7))
    assert priced.amount == D("17.50")
    assert priced.unit_price == D("2.50")


@pytest.mark.parametrize(
    ("quantity", "amount"),
    [
        (D(0), D(0)),
        (D(50), D("47.50")),  # up_to is inclusive: the 50th unit is still 0.95
        (D(51), D("48.40")),  # 50 x 0.95 + 1 x 0.90
        (D(100), D("92.50")),  # 47.50 + 50 x 0.90
        (D(101), D("93.35")),  # + 1 x 0.85
        (D(130), D("118.00")),  # 92.50 + 30 x 0.85
    ],
)
def test_graduated_prices_each_unit_in_its_band(quantity, amount):
    assert price(GRADUATED, quantity).amount == amount


def test_graduated_details_list_the_tiers_used():
    priced = price(GRADUATED, D(130))
    assert priced.details["tiers"] == [
        {"from": "0", "to": "50", "units": "50", "unit_price": "0.95", "amount": "47.5"},
        {"from": "50", "to": "100", "units": "50", "unit_price": "0.9", "amount": "45"},
        {"from": "100", "to": None, "units": "30", "unit_price": "0.85", "amount": "25.5"},
    ]
    assert round(priced.unit_price, 6) == D("0.907692")  # the effective price: 118 / 130


def test_graduated_splits_fractional_quantities_at_the_bounds():
    assert price(GRADUATED, D("50.5")).amount == D("47.50") + D("0.5") * D("0.90")


@pytest.mark.parametrize(
    ("quantity", "unit_price"),
    [(D(1), D("0.95")), (D(50), D("0.95")), (D(51), D("0.90")), (D(100), D("0.90")), (D(101), D("0.85"))],
)
def test_volume_prices_every_unit_at_the_band_of_the_total(quantity, unit_price):
    priced = price(VOLUME, quantity)
    assert priced.unit_price == unit_price
    assert priced.amount == quantity * unit_price
    assert len(priced.details["tiers"]) == 1


def test_package_charges_started_packages_whole():
    package = Pricing(PricingModel.PACKAGE, package_size=D(1000), package_price=D("410.00"))
    assert price(package, D(0)).amount == 0
    assert price(package, D(1000)).amount == D("410.00")
    started = price(package, D("1000.5"))
    assert started.amount == D("820.00")
    assert started.details["packages"] == "2"


def test_included_units_are_free_and_shown():
    flat = Pricing(PricingModel.FLAT, unit_price=D("0.95"))
    priced = price_usage(flat, D(1200), included=D(500))
    assert priced.amount == D("665.00")  # 700 x 0.95
    assert (priced.details["measured"], priced.details["included"], priced.details["billable"]) == (
        "1200",
        "500",
        "700",
    )
    assert price_usage(flat, D(300), included=D(500)).amount == 0


def test_included_units_come_off_the_first_tier():
    # 130 measured, 30 free: 100 billable = 50 x 0.95 + 50 x 0.90
    assert price_usage(GRADUATED, D(130), included=D(30)).amount == D("92.50")


def test_maximum_amount_caps_the_charge_and_says_from_what():
    priced = price_usage(GRADUATED, D(130), maximum_amount=D("100.00"))
    assert priced.amount == D("100.00")
    assert priced.details["capped_from"] == "118"
    assert "capped_from" not in price_usage(GRADUATED, D(100), maximum_amount=D("100.00")).details


def test_a_negative_quantity_is_a_bug():
    with pytest.raises(ValueError):
        price(GRADUATED, D(-1))
