"""A prospect without history: every set of terms priced over months a profile generates.
Pure: the profile and the terms are values, the generator is seeded.

The first terms given are the reference (what the report compares against, as the current
terms are for a contract); the others are the alternatives. Every set of terms must bill in
the same currency. There is no earlier month: earnback looks back only within the months
generated."""

from __future__ import annotations

from collections.abc import Sequence

from billing.contracts.terms import ContractTerms
from billing.core.problems import Problem, ProblemsError
from billing.rating.service import thresholds_of
from billing.simulation.costs import CostsFile, cost_model
from billing.simulation.generator import generate
from billing.simulation.profile import MAX_MONTHS, Profile
from billing.simulation.results import Scenario, SimulationResult
from billing.simulation.run import Context, simulate


def simulate_prospect(
    profile: Profile,
    terms: Sequence[tuple[str, str, ContractTerms]],
    months: int,
    seed: int,
    sweep: bool = False,
    costs: CostsFile | None = None,
    locale: str | None = None,
) -> SimulationResult:
    """``terms`` is (name, source, terms) for each set, the reference first."""
    if not terms:
        raise ValueError("a prospect is priced under at least one set of terms (--terms)")
    if not 1 <= months <= MAX_MONTHS:
        raise ValueError(f"--months is between 1 and {MAX_MONTHS}, got {months}")
    currencies = {t.currency.code for _, _, t in terms}
    if len(currencies) > 1:
        sources = ", ".join(f"{source} ({t.currency.code})" for _, source, t in terms)
        raise ProblemsError([Problem("currency", f"every set of terms bills in one currency: {sources}")])
    model = cost_model(costs, profile.name, currencies.pop())
    outcomes = generate(profile, months, seed, thresholds_of(*(t for _, _, t in terms)))
    scenarios = [Scenario(name, source, dict.fromkeys(outcomes, t), outcomes, model) for name, source, t in terms]
    context = Context(
        kind="prospect",
        locale=locale or "en_US",
        costs_source=costs.source if costs else None,
        origin={"profile": profile.source, "seed": str(seed), "months": str(months)},
    )
    return simulate(profile.name, scenarios, list(outcomes), sweep, context)
