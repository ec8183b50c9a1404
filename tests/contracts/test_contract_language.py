"""The contract language: every example loads; invalid files report every problem with
file, line and field."""

from decimal import Decimal
from textwrap import dedent

import pytest

from billing.contracts.language import load_terms_text
from billing.contracts.terms import FteCharge, KpiMetric, PricingModel, UsageCharge
from tests.conftest import CONTRACTS, GOLDEN


@pytest.mark.parametrize("path", [*sorted(CONTRACTS.glob("*.yaml")), GOLDEN / "contract.yaml"], ids=lambda p: p.name)
def test_every_example_contract_is_valid(path):
    terms, problems = load_terms_text(path.read_text(), str(path))
    assert problems == []
    assert terms is not None


def test_numbers_are_exact_decimals_even_when_written_unquoted():
    terms, problems = load_terms_text(
        dedent("""
        contract: EXACT-1
        client: {id: c, name: C}
        currency: USD
        timezone: America/New_York
        start: 2026-01-01
        invoicing: {series: E, credit_note_series: EC}
        charges:
          - {id: u, type: usage, metric: contacts, pricing: {model: flat, unit_price: 0.1}}
        """),
        "exact.yaml",
    )
    assert problems == []
    charge = terms.charges[0]
    assert isinstance(charge, UsageCharge)
    assert charge.pricing.unit_price == Decimal("0.1")  # not 0.1000000000000000055511151231257827


def test_banco_andino_terms():
    terms, _ = load_terms_text((CONTRACTS / "banco-andino.yaml").read_text(), "banco-andino.yaml")
    assert terms.currency.code == "PEN" and terms.currency.minor_units == 2
    agents = terms.charge("agents")
    assert isinstance(agents, FteCharge)
    assert [(s.start.isoformat(), s.fte) for s in agents.headcount] == [("2026-01-01", 40), ("2026-10-16", 45)]
    ai = terms.charge("ai-resolutions")
    assert isinstance(ai, UsageCharge) and ai.pricing.model is PricingModel.GRADUATED
    assert [t.up_to for t in ai.pricing.tiers] == [Decimal(10000), Decimal(50000), None]
    assert ai.filter.handled_by == ("ai",)
    levels = terms.service_levels.levels
    assert [lv.metric for lv in levels] == [KpiMetric.SERVICE_LEVEL, KpiMetric.FCR_RATE, KpiMetric.CSAT]
    assert levels[0].filter.channels == ("voice",) and levels[0].threshold_seconds == 20


BROKEN = dedent("""\
    contract: BROKEN-1
    client: {id: b, name: B, locale: xx_YY}
    currency: ZZZ
    timezone: Mars/Olympus
    start: 2026-01-01
    invoicing: {series: B, credit_note_series: BC}
    charges:
      - {id: u1, type: usage, metric: smiles, pricing: {model: flat, unit_price: "1"}}
      - {id: u2, type: usage, metric: contacts, pricing: {model: magic}}
      - id: tiers
        type: usage
        metric: resolutions
        pricing:
          model: graduated
          tiers:
            - {up_to: 100, unit_price: "1.00"}
            - {up_to: 50, unit_price: "0.90"}
            - {up_to: 500, unit_price: "0.80"}
      - {id: fee, type: fixed, amount: "-10"}
      - {id: fee2, type: fixed, amount: "ten"}
      - id: agents
        type: fte
        rate: "100"
        headcount:
          - {from: 2026-03-01, fte: 5}
          - {from: 2026-02-01, fte: 6}
    service_levels:
      at_risk_percent: "10"
      levels:
        - {id: l1, metric: fcr_rate, target: "70", allocation_percent: "-5"}
    """)


def test_every_problem_is_reported_at_once_with_line_and_field():
    terms, problems = load_terms_text(BROKEN, "broken.yaml")
    assert terms is None
    found = {(p.line, p.field, p.code) for p in problems}
    expected = {
        (2, "client.locale", "unknown_locale"),
        (3, "currency", "unknown_currency"),
        (4, "timezone", "unknown_timezone"),
        (8, "charges[0].metric", "unknown_metric"),
        (9, "charges[1].pricing.model", "unknown_pricing_model"),
        (17, "charges[2].pricing.tiers[1].up_to", "tier_order"),
        (18, "charges[2].pricing.tiers[2].up_to", "open_tier"),
        (19, "charges[3].amount", "negative"),
        (20, "charges[4].amount", "number"),
        (26, "charges[5].headcount[1].from", "order"),
        (30, "service_levels.levels[0].allocation_percent", "negative"),
    }
    assert expected <= found, sorted(found)
    assert all(p.source == "broken.yaml" for p in problems)
    assert "broken.yaml:3: currency: unknown currency 'ZZZ'" in [str(p) for p in problems]


def test_amendments_must_start_on_a_period_first_day():
    text = (
        (CONTRACTS / "banco-andino-2026-11.yaml")
        .read_text()
        .replace("effective_from: 2026-11-01", "effective_from: 2026-11-15")
    )
    _, problems = load_terms_text(text, "amend.yaml")
    assert [(p.code, p.field) for p in problems] == [("amendment_mid_period", "effective_from")]


def test_yaml_syntax_errors_name_the_line():
    _, problems = load_terms_text("contract: X\ncharges: [\n  {id: a\n", "syntax.yaml")
    assert problems[0].code == "yaml" and problems[0].line is not None


def test_unknown_fields_are_reported_not_ignored():
    text = (
        (GOLDEN / "contract.yaml")
        .read_text()
        .replace("rounding", "x")
        .replace("resolution: {", "resolution: {repeat_windw_days: 3, ")
    )
    _, problems = load_terms_text(text, "typo.yaml")
    assert [(p.field, p.code) for p in problems] == [("resolution.repeat_windw_days", "unknown_field")]
