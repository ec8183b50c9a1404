"""The edge of simulation: read the alternative contract files, measure the months once, and
hand the outcomes to the pure ``billing.simulation``.

One ``measure`` call covers every month of the range plus the earlier months that earnback
looks back on. Scenarios that count resolutions the same way (time zone, repeat window,
escalation rule) share it; an alternative with another resolution rule adds one more call for
the same months, because it really measures something else.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import Session

from billing.contracts.language import load_terms_text
from billing.contracts.store import get_contract, in_force, versions_of
from billing.contracts.terms import ContractTerms
from billing.core.periods import Period, periods_between
from billing.core.problems import Problem, ProblemsError
from billing.measurement.kpis import PeriodOutcomes
from billing.measurement.queries import MeasureRequest, measure
from billing.rating.service import thresholds_of
from billing.simulation.costs import CostsFile, cost_model
from billing.simulation.costs_file import load_costs_text
from billing.simulation.invoices import invoice_checks
from billing.simulation.profile import Profile, load_profile_text
from billing.simulation.ranges import left_out, priced
from billing.simulation.replay import replay
from billing.simulation.results import Scenario, SimulationResult
from billing.simulation.run import Context, simulate
from billing.storage.db import reading

CURRENT = "current"
Rule = tuple[str, int, bool]  # time zone, repeat window days, exclude escalated


@dataclass(frozen=True)
class Alternative:
    name: str
    source: str
    terms: ContractTerms


def read_alternatives(paths: Sequence[Path], reserved: Sequence[str] = (CURRENT,)) -> list[Alternative]:
    """Parse and validate alternative contract files; every problem of every file at once.
    Each is named after its file (a ' added while the name is taken)."""
    problems: list[Problem] = []
    out: list[Alternative] = []
    names: set[str] = set(reserved)
    for path in paths:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(Problem("file", f"cannot read the file: {exc}", str(path)))
            continue
        terms, found = load_terms_text(text, str(path))
        problems.extend(found)
        if terms is None:
            continue
        name = path.stem
        while name in names:
            name += "'"
        names.add(name)
        out.append(Alternative(name, str(path), terms))
    if problems:
        raise ProblemsError(problems)
    return out


def read_costs(path: Path) -> CostsFile:
    """Parse and validate a costs file; every problem at once."""
    costs, problems = load_costs_text(_read(path), str(path))
    if costs is None:
        raise ProblemsError(problems)
    return costs


def read_profile(path: Path) -> Profile:
    """Parse and validate a prospect's profile; every problem at once."""
    profile, problems = load_profile_text(_read(path), str(path))
    if profile is None:
        raise ProblemsError(problems)
    return profile


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ProblemsError([Problem("file", f"cannot read the file: {exc}", str(path))]) from None


def simulate_contract(
    engine: Engine,
    code: str,
    alternatives: Sequence[Alternative],
    first: Period,
    last: Period,
    *,
    now: datetime,
    sweep: bool = False,
    costs: CostsFile | None = None,
    include_partial: bool = False,
    locale: str | None = None,
) -> SimulationResult:
    """The contract's current terms and each alternative over ``first`` .. ``last``. Months
    that have not ended at ``now`` (in the contract's time zone) or hold no data are left out
    and listed (priced and flagged with ``include_partial``); each priced month with an issued
    invoice is compared with it (``billing.simulation.invoices``)."""
    if last < first:
        raise ValueError(f"--to {last} is before --from {first}")
    with reading(engine) as session:
        scenarios, contract_id = build_scenarios(session, code, alternatives, first, last)
        current = scenarios[0]
        model = cost_model(costs, code, current.reference.currency.code)
        scenarios = [dataclasses.replace(s, costs=model) for s in scenarios]
        wanted = periods_between(first, last)
        months_left_out = left_out(wanted, current.outcomes, lambda p: current.terms[p].timezone, now, include_partial)
        periods = priced(wanted, months_left_out)
        if not periods:
            reasons = ", ".join(f"{m.period} {m.reason.replace('_', ' ')}" for m in months_left_out)
            raise ValueError(f"no month of {first} to {last} can be priced ({reasons}); --include-partial prices them")
        simulated = {m.period: m.invoice for m in replay(scenarios[0], periods).months}
        checks = invoice_checks(session, contract_id, simulated, periods)
    context = Context(
        kind="contract",
        locale=locale or current.terms[periods[0]].client.locale,
        left_out=tuple(months_left_out),
        invoices=tuple(checks),
        costs_source=costs.source if costs else None,
    )
    return simulate(code, scenarios, periods, sweep, context)


def build_scenarios(
    session: Session, code: str, alternatives: Sequence[Alternative], first: Period, last: Period
) -> tuple[list[Scenario], int]:
    """The current terms and each alternative over the range, with the months measured once;
    and the contract's id."""
    contract = get_contract(session, code)
    assert contract.id is not None
    versions = versions_of(session, contract.id)
    every_terms = [in_force(versions, contract.id, p).terms for p in periods_between(first, last)]
    every_terms += [a.terms for a in alternatives]
    back = max((_earnback_months(t) for t in every_terms), default=0)
    months = periods_between(first.shift(-back), last)
    current = {p: in_force(versions, contract.id, p).terms for p in months}
    wanted: dict[Rule, list[Period]] = {}
    for p in months:
        wanted.setdefault(_rule(current[p]), []).append(p)
    for alternative in alternatives:
        wanted[_rule(alternative.terms)] = months  # a superset of what the current rule needed
    thresholds = thresholds_of(*current.values(), *(a.terms for a in alternatives))
    measured = measure_rules(session, contract.id, code, wanted, thresholds)
    scenarios = [
        Scenario(
            CURRENT,
            "contract terms in force",
            current,
            {p: measured[_rule(current[p])][p] for p in months},
        )
    ]
    for alternative in alternatives:
        scenarios.append(
            Scenario(
                alternative.name,
                alternative.source,
                dict.fromkeys(months, alternative.terms),
                measured[_rule(alternative.terms)],
            )
        )
    return scenarios, contract.id


def measure_rules(
    session: Session, contract_id: int, code: str, wanted: dict[Rule, list[Period]], thresholds: tuple[int, ...]
) -> dict[Rule, dict[Period, PeriodOutcomes]]:
    """One ``measure`` call per resolution rule, covering all its months."""
    out: dict[Rule, dict[Period, PeriodOutcomes]] = {}
    for rule, periods in wanted.items():
        timezone, window, exclude = rule
        requests = [MeasureRequest(contract_id, code, p, timezone, window, exclude, thresholds) for p in periods]
        found = measure(session, requests)
        out[rule] = {
            r.period: found.get((contract_id, r.period)) or PeriodOutcomes(code, r.period, thresholds) for r in requests
        }
    return out


def _rule(terms: ContractTerms) -> Rule:
    return (terms.timezone, terms.resolution.repeat_window_days, terms.resolution.exclude_escalated)


def _earnback_months(terms: ContractTerms) -> int:
    return (terms.service_levels.earnback_months or 0) if terms.service_levels else 0
