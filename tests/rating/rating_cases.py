"""Builders shared by the rating tests: contracts written inline, measured outcomes by hand."""

from __future__ import annotations

from decimal import Decimal
from textwrap import dedent

from billing.contracts.language import load_terms_text
from billing.contracts.terms import ContractTerms
from billing.core.periods import Period
from billing.measurement.kpis import OutcomeCell, PeriodOutcomes
from tests.conftest import CONTRACTS


def contract(text: str) -> ContractTerms:
    terms, problems = load_terms_text(dedent(text), "inline.yaml")
    assert problems == [], problems
    assert terms is not None
    return terms


def example(name: str) -> ContractTerms:
    terms, problems = load_terms_text((CONTRACTS / name).read_text(), name)
    assert problems == [] and terms is not None
    return terms


def cell(
    channel: str = "voice",
    handled_by: str = "human",
    *,
    offered: int = 0,
    abandoned: int = 0,
    within: int = 0,
    abandoned_within: int = 0,
    wait: int = 0,
    handle: int = 0,
    resolutions: int = 0,
    csat: tuple[int, int] = (0, 0),
    qa: tuple[int, str] = (0, "0"),
) -> OutcomeCell:
    """One (channel, handled_by) cell; ``within`` counts answers within 20 s, ``csat`` is
    (surveys, scoring 4-5), ``qa`` (scored contacts, sum of scores)."""
    return OutcomeCell(
        channel,
        handled_by,
        offered=offered,
        abandoned=abandoned,
        answered_wait_sum=wait,
        handle_sum=handle,
        answered_within=(within,),
        abandoned_within=(abandoned_within,),
        resolutions=resolutions,
        csat_n=csat[0],
        csat_good=csat[1],
        qa_n=qa[0],
        qa_sum=Decimal(qa[1]),
    )


def measured(code: str, period: str, *cells: OutcomeCell, hours: str = "0") -> PeriodOutcomes:
    return PeriodOutcomes(code, Period.parse(period), (20,), tuple(cells), Decimal(hours))
