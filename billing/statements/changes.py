"""What changed in a contract's invoice since the previous month's (pure): line by line (by
charge and line type), the quantities and amounts of both months and the difference, for a
reviewer to see at a glance why this month's draft differs."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from billing.statements.views import ZERO, DocumentView, LineView


@dataclass(frozen=True)
class Change:
    line: LineView
    previous_quantity: Decimal | None
    quantity: Decimal | None
    previous_amount: Decimal
    amount: Decimal

    @property
    def difference(self) -> Decimal:
        return self.amount - self.previous_amount


@dataclass(frozen=True)
class Changes:
    previous: DocumentView
    rows: tuple[Change, ...]

    @property
    def subtotal_difference(self) -> Decimal:
        return sum((row.difference for row in self.rows), ZERO)


def changes(current: DocumentView, previous: DocumentView | None) -> Changes | None:
    """Each line of either month, matched by (charge, line type), in this month's order and
    then last month's lines that are gone; None when there is no previous invoice."""
    if previous is None:
        return None
    before = {(line.charge, line.type): line for line in previous.lines}
    rows = []
    for line in current.lines:
        old = before.pop((line.charge, line.type), None)
        rows.append(
            Change(line, old.quantity if old else None, line.quantity, old.amount if old else ZERO, line.amount)
        )
    for old in before.values():
        rows.append(Change(old, old.quantity, None, old.amount, ZERO))
    return Changes(previous, tuple(rows))
