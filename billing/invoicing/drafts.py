"""Storing rated invoices as drafts: one open invoice per contract and period.

Written a chunk of contracts at a time with a handful of set-based statements (lock what
exists, insert what is missing, compare, rewrite the lines of what changed), so storing a
thousand drafts costs a few dozen statements, not thousands. The caller owns the
transaction; a contract is never split across two.

Two writers cannot duplicate a draft: missing drafts are inserted with
``ON CONFLICT DO NOTHING`` on the partial unique index ``uq_document_open_invoice`` (one
non-void invoice per contract and period). On PostgreSQL a writer that collides waits
for the other transaction, then locks the winner's row and refreshes it instead. Rows
are always visited in contract order, so two writers never deadlock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import delete, insert, text
from sqlmodel import Session, SQLModel, col, select

from billing.contracts.store import ContractInForce
from billing.core.limits import AMOUNT_PLACES, MAX_DOCUMENT_AMOUNT, MAX_QUANTITY, number_problem
from billing.core.periods import Period
from billing.invoicing.documents import money_text
from billing.invoicing.numbering import dialect_insert
from billing.invoicing.withholding import withholding_columns
from billing.rating.lines import RatedInvoice, RatedLine
from billing.storage.audit import record
from billing.storage.models import Document, DocumentLine

#: Core tables: set-based statements on them skip the ORM's per-row bookkeeping.
DOCUMENT_TABLE = SQLModel.metadata.tables["document"]
LINE_TABLE = SQLModel.metadata.tables["document_line"]
OPEN_INVOICE = "kind = 'invoice' AND status <> 'void'"
QUANTITY_PLACES = Decimal("0.000001")
#: Document columns a refresh compares and rewrites (``rated_at`` alone is no change).
COMPARED = (
    "client_id",
    "series",
    "currency",
    "subtotal",
    "tax",
    "total",
    "tax_name",
    "tax_rate",
    "rounding",
    "terms_version_id",
    "data_as_of",
    "service_levels",
    "kpis",
    "provisional",
    "withholding",
    "withholding_amount",
)
LINE_BATCH = 1000  # rows per INSERT: 9 parameters each, well under PostgreSQL's 65535
LINE_COLUMNS = ("position", "charge", "type", "description", "quantity", "unit_price", "amount", "details")


#: Why a contract got no draft (``CloseOutcome.reason``). Only ``already_issued`` is not a
#: failure: the contract's invoice for the period is done. The others make a close partial.
ALREADY_ISSUED = "already_issued"
NOT_CLOSABLE = "not_closable"  # its period is open or in grace (``billing.invoicing.readiness``)
TERMS_INVALID = "terms_invalid"  # its stored terms no longer validate
NOT_MEASURED = "not_measured"  # its outcomes could not be measured
NOT_RATED = "not_rated"  # rating its terms failed
OUT_OF_RANGE = "out_of_range"  # its invoice holds an amount no document may store
NOT_STORED = "not_stored"  # writing its draft failed


@dataclass(frozen=True)
class CloseOutcome:
    contract: str
    action: str  # created | refreshed | unchanged | skipped
    document_id: int | None
    total: Decimal | None = None
    currency: str | None = None
    number: str | None = None
    message: str = ""
    reason: str | None = None  # why it was skipped (a code above)
    provisional: bool = False  # a ``close --preview`` draft of a period not closable yet
    closable_on: str | None = None  # for a contract whose period is not closable yet

    @property
    def failed(self) -> bool:
        """Skipped because something went wrong (not because it is already invoiced)."""
        return self.action == "skipped" and self.reason != ALREADY_ISSUED

    def as_json(self) -> dict[str, Any]:
        total = None if self.total is None or self.currency is None else money_text(self.total, self.currency)
        return {
            "contract": self.contract,
            "action": self.action,
            "reason": self.reason,
            "document_id": self.document_id,
            "number": self.number,
            "currency": self.currency,
            "total": total,
            "provisional": self.provisional,
            "closable_on": self.closable_on,
            "message": self.message,
        }


def skipped(contract: str, reason: str, message: str) -> CloseOutcome:
    """A contract that got no draft, and why."""
    return CloseOutcome(contract, "skipped", None, message=message, reason=reason)


@dataclass
class CloseResult:
    """What a close did, contract by contract. ``partial`` when a contract could not be drafted
    (``skipped_contracts`` says which and why); the CLI then exits with code 3."""

    period: Period
    data_as_of: int | None
    outcomes: list[CloseOutcome] = field(default_factory=list)

    def count(self, action: str) -> int:
        return sum(1 for outcome in self.outcomes if outcome.action == action)

    @property
    def failures(self) -> list[CloseOutcome]:
        return [outcome for outcome in self.outcomes if outcome.failed]

    @property
    def partial(self) -> bool:
        return bool(self.failures)

    def as_json(self) -> dict[str, Any]:
        counts = {a: self.count(a) for a in ("created", "refreshed", "unchanged", "skipped")}
        return {
            "period": str(self.period),
            "data_as_of": self.data_as_of,
            **counts,
            "partial": self.partial,
            "skipped_contracts": [
                {"contract": o.contract, "reason": o.reason, "message": o.message, "closable_on": o.closable_on}
                for o in self.outcomes
                if o.action == "skipped"
            ],
            "invoices": [outcome.as_json() for outcome in self.outcomes],
        }


def storable_problem(invoice: RatedInvoice) -> str | None:
    """Why a rated invoice cannot be stored as a document (an amount, quantity or price beyond
    ``billing.core.limits``), or None."""
    figures = [("subtotal", invoice.subtotal), ("tax", invoice.tax), ("total", invoice.total)]
    for line in invoice.lines:
        figures.append((f"line {line.charge} amount", line.amount))
    for name, value in figures:
        problem = number_problem(value, maximum=MAX_DOCUMENT_AMOUNT, places=AMOUNT_PLACES)
        if problem:
            return f"{name} {problem}"
    for line in invoice.lines:
        for name, figure in (("quantity", line.quantity), ("unit price", line.unit_price)):
            problem = None if figure is None else number_problem(figure, maximum=MAX_QUANTITY)
            if problem:
                return f"line {line.charge} {name} {problem}"
    return None


def store_draft(
    session: Session, item: ContractInForce, invoice: RatedInvoice, actor: str, now: datetime, data_as_of: int | None
) -> CloseOutcome:
    """Create or refresh one contract's draft (caller's transaction)."""
    return store_chunk(session, [(item, invoice)], actor, now, data_as_of)[0]


def store_chunk(
    session: Session,
    rated: list[tuple[ContractInForce, RatedInvoice]],
    actor: str,
    now: datetime,
    data_as_of: int | None,
    provisional: frozenset[int] = frozenset(),
) -> list[CloseOutcome]:
    """Create or refresh the drafts of several contracts for one period (caller's transaction).
    Contracts whose invoice for the period is already issued are reported as skipped. The
    drafts of the contracts in ``provisional`` are marked so (a preview: they cannot be
    issued); a provisional draft refreshed by a real close loses the mark."""
    if not rated:
        return []
    period = str(rated[0][1].period)
    wanted = {
        item.contract_id: _Draft(item, invoice, now, data_as_of, item.contract_id in provisional)
        for item, invoice in sorted(rated, key=_by_id)
    }
    if len(wanted) != len(rated) or any(str(invoice.period) != period for _, invoice in rated):
        raise ValueError("a chunk holds one rated invoice per contract, all for the same period")
    existing = _lock_open(session, period, list(wanted))
    created = _insert_missing(session, [wanted[c] for c in wanted if c not in existing], now)
    lost = [c for c in wanted if c not in existing and c not in created]
    if lost:  # another writer inserted them meanwhile: refresh theirs
        existing.update(_lock_open(session, period, lost))
    drafts = [d for d in existing.values() if d.status == "draft"]
    stored = _lines_of(session, [d.id for d in drafts if d.id is not None])
    outcomes: dict[int, CloseOutcome] = {}
    rewritten: dict[int, _Draft] = {}
    for contract_id, document_id in created.items():
        draft = wanted[contract_id]
        rewritten[document_id] = draft
        outcomes[contract_id] = draft.outcome("created", document_id)
        record(session, actor, "invoice.drafted", "document", document_id, draft.audit(), at=now)
    for contract_id, document in existing.items():
        draft = wanted[contract_id]
        assert document.id is not None
        if document.status != "draft":
            outcomes[contract_id] = CloseOutcome(
                draft.code,
                "skipped",
                document.id,
                document.total,
                document.currency,
                document.number_text,
                f"already {document.status} as {document.number_text}",
                ALREADY_ISSUED,
            )
        elif draft.same_as(document, stored.get(document.id, [])):
            outcomes[contract_id] = draft.outcome("unchanged", document.id)
        else:
            previous = money_text(document.total, document.currency)
            for name in (*COMPARED, "rated_at"):
                setattr(document, name, draft.header[name])
            session.add(document)
            rewritten[document.id] = draft
            outcomes[contract_id] = draft.outcome("refreshed", document.id)
            audit = {**draft.audit(), "previous_total": previous}
            record(session, actor, "invoice.refreshed", "document", document.id, audit, at=now)
    _rewrite_lines(session, rewritten)
    return [outcomes[item.contract_id] for item, _ in rated]


class _Draft:
    """What one contract's draft should hold, as column values."""

    def __init__(
        self, item: ContractInForce, invoice: RatedInvoice, now: datetime, data_as_of: int | None, provisional: bool
    ):
        terms = item.terms
        self.code = terms.code
        self.invoice = invoice
        self.provisional = provisional
        self.header: dict[str, Any] = {
            "contract_id": item.contract_id,
            "client_id": terms.client.id,
            "period": str(invoice.period),
            "series": terms.invoicing.series,
            "currency": invoice.currency,
            "subtotal": invoice.subtotal,
            "tax": invoice.tax,
            "total": invoice.total,
            "tax_name": invoice.tax_name,
            "tax_rate": invoice.tax_rate,
            "rounding": terms.rounding.value,
            "terms_version_id": item.version_id,
            "rated_at": now,
            "data_as_of": data_as_of,
            "service_levels": [level.as_json() for level in invoice.service_levels],
            "kpis": jsonable(invoice.kpis),
            "provisional": provisional,
            **withholding_columns(
                terms.invoicing.withholding, "invoice", invoice.total, invoice.minor_units, terms.rounding
            ),
        }
        self.lines = [_line_row(position, line) for position, line in enumerate(invoice.lines, start=1)]

    def same_as(self, document: Document, stored: list[DocumentLine]) -> bool:
        if any(getattr(document, name) != self.header[name] for name in COMPARED):
            return False
        return [{c: getattr(line, c) for c in LINE_COLUMNS} for line in stored] == self.lines

    def outcome(self, action: str, document_id: int) -> CloseOutcome:
        return CloseOutcome(
            self.code, action, document_id, self.invoice.total, self.invoice.currency, provisional=self.provisional
        )

    def audit(self) -> dict[str, Any]:
        return {
            "contract": self.code,
            "period": self.header["period"],
            "total": str(self.invoice.total),
            "currency": self.invoice.currency,
            "data_as_of": self.header["data_as_of"],
            "provisional": self.provisional,
        }


def _by_id(pair: tuple[ContractInForce, RatedInvoice]) -> int:
    return pair[0].contract_id


def _lock_open(session: Session, period: str, contract_ids: list[int]) -> dict[int, Document]:
    """The open (non-void) invoices of these contracts for the period, locked, in contract order."""
    rows = session.exec(
        select(Document)
        .where(Document.period == period, col(Document.contract_id).in_(contract_ids))
        .where(text(OPEN_INVOICE))
        .order_by(col(Document.contract_id))
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()
    return {document.contract_id: document for document in rows}


def _insert_missing(session: Session, drafts: list[_Draft], now: datetime) -> dict[int, int]:
    """Insert drafts; return contract id -> new document id for those not taken meanwhile."""
    if not drafts:
        return {}
    values = [{"kind": "invoice", "status": "draft", "created_at": now, **draft.header} for draft in drafts]
    rows = session.execute(
        dialect_insert(session, DOCUMENT_TABLE)
        .on_conflict_do_nothing(index_elements=["contract_id", "period"], index_where=text(OPEN_INVOICE))
        .returning(DOCUMENT_TABLE.c.contract_id, DOCUMENT_TABLE.c.id),
        values,
    ).all()
    return {contract_id: document_id for contract_id, document_id in rows}


def _lines_of(session: Session, document_ids: list[int]) -> dict[int, list[DocumentLine]]:
    found: dict[int, list[DocumentLine]] = {}
    if document_ids:
        rows = session.exec(
            select(DocumentLine)
            .where(col(DocumentLine.document_id).in_(document_ids))
            .order_by(col(DocumentLine.document_id), col(DocumentLine.position))
        ).all()
        for line in rows:
            found.setdefault(line.document_id, []).append(line)
    return found


def _rewrite_lines(session: Session, drafts: dict[int, _Draft]) -> None:
    if not drafts:
        return
    session.flush()  # header updates first: the line triggers read the document's status
    session.execute(delete(DocumentLine).where(col(DocumentLine.document_id).in_(list(drafts))))
    rows = [{**line, "document_id": document_id} for document_id, draft in drafts.items() for line in draft.lines]
    if rows:  # Core executemany: batched into multi-row VALUES by SQLAlchemy (insertmanyvalues)
        session.execute(insert(LINE_TABLE), rows)


def _line_row(position: int, line: RatedLine) -> dict[str, Any]:
    return {
        "position": position,
        "charge": line.charge,
        "type": str(line.type),
        "description": line.description[:500],
        "quantity": _stored_quantity(line.quantity),
        "unit_price": None if line.unit_price is None else _stored_quantity(line.unit_price),
        "amount": line.amount,
        "details": jsonable(line.details),
    }


def _stored_quantity(value: Decimal) -> Decimal:
    """Quantities keep six decimals in the table; the exact figure stays in ``details``."""
    return value.quantize(QUANTITY_PLACES, rounding=ROUND_HALF_UP)


def jsonable(value: Any) -> Any:
    """Decimals and dates as strings, tuples as lists: what a JSON column can hold."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, Decimal | Period):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    if hasattr(value, "as_json"):
        return value.as_json()
    return value
