"""Properties of rating over random contracts and quantities (hypothesis)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

from hypothesis import given, settings
from hypothesis import strategies as st

from billing.contracts.terms import (
    ClientInfo,
    ContractTerms,
    FixedCharge,
    FteCharge,
    HeadcountStep,
    HourlyCharge,
    Invoicing,
    KpiMetric,
    Pricing,
    PricingModel,
    ServiceLevel,
    ServiceLevels,
    Tax,
    Tier,
    UsageCharge,
    UsageMetric,
)
from billing.core.money import Currency, RoundingMode, quantum
from billing.core.periods import Period
from billing.measurement.kpis import OutcomeCell, PeriodOutcomes
from billing.rating.engine import PeriodFacts, rate
from billing.rating.lines import LineType
from billing.rating.pricing import price

PERIOD = Period(2026, 10)

amounts = st.decimals(min_value=0, max_value=100_000, places=4)
prices = st.decimals(min_value=0, max_value=50, places=4)
quantities = st.decimals(min_value=0, max_value=200_000, places=2)


@st.composite
def tiers(draw, decreasing: bool = False) -> tuple[Tier, ...]:
    bounds = sorted(draw(st.sets(st.integers(1, 100_000), min_size=0, max_size=4)))
    unit_prices = draw(st.lists(prices, min_size=len(bounds) + 1, max_size=len(bounds) + 1))
    if decreasing:
        unit_prices = sorted(unit_prices, reverse=True)
    banded = [Tier(D(b), p) for b, p in zip(bounds, unit_prices, strict=False)]
    return (*banded, Tier(None, unit_prices[-1]))


@st.composite
def pricings(draw) -> Pricing:
    model = draw(st.sampled_from(PricingModel))
    if model is PricingModel.FLAT:
        return Pricing(model, unit_price=draw(prices))
    if model is PricingModel.PACKAGE:
        return Pricing(model, package_size=D(draw(st.integers(1, 5000))), package_price=draw(amounts))
    return Pricing(model, tiers=draw(tiers()))


@st.composite
def charges(draw, index: int):
    kind = draw(st.sampled_from(["fixed", "fte", "hourly", "usage"]))
    cid = f"c{index}"
    if kind == "fixed":
        return FixedCharge(cid, "", draw(amounts))
    if kind == "fte":
        steps = sorted(draw(st.sets(st.integers(1, 31), min_size=1, max_size=3)))
        return FteCharge(
            cid,
            "",
            draw(amounts),
            tuple(HeadcountStep(date(2026, 10, d), D(draw(st.integers(0, 80)))) for d in steps),
            minimum_fte=draw(st.none() | st.integers(0, 50).map(D)),
        )
    if kind == "hourly":
        return HourlyCharge(cid, "", draw(prices))
    minimum = draw(st.none() | amounts)
    maximum = draw(st.none() | amounts)
    if minimum is not None and maximum is not None and maximum < minimum:
        minimum, maximum = maximum, minimum
    return UsageCharge(
        cid,
        "",
        draw(st.sampled_from(UsageMetric)),
        draw(pricings()),
        included=D(draw(st.integers(0, 1000))),
        minimum_amount=minimum,
        maximum_amount=maximum,
    )


@st.composite
def contracts(draw) -> ContractTerms:
    count = draw(st.integers(1, 4))
    levels = tuple(
        ServiceLevel(
            f"l{i}",
            draw(st.sampled_from(KpiMetric)),
            target=draw(st.decimals(min_value=0, max_value=100, places=2)),
            allocation_percent=draw(st.decimals(min_value=0, max_value=100, places=1)),
        )
        for i in range(draw(st.integers(0, 5)))
    )
    return ContractTerms(
        code="PROP-1",
        client=ClientInfo("c", "C"),
        currency=Currency("XXX", draw(st.sampled_from([0, 2, 3]))),
        timezone="UTC",
        start=draw(st.sampled_from([date(2026, 1, 1), date(2026, 10, 9)])),
        end=draw(st.sampled_from([None, date(2026, 10, 20)])),
        charges=tuple(draw(charges(i)) for i in range(count)),
        invoicing=Invoicing("P", "PC", "PD"),
        rounding=draw(st.sampled_from(RoundingMode)),
        tax=draw(st.none() | st.decimals(min_value=0, max_value=30, places=2).map(lambda r: Tax("Tax", r))),
        service_levels=ServiceLevels(draw(st.decimals(min_value=0, max_value=30, places=1)), levels)
        if levels
        else None,
    )


@st.composite
def outcomes(draw) -> PeriodOutcomes:
    cells = []
    for channel, handled_by in draw(st.sets(st.sampled_from([("voice", "human"), ("chat", "ai")]), max_size=2)):
        offered = draw(st.integers(0, 50_000))
        abandoned = draw(st.integers(0, offered))
        answered = offered - abandoned
        csat_n = draw(st.integers(0, answered))
        qa_n = draw(st.integers(0, answered))
        cells.append(
            OutcomeCell(
                channel,
                handled_by,
                offered=offered,
                abandoned=abandoned,
                answered_wait_sum=draw(st.integers(0, 120 * answered)),
                handle_sum=draw(st.integers(0, 900 * answered)),
                answered_within=(draw(st.integers(0, answered)),),
                abandoned_within=(draw(st.integers(0, abandoned)),),
                resolutions=draw(st.integers(0, answered)),
                csat_n=csat_n,
                csat_good=draw(st.integers(0, csat_n)),
                qa_n=qa_n,
                qa_sum=D(draw(st.integers(0, 100 * qa_n))),
            )
        )
    return PeriodOutcomes("PROP-1", PERIOD, (20,), tuple(cells), draw(st.decimals(0, 20_000, places=2)))


@settings(max_examples=300, deadline=None)
@given(contracts(), outcomes())
def test_totals_add_up_and_every_amount_is_whole_minor_units(terms, measured):
    invoice = rate(PERIOD, {PERIOD: PeriodFacts(terms, measured)})
    minor = quantum(terms.currency.minor_units)
    assert invoice.subtotal == sum((line.amount for line in invoice.lines), D(0))
    assert invoice.total == invoice.subtotal + invoice.tax
    for amount in [invoice.subtotal, invoice.tax, invoice.total, *(line.amount for line in invoice.lines)]:
        assert amount % minor == 0
    for line in invoice.lines:
        assert abs(line.amount - line.exact_amount) <= minor / 2


@settings(max_examples=300, deadline=None)
@given(contracts(), outcomes())
def test_credits_never_exceed_the_at_risk_amount(terms, measured):
    invoice = rate(PERIOD, {PERIOD: PeriodFacts(terms, measured)})
    credits = [line.amount for line in invoice.lines if line.type is LineType.SERVICE_CREDIT]
    assert all(credit < 0 for credit in credits)
    if invoice.at_risk_amount is not None:
        assert -sum(credits, D(0)) <= invoice.at_risk_amount
        assert sum((r.credit for r in invoice.service_levels), D(0)) == sum(credits, D(0))
    charges_total = sum((line.amount for line in invoice.lines if line.type.is_charge), D(0))
    assert invoice.at_risk_amount is None or invoice.at_risk_amount <= charges_total


@given(tiers(decreasing=True), quantities)
def test_graduated_never_charges_more_than_flat_at_the_first_tier_price(bands, quantity):
    graduated = price(Pricing(PricingModel.GRADUATED, tiers=bands), quantity)
    flat = price(Pricing(PricingModel.FLAT, unit_price=bands[0].unit_price), quantity)
    assert graduated.amount <= flat.amount


@given(tiers(), quantities)
def test_volume_and_graduated_agree_when_one_tier_is_used(bands, quantity):
    first = bands[0].up_to
    if first is not None:
        quantity = min(quantity, first)
    graduated = price(Pricing(PricingModel.GRADUATED, tiers=bands), quantity)
    volume = price(Pricing(PricingModel.VOLUME, tiers=bands), quantity)
    assert graduated.amount == volume.amount


@given(tiers(), quantities)
def test_graduated_tiers_account_for_every_unit(bands, quantity):
    priced = price(Pricing(PricingModel.GRADUATED, tiers=bands), quantity)
    assert sum((D(t["units"]) for t in priced.details["tiers"]), D(0)) == quantity
    assert sum((D(t["amount"]) for t in priced.details["tiers"]), D(0)) == priced.amount
