"""The note that settles what is still open after a reconciliation. Pure."""

from __future__ import annotations

from decimal import Decimal

from billing.reconciliation.results import (
    ADJUSTMENT_CHARGE,
    ZERO,
    LineComparison,
    NoteLineProposal,
    NoteProposal,
    ReconciliationResult,
)


def propose(result: ReconciliationResult) -> NoteProposal | None:
    """The one note that settles what is still open: a debit note when the client owes more,
    a credit note when less; nothing when the open difference is within tolerance.

    Note lines are positive and name an invoice charge. Open differences against the note's
    direction (a service credit that grows when a late resolution raises the at-risk amount)
    are netted into the largest line; each line lists the signed differences it settles."""
    if result.net_difference == 0 or result.within_tolerance:
        return None
    sign = Decimal(1) if result.net_difference > 0 else Decimal(-1)
    groups: dict[str, list[LineComparison]] = {}
    against: list[LineComparison] = []
    for line in result.lines:
        if line.open_difference * sign > 0:
            groups.setdefault(line.charge, []).append(line)
        elif line.open_difference != 0:
            against.append(line)
    drafts = [(charge, members) for charge, members in groups.items()]
    drafts.sort(key=lambda item: -sum(m.open_difference * sign for m in item[1]))
    if against:
        largest = sum(m.open_difference * sign for m in drafts[0][1])
        if largest + sum(m.open_difference * sign for m in against) > 0:
            drafts[0] = (drafts[0][0], [*drafts[0][1], *against])
        else:  # the opposite differences outweigh any single line: one line for the whole net
            drafts = [(ADJUSTMENT_CHARGE, [line for line in result.lines if line.open_difference != 0])]
    lines = tuple(
        NoteLineProposal(
            charge=charge,
            description=_note_description(members, result.period),
            amount=sum((m.open_difference * sign for m in members), ZERO),
            settles=tuple((m.charge, m.type, m.open_difference) for m in members),
        )
        for charge, members in drafts
    )
    causes = tuple(dict.fromkeys(d.cause.value for d in result.discrepancies if d.settles))
    reason = (
        f"Reconciliation of {result.invoice_number} ({result.period}) with data up to import batch "
        f"{result.data_as_of}: " + ", ".join(causes)
    )
    return NoteProposal("debit_note" if sign > 0 else "credit_note", lines, reason, causes)


def _note_description(members: list[LineComparison], period: str) -> str:
    names = ", ".join(dict.fromkeys(m.description or m.charge for m in members))
    return f"Reconciliation {period}: {names}"[:500]
