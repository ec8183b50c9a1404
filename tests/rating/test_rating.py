"""Rating worked months: charges, true-ups, caps, service credits, the credit cap, earnback,
rounding modes. Contracts inline or from contracts/, outcomes measured by hand."""

import json
from decimal import Decimal as D

import pytest

from billing.core.periods import Period
from billing.rating.credits import cap_credits
from billing.rating.engine import PeriodFacts, PeriodOutsideContract, lookback_periods, rate, rate_under
from billing.rating.lines import LineType
from tests.conftest import GOLDEN
from tests.rating.rating_cases import cell, contract, example, measured

OCT = Period(2026, 10)


def rate_one(terms, outcomes):
    return rate(outcomes.period, {outcomes.period: PeriodFacts(terms, outcomes)})


def line(invoice, charge, line_type=None):
    found = [x for x in invoice.lines if x.charge == charge and (line_type is None or x.type == line_type)]
    assert len(found) == 1, [(x.charge, x.type) for x in invoice.lines]
    return found[0]


def test_golden_case_rates_to_the_expected_file():
    terms = contract((GOLDEN / "contract.yaml").read_text())
    outcomes = measured(
        "GOLD-1",
        "2026-10",
        # i1 i2 i5 i6 i7 i9: answered within 20 s i1 i7 i9, short abandon i6; resolutions i2 i7 i9
        cell(
            "voice", "human", offered=6, abandoned=2, within=3, abandoned_within=1, wait=63, handle=1100, resolutions=3
        ),
        cell("chat", "ai", offered=2, within=2, wait=20, handle=650, resolutions=1),  # i3 escalated, i4
        cell("email", "human", offered=1, wait=60, handle=600, resolutions=1),  # i8
    )
    invoice = rate_one(terms, outcomes).as_json()
    expected = json.loads((GOLDEN / "expected-rate-2026-10.json").read_text())
    for key in ("contract", "period", "currency", "subtotal", "tax", "total"):
        assert invoice[key] == expected[key]
    assert [(x["charge"], x["type"], x["amount"]) for x in invoice["lines"]] == [
        (x["charge"], x["type"], x["amount"]) for x in expected["lines"]
    ]
    assert invoice["lines"][1]["quantity"] == "5"
    assert invoice["lines"][1]["details"]["tiers"][0] == {
        "from": "0",
        "to": "3",
        "units": "3",
        "unit_price": "2",
        "amount": "6",
    }
    level = invoice["service_levels"][0]
    assert {k: level[k] for k in expected["service_levels"][0]} == expected["service_levels"][0]
    credit = invoice["lines"][2]["details"]
    assert (credit["value"], credit["target"], credit["sample"], credit["at_risk_amount"]) == (
        "60.00",
        "80",
        5,
        "10.90",
    )


def test_fixed_fee_is_prorated_in_a_partial_first_month():
    terms = example("northwind-health.yaml")  # starts 2026-07-15, platform 4500.00
    invoice = rate_one(terms, measured("NWH-2026", "2026-07"))
    platform = line(invoice, "platform")
    assert platform.quantity == D("0.548387")  # 17 / 31
    assert platform.amount == D("2467.74")  # 4500 x 17 / 31 = 2467.741935...
    assert platform.details["days_covered"] == 17 and platform.details["days_in_month"] == 31
    assert line(rate_one(terms, measured("NWH-2026", "2026-08")), "platform").amount == D("4500.00")


def test_a_period_the_contract_does_not_cover_is_refused():
    with pytest.raises(PeriodOutsideContract, match="does not cover 2026-06"):
        rate_one(example("northwind-health.yaml"), measured("NWH-2026", "2026-06"))


def test_fte_headcount_step_mid_month_banco_andino_october():
    terms = example("banco-andino.yaml")  # 9500.00 per FTE; 40 FTE, 45 from 2026-10-16
    agents = line(rate_one(terms, measured("BANDINO-2026", "2026-10")), "agents")
    # (15 days x 40 + 16 days x 45) / 31 = 1320 / 31 FTE-months; x 9500 = 404516.129...
    assert agents.amount == D("404516.13")
    assert agents.quantity == D("42.580645")
    assert agents.details["fte_days"] == "1320"
    assert [(s["from"], s["to"], s["days"], s["fte"]) for s in agents.details["steps"]] == [
        ("2026-10-01", "2026-10-15", 15, "40"),
        ("2026-10-16", "2026-10-31", 16, "45"),
    ]


FTE_MINIMUM = """
    contract: FTE-MIN
    client: {id: c, name: C}
    currency: USD
    timezone: America/New_York
    start: 2026-01-01
    end: 2026-10-20
    invoicing: {series: M, credit_note_series: MC}
    charges:
      - id: agents
        type: fte
        rate: "1000.00"
        headcount: [{from: 2026-01-01, fte: 30}, {from: 2026-10-11, fte: 40}]
        minimum_fte: 35
"""


def test_fte_minimum_floors_each_day_and_days_after_the_end_count_zero():
    agents = line(rate_one(contract(FTE_MINIMUM), measured("FTE-MIN", "2026-10")), "agents")
    # Oct 1-10 at max(30, 35) = 35, Oct 11-20 at 40, Oct 21-31 after the end: 0 -> 750 FTE-days
    assert agents.details["fte_days"] == "750"
    assert agents.amount == D("24193.55")  # 1000 x 750 / 31 = 24193.548...
    assert [(s["fte"], s["contracted_fte"], s["days"]) for s in agents.details["steps"]] == [
        ("35", "30", 10),
        ("40", "40", 10),
    ]


def test_hourly_bills_productive_hours():
    invoice = rate_one(example("northwind-health.yaml"), measured("NWH-2026", "2026-10", hours="1234.5"))
    hours = line(invoice, "agent-hours")
    assert (hours.quantity, hours.unit_price, hours.amount) == (D("1234.5"), D("18.50"), D("22838.25"))


def test_minimum_amount_adds_a_true_up_for_the_shortfall():
    terms = example("tienda-iberica.yaml")  # human resolutions: volume, minimum 12000.00
    invoice = rate_one(
        terms, measured("TIBERICA-2026", "2026-10", cell("voice", "human", offered=3000, resolutions=3000))
    )
    usage = line(invoice, "human-resolutions", LineType.USAGE)
    true_up = line(invoice, "human-resolutions", LineType.MINIMUM_TRUE_UP)
    assert usage.amount == D("10200.00")  # 3000 x 3.40 (the first band)
    assert true_up.amount == D("1800.00")
    assert true_up.details["shortfall"] == "1800.00"
    assert invoice.lines.index(true_up) == invoice.lines.index(usage) + 1


def test_included_units_are_free_on_the_invoice():
    terms = example("tienda-iberica.yaml")  # AI resolutions 0.95 each, 500 included
    invoice = rate_one(terms, measured("TIBERICA-2026", "2026-10", cell("chat", "ai", offered=1200, resolutions=1200)))
    ai = line(invoice, "ai-resolutions")
    assert (ai.quantity, ai.amount) == (D(1200), D("665.00"))
    assert ai.details["included"] == "500" and ai.details["billable"] == "700"


CAPPED = """
    contract: CAP-1
    client: {id: c, name: C}
    currency: USD
    timezone: America/New_York
    start: 2026-01-01
    invoicing: {series: C, credit_note_series: CC}
    charges:
      - {id: contacts, type: usage, metric: contacts, pricing: {model: flat, unit_price: "1.25"},
         maximum_amount: "1000.00"}
"""


def test_maximum_amount_caps_the_charge():
    contacts = line(rate_one(contract(CAPPED), measured("CAP-1", "2026-10", cell(offered=1000))), "contacts")
    assert contacts.amount == D("1000.00")
    assert contacts.details["capped_from"] == "1250"


def banco_october(*, voice_within: int, ai_offered: int, csat: tuple[int, int] = (50, 45)):
    return measured(
        "BANDINO-2026",
        "2026-10",
        cell(
            "voice",
            "human",
            offered=1000,
            abandoned=50,
            within=voice_within,
            abandoned_within=10,
            resolutions=600,
            csat=csat,
        ),
        cell("chat", "ai", offered=ai_offered, within=ai_offered, resolutions=7000),
    )


def test_service_levels_met_missed_and_not_assessed():
    invoice = rate_one(example("banco-andino.yaml"), banco_october(voice_within=700, ai_offered=9000))
    results = {r.id: r for r in invoice.service_levels}
    # answer speed: 700 / (950 + 50 - 10) = 70.71 < 80 -> missed
    assert results["answer-speed"].met is False and results["answer-speed"].sample == 990
    # first contact: 7600 / 9950 = 76.38 >= 70 -> met
    assert results["first-contact"].met is True and results["first-contact"].credit == D("0.00")
    # satisfaction: 50 surveys < minimum_sample 100 -> not assessed, no credit
    assert results["satisfaction"].met is None and results["satisfaction"].credit == D("0.00")
    # charges: 404516.13 + 7000 x 2.50 = 422016.13; at risk 10% = 42201.61; 40% -> 16880.64
    assert invoice.at_risk_amount == D("42201.61")
    credit = line(invoice, "answer-speed", LineType.SERVICE_CREDIT)
    assert credit.amount == D("-16880.64") and results["answer-speed"].credit == D("-16880.64")
    assert (invoice.subtotal, invoice.tax, invoice.total) == (D("405135.49"), D("72924.39"), D("478059.88"))
    assert not any(r.excused for r in invoice.service_levels)


def test_a_period_above_forecast_is_excused_but_still_measured():
    # forecast 52000 x 110% = 57200; offered 1000 + 59000 = 60000 -> excused
    invoice = rate_one(example("banco-andino.yaml"), banco_october(voice_within=700, ai_offered=59000))
    assert all(r.excused for r in invoice.service_levels)
    speed = next(r for r in invoice.service_levels if r.id == "answer-speed")
    assert speed.met is False and speed.credit == D("0.00") and speed.value is not None
    assert not [x for x in invoice.lines if x.type is LineType.SERVICE_CREDIT]
    assert invoice.kpis["forecast_excusal"]["limit"] == "57200"


POOL = """
    contract: POOL-1
    client: {id: c, name: C}
    currency: USD
    timezone: America/New_York
    start: 2026-01-01
    invoicing: {series: P, credit_note_series: PC}
    charges:
      - {id: fee, type: fixed, amount: "1000.00"}
    service_levels:
      at_risk_percent: "10"
      levels:
        - {id: speed, metric: asa_seconds, target: "30", allocation_percent: "40"}
        - {id: handle, metric: aht_seconds, target: "300", allocation_percent: "30"}
        - {id: abandons, metric: abandonment_rate, target: "5", allocation_percent: "30"}
        - {id: quality, metric: qa_score, target: "90", allocation_percent: "20"}
"""


def test_credits_are_cut_to_the_at_risk_amount_first_listed_first():
    # Every level missed: 40 + 30 + 30 + 20 = 120% of the 100.00 at risk; the 20.00 excess
    # comes off the first listed level.
    everything_missed = cell(offered=100, abandoned=10, wait=90 * 60, handle=90 * 400, qa=(10, "800"))
    invoice = rate_one(contract(POOL), measured("POOL-1", "2026-10", everything_missed))
    credits = {x.charge: x for x in invoice.lines if x.type is LineType.SERVICE_CREDIT}
    assert {k: v.amount for k, v in credits.items()} == {
        "speed": D("-20.00"),
        "handle": D("-30.00"),
        "abandons": D("-30.00"),
        "quality": D("-20.00"),
    }
    assert credits["speed"].details["cut_by_cap"] == "20.00"
    assert sum(v.amount for v in credits.values()) == -invoice.at_risk_amount


def test_the_cut_moves_on_to_the_next_level_when_the_first_is_used_up():
    assert cap_credits([D(10), D(30), D(80)], D(100)) == [D(0), D(20), D(80)]
    assert cap_credits([D(10), D(30)], D(100)) == [D(10), D(30)]


NWH_TERMS = example("northwind-health.yaml")  # 12% at risk, answer time ASA <= 30 at 50%, earnback 2


def nwh(period: str, asa: int, answered: int = 100):
    return measured("NWH-2026", period, cell(offered=answered, wait=asa * answered, handle=300 * answered), hours="100")


def test_earnback_after_two_met_months():
    history = {
        o.period: PeriodFacts(NWH_TERMS, o) for o in (nwh("2026-08", 45), nwh("2026-09", 20), nwh("2026-10", 25))
    }
    august = rate(Period(2026, 8), history)
    # 4500.00 + 100 h x 18.50 = 6350.00; at risk 12% = 762.00; answer time missed: 50% = 381.00
    assert line(august, "answer-time", LineType.SERVICE_CREDIT).amount == D("-381.00")
    october = rate(OCT, history)
    earnback = line(october, "answer-time", LineType.EARNBACK)
    assert earnback.amount == D("381.00")
    assert earnback.details["credit_period"] == "2026-08"
    assert [c["period"] for c in earnback.details["met_in"]] == ["2026-09", "2026-10"]
    assert earnback.details["target"] == "30" and earnback.details["sample"] == 100
    assert october.total == D("6350.00") + D("381.00")


@pytest.mark.parametrize(
    "september",
    [nwh("2026-09", 31), nwh("2026-09", 0, answered=0)],  # missed; not assessed (no data)
    ids=["missed", "not-assessed"],
)
def test_no_earnback_unless_met_in_every_month_between(september):
    history = {o.period: PeriodFacts(NWH_TERMS, o) for o in (nwh("2026-08", 45), september, nwh("2026-10", 25))}
    assert not [x for x in rate(OCT, history).lines if x.type is LineType.EARNBACK]


def banco(period: str, voice_within: int):
    return measured(
        "BANDINO-2026",
        period,
        cell("voice", "human", offered=1000, within=voice_within, resolutions=800),
        cell("chat", "ai", offered=7000, within=7000, resolutions=7000),
    )


def test_earnback_after_three_met_months_banco_andino():
    terms = example("banco-andino.yaml")
    months = [banco("2026-07", 700), banco("2026-08", 900), banco("2026-09", 850), banco("2026-10", 820)]
    history = {o.period: PeriodFacts(terms, o) for o in months}
    # July: 40 FTE x 9500 = 380000.00 + 7000 x 2.50 = 17500.00; at risk 39750.00; 40% = 15900.00
    assert line(rate(Period(2026, 7), history), "answer-speed", LineType.SERVICE_CREDIT).amount == D("-15900.00")
    october = rate(OCT, history)
    assert line(october, "answer-speed", LineType.EARNBACK).amount == D("15900.00")
    assert not [x for x in rate(Period(2026, 9), history).lines if x.type is LineType.EARNBACK]
    assert lookback_periods(OCT, terms) == [Period(2026, 7), Period(2026, 8), Period(2026, 9), OCT]


def test_rating_the_same_outcomes_under_other_terms_is_one_call():
    outcomes = {o.period: o for o in (banco("2026-09", 850), banco("2026-10", 820))}
    per_resolution = contract("""
        contract: BANDINO-2026
        client: {id: banco-andino, name: Banco Andino}
        currency: PEN
        timezone: America/Lima
        start: 2026-01-01
        invoicing: {series: F001, credit_note_series: FC01}
        charges:
          - {id: all-resolutions, type: usage, metric: resolutions, pricing: {model: flat, unit_price: "4.00"}}
    """)
    invoice = rate_under(per_resolution, outcomes, OCT)
    assert [(x.charge, x.amount) for x in invoice.lines] == [("all-resolutions", D("31200.00"))]  # 7800 x 4


ROUNDING = """
    contract: ROUND-1
    client: {{id: c, name: C}}
    currency: {currency}
    timezone: Asia/Tokyo
    start: 2026-01-01
    rounding: {mode}
    tax: {{name: Tax, rate: "10"}}
    invoicing: {{series: R, credit_note_series: RC}}
    charges:
      - {{id: contacts, type: usage, metric: contacts, pricing: {{model: flat, unit_price: "{price}"}}}}
"""


@pytest.mark.parametrize(
    ("mode", "amount", "tax", "total"),
    [("half_up", "0.13", "0.01", "0.14"), ("half_even", "0.12", "0.01", "0.13")],
)
def test_each_line_is_rounded_once_in_the_contract_mode(mode, amount, tax, total):
    terms = contract(ROUNDING.format(currency="USD", mode=mode, price="0.125"))
    invoice = rate_one(terms, measured("ROUND-1", "2026-10", cell(offered=1)))
    assert line(invoice, "contacts").exact_amount == D("0.125")
    assert (str(invoice.lines[0].amount), str(invoice.tax), str(invoice.total)) == (amount, tax, total)


def test_yen_has_no_minor_units():
    terms = contract(ROUNDING.format(currency="JPY", mode="half_up", price="12.5"))
    invoice = rate_one(terms, measured("ROUND-1", "2026-10", cell(offered=3))).as_json()
    # 3 x 12.5 = 37.5 -> 38; tax 3.8 -> 4; total 42
    assert (invoice["lines"][0]["amount"], invoice["subtotal"], invoice["tax"], invoice["total"]) == (
        "38",
        "38",
        "4",
        "42",
    )


def test_earnback_refuses_to_guess_over_a_gap_in_the_history():
    history = {o.period: PeriodFacts(NWH_TERMS, o) for o in (nwh("2026-08", 45), nwh("2026-10", 25))}
    with pytest.raises(ValueError, match="needs the outcomes of 2026-09"):
        rate(OCT, history)
