"""The provider's side of a scenario: what the operation costs each month. Pure.

A cost model (``CostTerms``, read from a costs file by ``billing.simulation.costs_file``) has
up to four parts, each optional:

- agents: per FTE-month or per productive hour. The hours are the month's measured productive
  hours (the workforce feed, or the profile's staffing for a prospect); per FTE-month they
  are converted with ``hours_per_fte`` (160 by default). A month without productive hours
  has no agent cost (the report says so).
- AI: per AI-handled contact (answered by AI) and per AI resolution.
- fixed: a monthly amount (platform, management, premises).

The cost depends on the operation, not on the prices: every scenario of a simulation has the
same cost, except where another resolution rule counts other AI resolutions. Each part is
exact; the month's cost is rounded once to the currency's minor unit (half up).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from billing.contracts.terms import DEFAULT_HOURS_PER_FTE, Filter
from billing.core.money import EXACT, round_amount
from billing.core.problems import Problem, ProblemsError
from billing.measurement.kpis import PeriodOutcomes, totals

ZERO = Decimal(0)
AI_ONLY = Filter(handled_by=("ai",))


@dataclass(frozen=True)
class AgentCost:
    """Exactly one of the two rates is set."""

    per_fte_month: Decimal | None = None
    per_productive_hour: Decimal | None = None
    hours_per_fte: Decimal = DEFAULT_HOURS_PER_FTE

    def of_hours(self, hours: Decimal) -> Decimal:
        if self.per_productive_hour is not None:
            return EXACT.multiply(self.per_productive_hour, hours)
        assert self.per_fte_month is not None
        return EXACT.divide(EXACT.multiply(self.per_fte_month, hours), self.hours_per_fte)


@dataclass(frozen=True)
class AiCost:
    per_contact: Decimal = ZERO
    per_resolution: Decimal = ZERO


@dataclass(frozen=True)
class CostTerms:
    """One contract's (or the default) cost model."""

    agents: AgentCost | None = None
    ai: AiCost | None = None
    fixed_monthly: Decimal | None = None


@dataclass(frozen=True)
class CostsFile:
    """A costs file: a default model and models per contract code. A contract's model takes
    each of its parts (agents, ai, fixed_monthly) from its own entry, else from the default."""

    source: str
    currency: str | None = None
    default: CostTerms | None = None
    contracts: Mapping[str, CostTerms] = field(default_factory=dict)

    def for_contract(self, code: str) -> CostTerms | None:
        own = self.contracts.get(code)
        if own is None:
            return self.default
        if self.default is None:
            return own
        return CostTerms(
            agents=own.agents if own.agents is not None else self.default.agents,
            ai=own.ai if own.ai is not None else self.default.ai,
            fixed_monthly=own.fixed_monthly if own.fixed_monthly is not None else self.default.fixed_monthly,
        )


@dataclass(frozen=True)
class MonthCost:
    """One month's cost, by part (exact) and in total (rounded once)."""

    agents: Decimal
    ai_contacts: Decimal
    ai_resolutions: Decimal
    fixed: Decimal
    total: Decimal
    productive_hours: Decimal
    #: True when the model prices agents but the month has no productive hours.
    no_hours: bool = False


def month_cost(costs: CostTerms, outcomes: PeriodOutcomes, minor_units: int) -> MonthCost:
    hours = outcomes.productive_hours
    agents = costs.agents.of_hours(hours) if costs.agents is not None else ZERO
    ai = totals(outcomes, AI_ONLY)
    per_contact = costs.ai.per_contact if costs.ai else ZERO
    per_resolution = costs.ai.per_resolution if costs.ai else ZERO
    ai_contacts = EXACT.multiply(per_contact, Decimal(ai.answered))
    ai_resolutions = EXACT.multiply(per_resolution, Decimal(ai.resolutions))
    fixed = costs.fixed_monthly or ZERO
    exact = EXACT.add(EXACT.add(agents, ai_contacts), EXACT.add(ai_resolutions, fixed))
    return MonthCost(
        agents,
        ai_contacts,
        ai_resolutions,
        fixed,
        round_amount(exact, minor_units),
        hours,
        no_hours=costs.agents is not None and hours == 0,
    )


def cost_model(costs: CostsFile | None, code: str, currency: str) -> CostTerms | None:
    """The cost model of ``code`` in a costs file (None without a file); refused when the file
    has none for it or states another currency."""
    if costs is None:
        return None
    if costs.currency is not None and costs.currency != currency:
        raise ProblemsError(
            [Problem("currency", f"the costs are in {costs.currency}, {code} bills in {currency}", costs.source)]
        )
    model = costs.for_contract(code)
    if model is None:
        raise ProblemsError(
            [Problem("no_costs", f"no cost model for {code} and no default", costs.source, None, "contracts")]
        )
    return model
