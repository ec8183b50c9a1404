"""The edge of simulation: read the alternative contract files, measure the months once, and
hand the outcomes to the pure ``billing.simulation``.

One ``measure`` call covers every month of the range plus the earlier months that earnback
looks back on. Scenarios that count resolutions the same way (time zone, repeat window,
escalation rule) share it; an alternative with another resolution rule adds one more call for
the same months, because it really measures something else.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
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
from billing.simulation.results import Scenario, SimulationResult
from billing.simulation.run import simulate
from billing.storage.db import reading

CURRENT = "current"
Rule = tuple[str, int, bool]  # time zone, repeat window days, exclude escalated


@dataclass(frozen=True)
class Alternative:
    name: str
    source: str
    terms: ContractTerms


def read_alternatives(paths: Sequence[Path]) -> list[Alternative]:
    """Parse and validate alternative contract files; every problem of every file at once."""
    problems: list[Problem] = []
    out: list[Alternative] = []
    names: set[str] = {CURRENT}
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


def simulate_contract(
    engine: Engine,
    code: str,
    alternatives: Sequence[Alternative],
    first: Period,
    last: Period,
    sweep: bool = False,
    sensitivity_percent: Decimal | None = None,
) -> SimulationResult:
    if last < first:
        raise ValueError(f"--to {last} is before --from {first}")
    with reading(engine) as session:
        scenarios = build_scenarios(session, code, alternatives, first, last)
    return simulate(code, scenarios, periods_between(first, last), sweep, sensitivity_percent)


def build_scenarios(
    session: Session, code: str, alternatives: Sequence[Alternative], first: Period, last: Period
) -> list[Scenario]:
    """The current terms and each alternative over the range, with the months measured once."""
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
    return scenarios


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
