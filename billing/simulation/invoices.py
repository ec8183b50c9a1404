"""The simulated current terms against the issued invoices (the edge).

Every month of the range with an issued invoice is re-rated the way reconciliation does it:
under the invoice's own terms with the data as it stood at issue (``data_as_of``), then with
the repeat-contact rule judged on every contact known now, then with all the data known now,
then under the terms in force now (the simulated "current"). Each step's difference has one
cause, and the steps add up exactly to simulated minus issued:

- ``recomputed``: the issued figures against the same data and terms re-rated today (nothing,
  unless the engine changed);
- ``repeat_contacts``: resolutions billed at issue that later contacts made repeat contacts;
- ``late_data``: rows imported after issue (late interactions, workforce hours);
- ``terms_changed``: the terms in force now are not the ones the invoice was rated under.

Notes (credit or debit) issued against the invoice are listed apart: they are what the client
has been billed since, not a difference in pricing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal

from sqlmodel import Session, col, select

from billing.contracts.store import ContractInForce
from billing.core.periods import Period
from billing.invoicing.documents import ISSUED, terms_of
from billing.invoicing.invoices import latest_batch
from billing.rating.engine import rate
from billing.rating.lines import RatedInvoice
from billing.rating.service import histories, with_repeats_known
from billing.simulation.results import InvoiceCheck, Step
from billing.storage.models import Document

ZERO = Decimal(0)


def invoice_checks(
    session: Session, contract_id: int, simulated: Mapping[Period, RatedInvoice | None], periods: Sequence[Period]
) -> list[InvoiceCheck]:
    wanted = [str(p) for p in periods]
    invoices = session.exec(
        select(Document).where(
            Document.contract_id == contract_id,
            Document.kind == "invoice",
            col(Document.period).in_(wanted),
            col(Document.status).in_(ISSUED),
        )
    ).all()
    newest = latest_batch(session) or 0
    out = []
    for invoice in sorted(invoices, key=lambda d: d.period):
        period = Period.parse(invoice.period)
        current = simulated.get(period)
        if current is None:
            continue
        out.append(_check(session, contract_id, invoice, period, current, newest))
    return out


def _check(
    session: Session, contract_id: int, invoice: Document, period: Period, current: RatedInvoice, newest: int
) -> InvoiceCheck:
    assert invoice.id is not None
    item = ContractInForce(contract_id, invoice.terms_version_id or 0, terms_of(session, invoice))
    today = histories(session, [item], period)[contract_id]
    as_of = invoice.data_as_of if invoice.data_as_of is not None else 0
    if as_of >= newest:
        at_issue = repeats_known = today  # nothing imported since
    else:
        at_issue = histories(session, [item], period, as_of_batch=as_of)[contract_id]
        repeats_known = with_repeats_known(session, contract_id, at_issue, as_of)
    chain = [
        ("recomputed", rate(period, at_issue)),
        ("repeat_contacts", rate(period, repeats_known)),
        ("late_data", rate(period, today)),
        ("terms_changed", current),
    ]
    steps = []
    subtotal, total = invoice.subtotal, invoice.total
    for cause, rated in chain:
        if rated.subtotal != subtotal or rated.total != total:
            steps.append(Step(cause, rated.subtotal - subtotal, rated.total - total))
        subtotal, total = rated.subtotal, rated.total
    return InvoiceCheck(
        period,
        invoice.number_text or str(invoice.id),
        invoice.subtotal,
        invoice.total,
        _notes(session, invoice.id),
        tuple(steps),
        current.subtotal,
        current.total,
    )


def _notes(session: Session, invoice_id: int) -> Decimal:
    notes = session.exec(
        select(Document).where(Document.corrects_id == invoice_id, col(Document.status).in_(ISSUED))
    ).all()
    return sum(((-n.total if n.kind == "credit_note" else n.total) for n in notes), ZERO)
