"""Amendments: a file with the same contract code and an ``effective_from`` replaces the whole
terms from that period on. Here, the rules one file can check on its own; the contract store
checks the rest against what is stored (overlaps, identity, issued periods)."""

from __future__ import annotations

from datetime import date

from billing.contracts.language.reader import Reader
from billing.contracts.language.yaml_source import LineDict


def effective_from_of(r: Reader, document: LineDict, start: date | None, end: date | None) -> date | None:
    """The amendment's first day: the first day of a period, after the start, not after the end."""
    effective_from = r.day(document, "effective_from", "", required=False)
    if effective_from is not None:
        if effective_from.day != 1:
            r.problem(
                "amendment_mid_period",
                f"an amendment takes effect on the first day of a period, not {effective_from}",
                document,
                "effective_from",
                "effective_from",
            )
        if start and effective_from <= start:
            r.problem(
                "amendment_before_start",
                f"effective_from {effective_from} must be after start {start}",
                document,
                "effective_from",
                "effective_from",
            )
        if end and effective_from > end:
            r.problem(
                "amendment_after_end",
                f"effective_from {effective_from} is after end {end}",
                document,
                "effective_from",
                "effective_from",
            )
    return effective_from
