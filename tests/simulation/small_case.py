"""A small case worked by hand (tests/simulation/test_workbench.py shows the arithmetic): one
October with 3,000 human voice contacts and 1,000 AI chats, priced under hybrid terms (2 FTE
and AI resolutions), per resolution, and fewer FTE dollars with dearer AI resolutions."""

from __future__ import annotations

from decimal import Decimal

from billing.core.periods import Period
from billing.measurement.kpis import OutcomeCell, PeriodOutcomes
from billing.simulation.costs import AgentCost, AiCost, CostTerms
from billing.simulation.results import Scenario
from tests.rating.rating_cases import contract

OCT = Period(2026, 10)

HEAD = """
    client: {id: sim, name: "Sim S.A.", locale: es_PE}
    currency: USD
    timezone: America/Lima
    start: 2026-01-01
    tax: {name: VAT, rate: "10"}
    invoicing: {series: S001, credit_note_series: SC01}
"""

CURRENT = (
    "    contract: SIM-1"
    + HEAD
    + """
    charges:
      - {id: agents, type: fte, rate: "4000.00", headcount: [{from: 2026-01-01, fte: 2}]}
      - {id: ai-resolutions, type: usage, metric: resolutions, filter: {handled_by: [ai]},
         pricing: {model: flat, unit_price: "1.00"}}
"""
)

PER_RESOLUTION = (
    "    contract: SIM-1-PR"
    + HEAD
    + """
    charges:
      - {id: human-resolutions, type: usage, metric: resolutions, filter: {handled_by: [human]},
         pricing: {model: flat, unit_price: "3.00"}}
      - {id: ai-resolutions, type: usage, metric: resolutions, filter: {handled_by: [ai]},
         pricing: {model: flat, unit_price: "1.00"}}
    service_levels:
      at_risk_percent: "10"
      levels:
        - {id: answer-speed, metric: service_level, channels: [voice], threshold_seconds: 20,
           target: "80", allocation_percent: "50"}
"""
)

FTE_BONUS = (
    "    contract: SIM-1-FTE"
    + HEAD
    + """
    charges:
      - {id: agents, type: fte, rate: "3500.00", headcount: [{from: 2026-01-01, fte: 2}]}
      - {id: ai-resolutions, type: usage, metric: resolutions, filter: {handled_by: [ai]},
         pricing: {model: flat, unit_price: "1.50"}}
"""
)

COSTS = CostTerms(
    agents=AgentCost(per_fte_month=Decimal("3000.00")),
    ai=AiCost(per_contact=Decimal("0.20"), per_resolution=Decimal("0.10")),
    fixed_monthly=Decimal("500.00"),
)


def october() -> dict[Period, PeriodOutcomes]:
    """Voice, human: 3,000 offered, none abandoned, 2,460 (82 %) within 20 s, 2,400 resolved,
    300 s each. Chat, AI: 1,000 offered, all within 20 s, 800 resolved, 120 s each. 320
    productive hours (2 FTE x 160)."""
    voice = OutcomeCell(
        "voice", "human", offered=3000, answered_within=(2460,), abandoned_within=(0,),
        handle_sum=900_000, resolutions=2400,
    )  # fmt: skip
    chat = OutcomeCell(
        "chat", "ai", offered=1000, answered_within=(1000,), abandoned_within=(0,), handle_sum=120_000, resolutions=800
    )
    return {OCT: PeriodOutcomes("SIM-1", OCT, (20,), (chat, voice), Decimal(320))}


def scenarios(costs: CostTerms | None = COSTS) -> list[Scenario]:
    outcomes = october()
    return [
        Scenario(name, "inline", dict.fromkeys(outcomes, contract(text)), outcomes, costs)
        for name, text in (("current", CURRENT), ("per-resolution", PER_RESOLUTION), ("fte-bonus", FTE_BONUS))
    ]
