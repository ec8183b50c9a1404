"""The state of every active contract's period (``billing periods status``, the API, the portal
and ``close``): ``billing.invoicing.readiness`` applied to what is stored.

Repository functions: a session in, states out. ``now`` is an aware instant (each contract
sees it as its own local date) or a date (every contract's local date, for tests and for
questions such as "what was closable on 2026-11-05").
"""

from __future__ import annotations

from datetime import date, datetime

import pendulum
from sqlmodel import Session, col, select, text

from billing.contracts.store import ContractInForce, UnreadableContract, contracts_in_force
from billing.core.periods import Period
from billing.invoicing.readiness import InvoiceFacts, Readiness, readiness
from billing.storage.models import Document, Reconciliation


def local_today(now: datetime | date, timezone: str) -> date:
    """The contract's local date of ``now`` (a date is taken as already local)."""
    if not isinstance(now, datetime):
        return now
    if now.tzinfo is None:
        raise ValueError("a naive datetime has no instant: give an offset")
    local = pendulum.instance(now).in_timezone(timezone)
    return date(local.year, local.month, local.day)


def open_invoices(session: Session, period: Period, contract_ids: list[int] | None = None) -> dict[int, InvoiceFacts]:
    """The non-void invoice of each contract for the period, as readiness facts."""
    query = select(Document).where(
        Document.kind == "invoice", Document.period == str(period), col(Document.status) != "void"
    )
    if contract_ids is not None:
        query = query.where(col(Document.contract_id).in_(contract_ids))
    documents = session.exec(query).all()
    ids = [d.id for d in documents if d.id is not None and d.status != "draft"]
    reconciled = (
        set(session.exec(select(Reconciliation.document_id).where(col(Reconciliation.document_id).in_(ids))).all())
        if ids
        else set()
    )
    return {
        d.contract_id: InvoiceFacts(d.id or 0, d.status, d.number_text, bool(d.provisional), d.id in reconciled)
        for d in documents
    }


def status_of(item: ContractInForce, period: Period, now: datetime | date, invoice: InvoiceFacts | None) -> Readiness:
    terms = item.terms
    today = local_today(now, terms.timezone)
    return readiness(terms.code, period, terms.timezone, terms.close_after_days, today, invoice)


def period_status(
    session: Session, period: Period, now: datetime | date, client_id: str | None = None
) -> tuple[list[Readiness], list[UnreadableContract]]:
    """Every active contract's state for ``period`` (only ``client_id``'s when given), in
    contract order, and the contracts whose stored terms cannot be read."""
    items, unreadable = contracts_in_force(session, period)
    if client_id is not None:
        items = [item for item in items if item.terms.client.id == client_id]
        unreadable = [u for u in unreadable if _client_of(session, u.contract_id) == client_id]
    invoices = open_invoices(session, period, [item.contract_id for item in items])
    states = [status_of(item, period, now, invoices.get(item.contract_id)) for item in items]
    return states, unreadable


def _client_of(session: Session, contract_id: int) -> str | None:
    row = session.execute(text("SELECT client_id FROM contract WHERE id = :id"), {"id": contract_id}).first()
    return None if row is None else str(row[0])
