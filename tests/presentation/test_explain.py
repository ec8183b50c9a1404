"""Each line says how it was calculated in a sentence built from the details rating stored
(the details below are what the engine stores for the demo's Banco Andino contract), in the
reader's language, with the reader's money and numbers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from billing.presentation.explain import explain, level_result, title
from billing.presentation.formatting import Formatter

NBSP = "\xa0"
ES, EN = Formatter.for_locale("es_PE"), Formatter.for_locale("en_US")


@dataclass
class Line:
    type: str
    charge: str
    description: str
    details: dict[str, Any] = field(default_factory=dict)


FTE = Line(
    "fte",
    "agents",
    "Agentes dedicados",
    {
        "rate": "9500",
        "fte_days": "1320",
        "days_in_month": 31,
        "days_covered": 31,
        "average_fte": "42.580645",
        "minimum_fte": "35",
        "steps": [
            {"from": "2026-10-01", "to": "2026-10-15", "days": 15, "fte": "40", "contracted_fte": "40"},
            {"from": "2026-10-16", "to": "2026-10-31", "days": 16, "fte": "45", "contracted_fte": "45"},
        ],
    },
)
USAGE = Line(
    "usage",
    "ai-resolutions",
    "Resoluciones del agente IA",
    {
        "metric": "resolutions",
        "measured": "9042",
        "included": "0",
        "billable": "9042",
        "model": "graduated",
        "units": "9042",
        "tiers": [{"from": "0", "to": "10000", "units": "9042", "unit_price": "2.5", "amount": "22605"}],
        "filter": "ai",
        "minimum_amount": "15000",
    },
)
CREDIT = Line(
    "service_credit",
    "answer-speed",
    "Service credit: answer-speed (service_level 74.44, target >= 80)",
    {
        "level": "answer-speed",
        "metric": "service_level",
        "value": "74.44",
        "target": "80",
        "comparison": "at least",
        "sample": 26519,
        "met": False,
        "threshold_seconds": 20,
        "filter": "voice",
        "allocation_percent": "40",
        "at_risk_amount": "40260.50",
        "at_risk_percent": "10",
        "credit_before_cap": "16104.20",
    },
)


def test_dedicated_agents_are_ftes_times_the_rate_for_the_days_of_each_headcount() -> None:
    assert explain(FTE, "PEN", EN) == (
        "40 FTE × PEN 9,500.00 for 15 of 31 days; 45 FTE × PEN 9,500.00 for 16 of 31 days. "
        "1,320 FTE-days in all, 42.580645 FTE on average."
    ).replace("PEN ", f"PEN{NBSP}")
    assert explain(FTE, "PEN", ES).startswith(f"40 FTE × S/{NBSP}9,500.00 por 15 de 31 días; 45 FTE")


def test_a_headcount_below_the_minimum_says_it_was_raised() -> None:
    step = {"from": "2026-10-01", "to": "2026-10-31", "days": 31, "fte": "35", "contracted_fte": "30"}
    line = Line("fte", "agents", "Agentes", {**FTE.details, "steps": [step]})
    assert (
        explain(line, "USD", EN) == "35 FTE × $9,500.00 for 31 of 31 days (30 contracted, raised to the minimum of 35)."
    )


def test_usage_names_what_was_measured_where_and_the_tiers() -> None:
    assert explain(USAGE, "PEN", EN) == (
        "9,042 resolutions measured (AI). By tiers: 9,042 × PEN 2.50. Minimum per month: PEN 15,000.00."
    ).replace("PEN ", f"PEN{NBSP}")
    assert explain(USAGE, "PEN", ES) == (
        f"9,042 medidas de «resoluciones» (IA). Por tramos: 9,042 × S/{NBSP}2.50. Mínimo mensual: S/{NBSP}15,000.00."
    )


def test_a_service_credit_names_the_level_its_channel_its_value_and_the_share_of_the_amount_at_risk() -> None:
    assert title(CREDIT, ES) == "Crédito por nivel de servicio: answer-speed"
    assert explain(CREDIT, "PEN", EN) == (
        "Service level (voice): 74.44% against a target of at least 80.00% (26,519 measured). "
        "Missed: 40% of the amount at risk (PEN 40,260.50, 10% of the charges) is PEN 16,104.20."
    ).replace("PEN ", f"PEN{NBSP}")
    assert "Nivel de servicio (voz): 74.44% frente a un objetivo de al menos 80.00%" in explain(CREDIT, "PEN", ES)


def test_a_cut_credit_an_earnback_a_true_up_and_a_note_line() -> None:
    cut = Line("service_credit", "x", "Service credit: x", {**CREDIT.details, "cut_by_cap": "104.20"})
    assert explain(cut, "EUR", Formatter.for_locale("es_ES")).endswith(
        f"Reducido en 104,20{NBSP}€ para que los créditos no superen el monto en riesgo."
    )
    earnback = Line(
        "earnback",
        "answer-speed",
        "Earnback: answer-speed credit of 2026-07 (met for 3 months)",
        {
            "level": "answer-speed",
            "credit_period": "2026-07",
            "credit": "16104.20",
            "met_in": [{"period": "2026-08"}, {"period": "2026-09"}, {"period": "2026-10"}],
        },
    )
    assert title(earnback, EN) == "Earnback of the July 2026 credit: answer-speed"
    assert explain(earnback, "USD", EN) == (
        "The credit of $16,104.20 taken in July 2026 comes back: the level was met in each of the 3 months "
        "after (August 2026, September 2026, October 2026)."
    )
    true_up = Line(
        "minimum_true_up",
        "ai-resolutions",
        "Minimum true-up: Resoluciones del agente IA",
        {"minimum_amount": "15000", "charged": "12000.00", "shortfall": "3000.00"},
    )
    assert title(true_up, ES) == "Ajuste al mínimo: Resoluciones del agente IA"
    assert explain(true_up, "USD", EN) == "The minimum of $15,000.00 less the $12,000.00 charged: $3,000.00."
    note = Line("usage", "ai-resolutions", "Repeat contacts", {"corrects": "F001-00000002", "corrects_line": 2})
    assert explain(note, "PEN", ES) == "Corrige la línea 2 de F001-00000002."


@pytest.mark.parametrize(
    ("details", "shown"),
    [
        (
            {"amount": "12500", "days_covered": 31, "days_in_month": 31, "prorated": False},
            "Monthly fee of $12,500.00 for the whole month (31 days).",
        ),
        (
            {"amount": "12500", "days_covered": 16, "days_in_month": 31, "prorated": True},
            "Monthly fee of $12,500.00 for 16 of 31 days.",
        ),
    ],
)
def test_a_fixed_fee_says_whether_it_was_prorated(details: dict[str, Any], shown: str) -> None:
    assert explain(Line("fixed", "platform", "Fixed fee", details), "USD", EN) == shown
    assert title(Line("fixed", "platform", "Fixed fee", details), ES) == "Tarifa fija"


def test_a_level_with_an_at_most_target_and_a_handler_filter() -> None:
    level = {
        "metric": "asa_seconds",
        "value": "31.5",
        "target": "30",
        "comparison": "at most",
        "sample": 900,
        "filter": "chat, human",
    }
    assert level_result(level, EN) == (
        f"Average speed of answer (chat, agents): 31.5{NBSP}s against a target of at most 30{NBSP}s (900 measured)"
    )


def test_kpis_carry_their_units_in_the_locales_conventions() -> None:
    spain = Formatter.for_locale("es_ES")
    assert spain.measure("abandonment_rate", "5.30") == f"5,30{NBSP}%"
    assert EN.measure("abandonment_rate", "5.30") == "5.30%"
    assert spain.measure("asa_seconds", "479.44") == f"479,44{NBSP}s"
    assert Formatter.for_locale("es_MX").measure("offered", 47800) == "47,800"
    assert (
        EN.metric("fcr_rate") == "First-contact resolution"
        and ES.metric("fcr_rate") == "Resolución en el primer contacto"
    )
    assert ES.scope(["voice"], ["ai"]) == "voz, IA" and ES.scope() == "todos los canales"
