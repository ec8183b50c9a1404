"""Periods whose interaction rows retention deleted (``retention_purge``): their daily rollup
stays, counted against the thresholds and windows recorded at the purge. A measurement that
needs their rows (as of an import batch, from the rows, or under a threshold or window the
rollup does not count) is refused with the reason instead of answering from nothing."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from billing.core.periods import Period
from billing.core.problems import Conflict
from billing.storage.models import RetentionPurge


class PeriodPurged(Conflict):
    """The period's interactions were deleted by retention; only its rollup remains."""


def purges(session: Session, contract_ids: Iterable[int]) -> dict[tuple[int, Period], RetentionPurge]:
    wanted = sorted(set(contract_ids))
    if not wanted:
        return {}
    rows = session.execute(select(RetentionPurge).where(col(RetentionPurge.contract_id).in_(wanted))).scalars()
    return {(row.contract_id, Period.parse(row.period)): row for row in rows}


def check(session: Session, requests: Iterable[Any], from_rows: set[int]) -> None:
    """Refuse requests (``MeasureRequest``s, by index in ``from_rows`` when they read the rows)
    that a purged period cannot answer."""
    requests = list(requests)
    found = purges(session, (r.contract_id for r in requests))
    if not found:
        return
    for index, request in enumerate(requests):
        purge = found.get((request.contract_id, request.period))
        if purge is None:
            continue
        counted = set(request.thresholds) <= set(purge.thresholds) and request.repeat_window_days in purge.windows
        if index in from_rows or not counted:
            raise PeriodPurged(
                f"the interactions of {request.contract} {request.period} were deleted by retention on "
                f"{purge.applied_at:%Y-%m-%d}: only its daily totals remain (thresholds {purge.thresholds} s, "
                f"repeat windows {purge.windows} days), and this measurement needs more"
            )
