"""How late money is: the ageing buckets of receivables, and what a document still owes.

Pure values: the day a document is due and the day the report is as of go in, a bucket code
comes out. A document is *overdue* from the day after its due date; on its due date it is
still "not yet due".
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

NOT_DUE = "not_due"
#: The buckets in order, with the last day past due each one holds (None: no end).
BUCKETS: tuple[tuple[str, int | None], ...] = (
    (NOT_DUE, 0),
    ("days_1_30", 30),
    ("days_31_60", 60),
    ("days_61_90", 90),
    ("over_90", None),
)
BUCKET_CODES = tuple(code for code, _ in BUCKETS)


def days_past_due(due: date, as_of: date) -> int:
    """Whole days after the due date (0 or less: not due yet)."""
    return (as_of - due).days


def bucket(due: date, as_of: date) -> str:
    """The ageing bucket of a balance due on ``due``, seen on ``as_of``."""
    late = days_past_due(due, as_of)
    for code, last in BUCKETS:
        if last is None or late <= last:
            return code
    raise AssertionError("the last bucket has no end")


def balance_due(total: Decimal, credited: Decimal, paid: Decimal, withheld: Decimal) -> Decimal:
    """What a document still owes: its total less the credit notes issued against it, the money
    received and the part the client withheld and paid to a third party (a detraccion)."""
    return total - credited - paid - withheld


def is_overdue(due: date | None, balance: Decimal, as_of: date) -> bool:
    """A balance is overdue when something is still owed after its due date."""
    return due is not None and balance > 0 and days_past_due(due, as_of) > 0
