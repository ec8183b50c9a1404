"""The edge of reconciliation: read the issued invoice and its notes, re-measure the period
three ways (see ``billing.reconciliation``), compare, record, and optionally draft the note
that settles what is still open.

Transactions: everything is read in one session; the proposed note is created through
``billing.invoicing.notes.create_note`` (its own transaction, a DRAFT: issuing it goes through the
normal ``issue`` path); the reconciliation record is written last. If that last write failed,
the draft note still counts as billed in the next run, so nothing is ever settled twice.
"""

from __future__ import annotations

import dataclasses
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, text
from sqlmodel import Session, col
from sqlmodel import select as select_model

from billing.contracts.store import ContractInForce, get_contract
from billing.core.periods import Period
from billing.invoicing.documents import ISSUED, lines_of, terms_of
from billing.invoicing.invoices import latest_batch
from billing.invoicing.notes import ADJUSTMENT, NOT_VOID, create_note
from billing.invoicing.notes import NoteLine as DraftNoteLine
from billing.rating.engine import rate
from billing.rating.service import histories, with_repeats_known
from billing.reconciliation.compare import reconcile
from billing.reconciliation.propose import propose
from billing.reconciliation.results import (
    BilledInvoice,
    BilledLevel,
    BilledLine,
    NoteLine,
    NoteProposal,
    ReconciliationResult,
    Rerated,
)
from billing.storage.audit import record
from billing.storage.db import reading, transaction
from billing.storage.models import ClientKpi, Contract, Document, Reconciliation, utcnow

#: Key in a note line's details listing what the line settles: [{charge, type, amount}].
SETTLES = "reconciliation"


class NothingToReconcile(LookupError):
    """The contract has no issued invoice for the period."""


@dataclasses.dataclass(frozen=True)
class Outcome:
    result: ReconciliationResult
    reconciliation_id: int
    proposed_document_id: int | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            **self.result.as_json(),
            "reconciliation_id": self.reconciliation_id,
            "proposed_document_id": self.proposed_document_id,
        }


def reconcile_contract(
    engine: Engine, code: str, period: Period, actor: str, now: datetime | None = None, propose_note: bool = False
) -> Outcome:
    """Reconcile one contract's issued invoice of ``period``; with ``propose_note`` draft the note.

    Two reconciliations of the same contract-period at once would both see nothing settled and
    both draft a note: on PostgreSQL they take turns on an advisory lock (SQLite serves one
    writer at a time and is not meant for concurrent finance work)."""
    at = now or utcnow()
    with _one_at_a_time(engine, f"reconcile:{code}:{period}"):
        with reading(engine) as session:
            result = compare(session, code, period)
        proposed_id = None
        if propose_note and result.proposal is not None:
            proposed_id = _draft_note(engine, result, result.proposal, actor, at)
        return _record(engine, code, period, result, proposed_id, actor, at)


@contextmanager
def _one_at_a_time(engine: Engine, name: str) -> Iterator[None]:
    if engine.dialect.name != "postgresql":
        yield
        return
    key = zlib.crc32(name.encode())
    with engine.connect() as conn:
        conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": key})
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
            conn.commit()


def _record(
    engine: Engine,
    code: str,
    period: Period,
    result: ReconciliationResult,
    proposed_id: int | None,
    actor: str,
    at: datetime,
) -> Outcome:
    with transaction(engine) as session:
        contract = get_contract(session, code)
        row = Reconciliation(
            contract_id=contract.id,  # type: ignore[arg-type]
            period=str(period),
            document_id=result.invoice_id,
            reconciled_at=at,
            data_as_of=result.data_as_of,
            result=result.as_json(),
            proposed_document_id=proposed_id,
        )
        session.add(row)
        session.flush()
        assert row.id is not None
        record(
            session,
            actor,
            "invoice.reconciled",
            "document",
            result.invoice_id,
            {
                "net_difference": str(result.net_difference),
                "data_as_of": result.data_as_of,
                "proposed_document_id": proposed_id,
            },
            at=at,
        )
        return Outcome(result, row.id, proposed_id)


def reconcile_period(
    engine: Engine, period: Period, actor: str, now: datetime | None = None, propose_note: bool = False
) -> list[Outcome]:
    """Every contract with an issued invoice for ``period``, in code order."""
    with reading(engine) as session:
        codes = session.exec(
            select_model(Contract.code)
            .join(Document, col(Document.contract_id) == Contract.id)
            .where(Document.kind == "invoice", Document.period == str(period), col(Document.status).in_(ISSUED))
            .order_by(col(Contract.code))
        ).all()
    return [reconcile_contract(engine, code, period, actor, now, propose_note) for code in codes]


def compare(session: Session, code: str, period: Period) -> ReconciliationResult:
    """The comparison, with the proposal that would settle it; nothing is written."""
    contract = get_contract(session, code)
    invoice = session.exec(
        select_model(Document).where(
            Document.contract_id == contract.id,
            Document.kind == "invoice",
            Document.period == str(period),
            col(Document.status).in_(ISSUED),
        )
    ).first()
    if invoice is None:
        raise NothingToReconcile(f"{code} has no issued invoice for {period}: nothing to reconcile")
    assert invoice.id is not None and contract.id is not None
    terms = terms_of(session, invoice)
    item = ContractInForce(contract.id, invoice.terms_version_id or 0, terms)
    now_batch = latest_batch(session)
    issued_as_of = invoice.data_as_of if invoice.data_as_of is not None else 0
    at_issue = histories(session, [item], period, as_of_batch=issued_as_of)[contract.id]
    repeats_known = with_repeats_known(session, contract.id, at_issue, issued_as_of)
    today = histories(session, [item], period)[contract.id]
    rerated = Rerated(
        as_of_issue=rate(period, at_issue),
        repeats_known=rate(period, repeats_known),
        now=rate(period, today),
        productive_hours=today[period].outcomes.productive_hours,
        data_as_of=now_batch,
    )
    result = reconcile(
        terms,
        billed_invoice(session, invoice),
        note_lines(session, invoice.id),
        rerated,
        client_figures(session, contract.id, period),
    )
    return dataclasses.replace(result, proposal=propose(result))


# -- reading the billed side ---------------------------------------------------------------------


def billed_invoice(session: Session, invoice: Document) -> BilledInvoice:
    assert invoice.id is not None
    lines = tuple(
        BilledLine(line.charge, line.type, line.quantity, line.amount, line.description)
        for line in lines_of(session, invoice.id)
    )
    levels = tuple(
        BilledLevel(
            id=str(level["id"]),
            value=None if level.get("value") is None else Decimal(str(level["value"])),
            met=level.get("met"),
            credit=Decimal(str(level.get("credit") or "0")),
            excused=bool(level.get("excused")),
        )
        for level in invoice.service_levels or []
    )
    return BilledInvoice(
        invoice.id, invoice.number_text or str(invoice.id), invoice.subtotal, lines, levels, invoice.data_as_of
    )


def note_lines(session: Session, invoice_id: int) -> list[NoteLine]:
    """Every line of the notes correcting the invoice that are not void (drafts included: a
    pending note is already a proposal), signed as its effect on what the client owes. A line
    written by reconciliation says in its details which invoice lines it settles."""
    notes = session.exec(
        select_model(Document).where(Document.corrects_id == invoice_id, col(Document.status).in_(NOT_VOID))
    ).all()
    out: list[NoteLine] = []
    for note in notes:
        assert note.id is not None
        sign = Decimal(-1) if note.kind == "credit_note" else Decimal(1)
        for line in lines_of(session, note.id):
            settles = (line.details or {}).get(SETTLES)
            if settles:
                out.extend(
                    NoteLine(
                        note.id, note.status, str(s["charge"]), str(s["type"]), Decimal(0), Decimal(str(s["amount"]))
                    )
                    for s in settles
                )
            else:
                out.append(NoteLine(note.id, note.status, line.charge, line.type, line.quantity, sign * line.amount))
    return out


def client_figures(session: Session, contract_id: int, period: Period) -> dict[str, Decimal]:
    rows = session.exec(
        select_model(col(ClientKpi.metric), col(ClientKpi.value)).where(
            ClientKpi.contract_id == contract_id, ClientKpi.period == str(period)
        )
    ).all()
    return {metric: value for metric, value in rows}


# -- proposing ----------------------------------------------------------------------------------


def _draft_note(engine: Engine, result: ReconciliationResult, proposal: NoteProposal, actor: str, at: datetime) -> int:
    """Create the proposal as a draft note. Notes take positive lines against the invoice's own
    charges; each line records in its details which invoice lines (signed amounts) it settles,
    so the next reconciliation nets it exactly."""
    with reading(engine) as session:
        invoice_charges = {line.charge for line in lines_of(session, result.invoice_id)}
    lines = [
        DraftNoteLine(
            charge=line.charge if line.charge in invoice_charges else ADJUSTMENT,
            amount=line.amount,
            description=line.description,
            details={SETTLES: line.settles_json(result.minor_units)},
        )
        for line in proposal.lines
    ]
    note = create_note(engine, result.invoice_id, proposal.kind, lines, proposal.reason, actor, at)
    assert note.id is not None
    return note.id
