"""The edge of rating: find the terms in force, measure in the database once, then rate purely.

For a batch of contracts this builds one ``MeasureRequest`` per (contract, period) needed:
the period being rated and, for contracts with earnback, the look-back periods (each under
the terms in force then: its own resolution rule and service-level thresholds), and calls
``measure`` once for the whole batch. Rating itself is ``billing.rating.engine.rate``, pure.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import DecimalException

from sqlmodel import Session, col, select

from billing.contracts.store import ContractInForce, get_contract, in_force, terms_from_source
from billing.contracts.terms import DEFAULT_THRESHOLD_SECONDS, ContractTerms
from billing.core.periods import Period
from billing.measurement.kpis import PeriodOutcomes
from billing.measurement.queries import MeasureRequest, measure
from billing.measurement.repeats import resolutions_known_now
from billing.rating.engine import PeriodFacts, PeriodOutsideContract, rate
from billing.rating.lines import RatedInvoice
from billing.storage.models import ContractVersion

History = dict[Period, PeriodFacts]


def rate_contract(session: Session, code: str, period: Period, as_of_batch: int | None = None) -> RatedInvoice:
    """Rate one contract for one period (a preview: nothing is stored).

    Raises ``LookupError`` for an unknown contract and ``PeriodOutsideContract`` when the
    contract covers no day of the period."""
    contract = get_contract(session, code)
    assert contract.id is not None
    versions = _versions(session, [contract.id])[contract.id]
    item = in_force(versions, contract.id, period)
    if not item.terms.is_active(period):
        raise PeriodOutsideContract(
            f"contract {code} does not cover {period} (it runs {item.terms.start} to {item.terms.end or 'open end'})"
        )
    return rate_contracts(session, [item], period, as_of_batch)[0][1]


def rate_contracts(
    session: Session, items: list[ContractInForce], period: Period, as_of_batch: int | None = None
) -> list[tuple[ContractInForce, RatedInvoice]]:
    """Rate many contracts for one period with a single measurement of everything they need."""
    found = histories(session, items, period, as_of_batch)
    return [(item, rate(period, found[item.contract_id])) for item in items]


@dataclass(frozen=True)
class Unrated:
    """A contract that could not be rated: a stable ``reason`` code and a one-line message.
    ``not_measured``: its terms or outcomes could not be read; ``not_rated``: rating failed."""

    item: ContractInForce
    reason: str
    message: str


def rate_each(
    session: Session, items: list[ContractInForce], period: Period, as_of_batch: int | None = None
) -> tuple[list[tuple[ContractInForce, RatedInvoice]], list[Unrated]]:
    """``rate_contracts`` that isolates failures: a contract that cannot be measured or rated is
    returned with why, and every other contract is rated. Measurement stays one batch while
    nothing fails; a failing batch is split in halves (each inside a savepoint, so a failed
    statement on PostgreSQL does not abort the read) until the failing contracts stand alone."""
    found: dict[int, History] = {}
    unrated: list[Unrated] = []
    _measure_isolated(session, items, period, as_of_batch, found, unrated)
    rated = []
    for item in items:
        if item.contract_id not in found:
            continue
        try:
            rated.append((item, rate(period, found[item.contract_id])))
        except Exception as exc:  # a contract's figures break rating (e.g. an amount no context holds)
            unrated.append(Unrated(item, "not_rated", one_line(exc)))
    return rated, unrated


def _measure_isolated(
    session: Session,
    items: list[ContractInForce],
    period: Period,
    as_of_batch: int | None,
    found: dict[int, History],
    unrated: list[Unrated],
) -> None:
    if not items:
        return
    try:
        with session.begin_nested():
            found.update(histories(session, items, period, as_of_batch))
        return
    except Exception as exc:
        if len(items) == 1:
            unrated.append(Unrated(items[0], "not_measured", one_line(exc)))
            return
    half = len(items) // 2
    _measure_isolated(session, items[:half], period, as_of_batch, found, unrated)
    _measure_isolated(session, items[half:], period, as_of_batch, found, unrated)


def one_line(exc: BaseException) -> str:
    """An exception as one line a person can act on."""
    if isinstance(exc, DecimalException):
        return f"a figure of the contract is beyond what exact arithmetic can hold ({type(exc).__name__})"
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    if text and isinstance(exc, ValueError | LookupError):
        return text
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def histories(
    session: Session, items: list[ContractInForce], period: Period, as_of_batch: int | None = None
) -> dict[int, History]:
    """Per contract: the terms in force and the measured outcomes of ``period`` and of the
    earlier periods its earnback rule looks back on (measured in one batch)."""
    versions = _versions(session, [item.contract_id for item in items])
    wanted: dict[int, dict[Period, ContractTerms]] = {}
    for item in items:
        contract_versions = versions.get(item.contract_id, [])
        months = max((_earnback_months(_terms_of(v)) for v in contract_versions), default=0)
        months = max(months, _earnback_months(item.terms))
        per_period = {period: item.terms}
        for back in range(1, months + 1):
            earlier = period.shift(-back)
            terms = in_force(contract_versions, item.contract_id, earlier).terms if contract_versions else item.terms
            if terms.is_active(earlier):
                per_period[earlier] = terms
        wanted[item.contract_id] = per_period
    outcomes = measure_terms(session, wanted, as_of_batch)
    return {
        contract_id: {p: PeriodFacts(terms, outcomes[(contract_id, p)]) for p, terms in per_period.items()}
        for contract_id, per_period in wanted.items()
    }


def outcomes_for(
    session: Session,
    item: ContractInForce,
    periods: Iterable[Period],
    extra_terms: Iterable[ContractTerms] = (),
    as_of_batch: int | None = None,
) -> dict[Period, PeriodOutcomes]:
    """Measure one contract's periods once, under its current resolution rule, with every
    service-level threshold that ``item.terms`` or any of ``extra_terms`` needs, so the same
    outcomes can then be rated under any of those terms (``billing.rating.engine.rate_under``)."""
    thresholds = thresholds_of(item.terms, *extra_terms)
    requests = [_request(item.contract_id, item.terms, p, thresholds) for p in periods]
    measured = measure(session, requests, as_of_batch=as_of_batch)
    return {r.period: measured.get((item.contract_id, r.period)) or _empty(item.terms, r) for r in requests}


def measure_terms(
    session: Session, wanted: dict[int, dict[Period, ContractTerms]], as_of_batch: int | None = None
) -> dict[tuple[int, Period], PeriodOutcomes]:
    """One measurement for every (contract, period) wanted, each under the terms given for it."""
    requests = [
        _request(contract_id, terms, p, thresholds_of(terms))
        for contract_id, per_period in wanted.items()
        for p, terms in per_period.items()
    ]
    measured = measure(session, requests, as_of_batch=as_of_batch) if requests else {}
    by_key = {(r.contract_id, r.period): r for r in requests}
    return {key: measured.get(key) or _empty(wanted[key[0]][key[1]], request) for key, request in by_key.items()}


def with_repeats_known(session: Session, contract_id: int, at_issue: History, as_of: int) -> History:
    """``at_issue`` (measured as of batch ``as_of``) with each period's resolutions counted over
    the same rows but with the repeat-contact rule applied against every contact known now."""
    out: History = {}
    for period, facts in at_issue.items():
        rule = facts.terms.resolution
        counts = resolutions_known_now(
            session, contract_id, period, facts.terms.timezone, rule.repeat_window_days, rule.exclude_escalated, as_of
        )
        cells = tuple(
            dataclasses.replace(cell, resolutions=counts.get((cell.channel, cell.handled_by), 0))
            for cell in facts.outcomes.cells
        )
        out[period] = PeriodFacts(facts.terms, dataclasses.replace(facts.outcomes, cells=cells))
    return out


def thresholds_of(*terms: ContractTerms) -> tuple[int, ...]:
    """The waits (seconds) to count answers and abandons within: 20 (the KPI default) and every
    service level's threshold."""
    found = {DEFAULT_THRESHOLD_SECONDS}
    for t in terms:
        if t.service_levels:
            found.update(level.threshold_seconds for level in t.service_levels.levels)
    return tuple(sorted(found))


def _request(contract_id: int, terms: ContractTerms, period: Period, thresholds: tuple[int, ...]) -> MeasureRequest:
    return MeasureRequest(
        contract_id=contract_id,
        contract=terms.code,
        period=period,
        timezone=terms.timezone,
        repeat_window_days=terms.resolution.repeat_window_days,
        exclude_escalated=terms.resolution.exclude_escalated,
        thresholds=thresholds,
    )


def _empty(terms: ContractTerms, request: MeasureRequest) -> PeriodOutcomes:
    return PeriodOutcomes(terms.code, request.period, tuple(request.thresholds))


def _earnback_months(terms: ContractTerms) -> int:
    return (terms.service_levels.earnback_months or 0) if terms.service_levels else 0


def _terms_of(version: ContractVersion) -> ContractTerms:
    return terms_from_source(version.source_text, version.source_name)


def _versions(session: Session, contract_ids: list[int]) -> dict[int, list[ContractVersion]]:
    """Every version of the given contracts in one query, oldest first."""
    out: dict[int, list[ContractVersion]] = {cid: [] for cid in contract_ids}
    if not contract_ids:
        return out
    rows = session.exec(
        select(ContractVersion)
        .where(col(ContractVersion.contract_id).in_(contract_ids))
        .order_by(col(ContractVersion.contract_id), col(ContractVersion.effective_from))
    ).all()
    for version in rows:
        out[version.contract_id].append(version)
    return out
