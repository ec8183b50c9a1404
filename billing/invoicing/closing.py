"""Closing a period: rate every active contract and keep one draft invoice per contract.

This is the service layer: ``close_period`` rates every active contract in one read (the KPI
queries are batched), then writes the drafts in transactions of up to ``CHUNK`` contracts. A
contract is never split across transactions, so a crash mid-run leaves every draft either
fully refreshed or as it was, never half-written; a rerun finishes the job. Why chunks: a
transaction per contract costs a commit (and on SQLite a connection) each, which made storing
a thousand drafts take tens of seconds here; one transaction for the whole month would hold
the write lock (SQLite) and the draft rows (PostgreSQL) for the whole close and lose
everything on one failure. A chunk keeps locks short and loses at most one chunk.

One contract never stops the month: see ``close_period``. Two ``close`` runs at once cannot
duplicate a draft: see ``billing.invoicing.drafts``.

Only closable periods are drafted (``billing.invoicing.readiness``): a contract whose month is
still open, or in its grace days, is skipped with the date it becomes closable. A preview
drafts those too, marked provisional, so finance sees what the month bills so far; a
provisional draft can never be issued, and the close that comes once the period is closable
refreshes it into a real draft.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Engine
from sqlmodel import Session, col, func, select

from billing.contracts.store import ContractInForce, contracts_in_force
from billing.core.periods import Period
from billing.invoicing.documents import ISSUED
from billing.invoicing.drafts import (
    ALREADY_ISSUED,
    NOT_CLOSABLE,
    NOT_STORED,
    OUT_OF_RANGE,
    TERMS_INVALID,
    CloseOutcome,
    CloseResult,
    skipped,
    storable_problem,
    store_chunk,
)
from billing.invoicing.periods import open_invoices, status_of
from billing.invoicing.readiness import Readiness
from billing.rating.lines import RatedInvoice
from billing.storage.db import reading, transaction
from billing.storage.models import Document, ImportBatch

Progress = Callable[[int, int, str], None]
#: Contracts whose drafts are written in one transaction (see the module docstring).
CHUNK = 100


def close_period(
    engine: Engine,
    period: Period,
    actor: str,
    now: datetime,
    on_progress: Progress | None = None,
    preview: bool = False,
) -> CloseResult:
    """Rate every active contract whose ``period`` is closable on ``now`` (each contract's
    local date) and store one draft invoice each; the others are skipped (``not_closable``)
    with the date they become closable, or, with ``preview``, drafted as provisional.

    Everything is read in one snapshot, so the newest import batch it records
    (``data_as_of``) is exactly the data the drafts were measured on, even while imports
    run; the stored repeat-contact facts are used (the as-of recomputation gives the same
    numbers at three times the cost). Contracts already invoiced (issued or paid) for the
    period are skipped and reported.

    One contract never stops the month: a contract whose terms cannot be read, measured or
    rated, whose invoice holds an amount no document may store, or whose draft cannot be
    written is skipped with a reason code (``billing.invoicing.drafts``) and a message, and
    every other contract gets its draft (``CloseResult.partial``)."""
    from billing.rating.service import rate_each

    failed: list[CloseOutcome] = []
    with reading(engine, snapshot=True) as session:
        data_as_of = latest_batch(session)
        items, unreadable = contracts_in_force(session, period)
        failed += [skipped(u.code, TERMS_INVALID, u.message) for u in unreadable]
        invoiced = invoiced_contracts(session, period)
        done = [item for item in items if item.contract_id in invoiced]
        pending = [item for item in items if item.contract_id not in invoiced]
        existing = open_invoices(session, period, [item.contract_id for item in pending])
        states = {item.contract_id: status_of(item, period, now, existing.get(item.contract_id)) for item in pending}
        waiting = [item for item in pending if not states[item.contract_id].closable]
        to_rate = pending if preview else [item for item in pending if states[item.contract_id].closable]
        rated, unrated = rate_each(session, to_rate, period)
    if not preview:
        failed += [_not_closable(states[item.contract_id]) for item in waiting]
    for miss in unrated:
        failed.append(skipped(miss.item.terms.code, miss.reason, miss.message))
    storable = []
    for item, invoice in rated:
        problem = storable_problem(invoice)
        if problem:
            failed.append(skipped(item.terms.code, OUT_OF_RANGE, f"its invoice cannot be stored: {problem}"))
        else:
            storable.append((item, invoice))
    provisional = frozenset(item.contract_id for item in waiting) if preview else frozenset()
    result = store_drafts(engine, period, storable, actor, now, data_as_of, on_progress, provisional=provisional)
    later = {item.terms.code: states[item.contract_id] for item in waiting}
    result.outcomes = [_provisional(o, later[o.contract]) if o.provisional else o for o in result.outcomes]
    for item in done:
        issued = invoiced[item.contract_id]
        result.outcomes.append(
            CloseOutcome(
                item.terms.code,
                "skipped",
                issued.id,
                issued.total,
                issued.currency,
                issued.number_text,
                f"already {issued.status} as {issued.number_text}",
                ALREADY_ISSUED,
            )
        )
    result.outcomes.extend(failed)
    result.outcomes.sort(key=lambda outcome: outcome.contract)
    return result


def _not_closable(state: Readiness) -> CloseOutcome:
    invoice = state.invoice
    return CloseOutcome(
        state.contract,
        "skipped",
        invoice.document_id if invoice else None,
        message=state.explain() + (" (its provisional draft is kept)" if invoice and invoice.provisional else ""),
        reason=NOT_CLOSABLE,
        provisional=bool(invoice and invoice.provisional),
        closable_on=state.closable_on.isoformat(),
    )


def _provisional(outcome: CloseOutcome, state: Readiness) -> CloseOutcome:
    from dataclasses import replace

    message = f"provisional: {state.explain()}; it cannot be issued"
    return replace(outcome, message=message, closable_on=state.closable_on.isoformat())


def store_drafts(
    engine: Engine,
    period: Period,
    rated: list[tuple[ContractInForce, RatedInvoice]],
    actor: str,
    now: datetime,
    data_as_of: int | None = None,
    on_progress: Progress | None = None,
    chunk: int = CHUNK,
    provisional: frozenset[int] = frozenset(),
) -> CloseResult:
    """Store rated invoices as drafts, ``chunk`` contracts per transaction. A chunk that fails
    is written again one contract per transaction, so only the contracts whose draft cannot be
    written are skipped (``not_stored``, their previous draft kept as it was). The drafts of
    contracts in ``provisional`` are marked provisional."""
    result = CloseResult(period, data_as_of)
    for start in range(0, len(rated), chunk):
        part = rated[start : start + chunk]
        try:
            with transaction(engine) as session:
                written = store_chunk(session, part, actor, now, data_as_of, provisional)
        except Exception:
            written = [_store_alone(engine, pair, actor, now, data_as_of, provisional) for pair in part]
        result.outcomes.extend(written)
        if on_progress:
            for done, outcome in enumerate(written, start=start + 1):
                on_progress(done, len(rated), outcome.contract)
    return result


def _store_alone(
    engine: Engine,
    pair: tuple[ContractInForce, RatedInvoice],
    actor: str,
    now: datetime,
    data_as_of: int | None,
    provisional: frozenset[int],
) -> CloseOutcome:
    from billing.rating.service import one_line

    try:
        with transaction(engine) as session:
            return store_chunk(session, [pair], actor, now, data_as_of, provisional)[0]
    except Exception as exc:  # whatever the cause, this contract alone is skipped
        return skipped(pair[0].terms.code, NOT_STORED, f"its draft could not be written: {one_line(exc)}")


def latest_batch(session: Session) -> int | None:
    """The newest import batch: the data a close or a measurement is as of."""
    return session.exec(select(func.max(ImportBatch.id))).one()


def invoiced_contracts(session: Session, period: Period) -> dict[int, Document]:
    """Contracts with an issued or paid invoice for the period, and that invoice."""
    rows = session.exec(
        select(Document).where(
            Document.kind == "invoice", Document.period == str(period), col(Document.status).in_(ISSUED)
        )
    ).all()
    return {document.contract_id: document for document in rows}
