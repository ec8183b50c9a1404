"""``billing retention apply --keep-months N [--dry-run]``: delete the interaction rows of old
periods once nothing can need them again.

A contract-period older than the last N months (``today``'s month and the N - 1 before it
are kept) is deleted only when every one of these holds, else it is refused with the reason:

- its invoice is issued (or paid): a period not invoiced yet still needs its rows;
- no draft note corrects that invoice (a correction in progress re-measures it);
- its reconciliation window (``reconciliation.window_days`` of the terms, 90 by default) has
  passed: late data and disputes are settled against the rows;
- no later period whose earnback looks back on it is still within its own window.

What stays: the daily rollup of the period (its KPIs, read by every later rating and earnback),
every document with its lines, KPIs and service levels (the evidence they were issued on),
reconciliations, the audit trail and a ``retention_purge`` row saying what was deleted, when,
and what the kept days count. Measurements of a purged period that need rows are refused
(``billing.measurement.purged``). A row of a purged period imported later is imported like any
other and added to its day's totals (it is then the period's only row): imports do not look up
purges, and a period past its reconciliation window should receive none.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Engine, delete, func, select
from sqlmodel import Session, col

from billing.contracts.store import terms_in_force
from billing.core.periods import Period, day_of_number
from billing.measurement.purged import purges
from billing.measurement.rollup import lock_writers, stored_bases
from billing.storage.audit import record
from billing.storage.db import transaction
from billing.storage.models import Contract, Document, Interaction, RetentionPurge, utcnow

ISSUED = ("issued", "paid")


@dataclass(frozen=True)
class Verdict:
    contract: str
    period: Period
    rows: int
    delete: bool
    reason: str

    def as_json(self) -> dict[str, Any]:
        return {
            "contract": self.contract,
            "period": str(self.period),
            "interactions": self.rows,
            "action": "delete" if self.delete else "keep",
            "reason": self.reason,
        }


def apply(engine: Engine, keep_months: int, today: date, actor: str, dry_run: bool = False) -> list[Verdict]:
    """Judge every contract-period with interaction rows older than ``keep_months``; delete the
    rows of those that may go (unless ``dry_run``), in one transaction. Returns every verdict."""
    if keep_months < 1:
        raise ValueError("--keep-months is at least 1: the current month's rows are always kept")
    cutoff = Period(today.year, today.month).shift(-(keep_months - 1))
    with transaction(engine) as session:
        lock_writers(session)
        verdicts = [
            _judge(session, cid, code, period, rows, today) for cid, code, period, rows in _old(session, cutoff)
        ]
        if not dry_run:
            for verdict in verdicts:
                if verdict.delete:
                    _purge(session, verdict, actor)
        if not dry_run and any(v.delete for v in verdicts):
            record(session, actor, "retention.applied", "retention", str(today), {"keep_months": keep_months})
    return verdicts


def _old(session: Session, cutoff: Period) -> list[tuple[int, str, Period, int]]:
    """(contract id, code, period, rows) of the periods before ``cutoff`` that hold rows."""
    i = Interaction.__table__.c  # type: ignore[attr-defined]
    days = session.execute(select(i.contract_id, i.local_day, func.count()).group_by(i.contract_id, i.local_day)).all()
    codes = dict(session.execute(select(col(Contract.id), col(Contract.code))).all())
    found: dict[tuple[int, Period], int] = {}
    for cid, day, count in days:
        if day is None:
            continue
        local = day_of_number(int(day))
        period = Period(local.year, local.month)
        if period < cutoff:
            found[(cid, period)] = found.get((cid, period), 0) + int(count)
    return [(cid, codes[cid], period, rows) for (cid, period), rows in sorted(found.items())]


def _judge(session: Session, contract_id: int, code: str, period: Period, rows: int, today: date) -> Verdict:
    def keep(reason: str) -> Verdict:
        return Verdict(code, period, rows, False, reason)

    invoice = session.execute(
        select(Document).where(
            col(Document.contract_id) == contract_id,
            col(Document.kind) == "invoice",
            col(Document.period) == str(period),
            col(Document.status).in_(ISSUED),
        )
    ).scalar_one_or_none()
    if invoice is None:
        return keep("its invoice is not issued: the period still needs its rows")
    drafts = session.execute(
        select(func.count()).where(col(Document.corrects_id) == invoice.id, col(Document.status) == "draft")
    ).scalar_one()
    if drafts:
        return keep(f"a draft note corrects {invoice.number_text}: finish or void it first")
    terms = terms_in_force(session, code, period).terms
    closes = period.last_day + timedelta(days=terms.reconciliation.window_days)
    if today <= closes:
        return keep(f"its reconciliation window is open until {closes} ({terms.reconciliation.window_days} days)")
    months = terms.service_levels.earnback_months if terms.service_levels else None
    for later in range(1, (months or 0) + 1):
        following = period.shift(later)
        later_terms = terms_in_force(session, code, following).terms
        if today <= following.last_day + timedelta(days=later_terms.reconciliation.window_days):
            return keep(f"{following} looks back on it for earnback and can still be reconciled")
    return Verdict(code, period, rows, True, "issued, reconciliation window passed")


def _purge(session: Session, verdict: Verdict, actor: str) -> None:
    contract_id = session.execute(select(col(Contract.id)).where(col(Contract.code) == verdict.contract)).scalar_one()
    if (contract_id, verdict.period) in purges(session, [contract_id]):
        return
    basis = stored_bases(session, [contract_id])[contract_id]
    first, last = verdict.period.day_numbers()
    i = Interaction.__table__.c  # type: ignore[attr-defined]
    deleted = session.execute(
        delete(Interaction.__table__).where(  # type: ignore[attr-defined]
            i.contract_id == contract_id, i.local_day >= first, i.local_day <= last
        )
    ).rowcount
    session.add(
        RetentionPurge(
            contract_id=contract_id,
            period=str(verdict.period),
            applied_at=utcnow(),
            actor=actor,
            interactions_deleted=int(deleted or 0),
            timezone=basis.timezone,
            thresholds=list(basis.thresholds),
            windows=list(basis.windows),
            details={"reason": verdict.reason},
        )
    )
    session.flush()
