"""When a contract's month may be closed, pure: the states of a period.

A period is *open* until it ends (its last day, in the contract's time zone), then *in grace*
for ``close_after_days`` days (by default the contract's repeat window: until it has passed, a
resolution of the month's last day may still turn into a repeat contact), then *closable*. Once
a draft invoice exists it is *drafted*, once issued (or paid) *issued*, and once an issued
invoice has been re-measured *reconciled*. A provisional draft (``close --preview``) does not
move the period out of open or grace: it cannot be issued.

``today`` is an argument: the contract's local date, which the caller works out from the clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from billing.core.periods import Period

OPEN = "open"
GRACE = "grace"
CLOSABLE = "closable"
DRAFTED = "drafted"
ISSUED = "issued"
RECONCILED = "reconciled"
STATES = (OPEN, GRACE, CLOSABLE, DRAFTED, ISSUED, RECONCILED)


def closable_on(period: Period, close_after_days: int) -> date:
    """The first local day the period may be closed: the day after it ends, plus the grace."""
    return period.next().first_day + timedelta(days=close_after_days)


def time_state(period: Period, close_after_days: int, today: date) -> str:
    """``open``, ``grace`` or ``closable``: where ``today`` stands against the period's end."""
    if today <= period.last_day:
        return OPEN
    if today < closable_on(period, close_after_days):
        return GRACE
    return CLOSABLE


@dataclass(frozen=True)
class InvoiceFacts:
    """What is stored for the contract's invoice of the period (not void)."""

    document_id: int
    status: str  # draft | issued | paid
    number: str | None = None
    provisional: bool = False
    reconciled: bool = False


@dataclass(frozen=True)
class Readiness:
    contract: str
    period: Period
    timezone: str
    today: date
    close_after_days: int
    state: str
    invoice: InvoiceFacts | None = None

    @property
    def closable_on(self) -> date:
        return closable_on(self.period, self.close_after_days)

    @property
    def closable(self) -> bool:
        """Whether ``close`` drafts (or refreshes) this contract's invoice now."""
        return time_state(self.period, self.close_after_days, self.today) == CLOSABLE

    def explain(self) -> str:
        """One sentence: why the period is where it is, and when it becomes closable."""
        shown = str(self.period)
        if self.state == OPEN:
            return f"{shown} is open until {self.period.last_day} ({self.timezone}); closable from {self.closable_on}"
        if self.state == GRACE:
            return (
                f"{shown} ended on {self.period.last_day} and is in grace for {self.close_after_days} day(s) "
                f"(resolutions may still become repeat contacts); closable from {self.closable_on}"
            )
        if self.state == CLOSABLE:
            return f"{shown} is closable since {self.closable_on}"
        assert self.invoice is not None
        reference = self.invoice.number or f"draft {self.invoice.document_id}"
        return f"{shown} is {self.state}: {reference}"

    def as_json(self) -> dict[str, Any]:
        invoice = self.invoice
        return {
            "contract": self.contract,
            "period": str(self.period),
            "state": self.state,
            "timezone": self.timezone,
            "today": self.today.isoformat(),
            "ends_on": self.period.last_day.isoformat(),
            "close_after_days": self.close_after_days,
            "closable_on": self.closable_on.isoformat(),
            "document_id": invoice.document_id if invoice else None,
            "number": invoice.number if invoice else None,
            "status": invoice.status if invoice else None,
            "provisional": bool(invoice and invoice.provisional),
            "message": self.explain(),
        }


def readiness(
    contract: str,
    period: Period,
    timezone: str,
    close_after_days: int,
    today: date,
    invoice: InvoiceFacts | None,
) -> Readiness:
    """The state of one contract's period on ``today`` (its local date)."""
    state = time_state(period, close_after_days, today)
    if invoice is not None and not invoice.provisional:
        if invoice.status in ("issued", "paid"):
            state = RECONCILED if invoice.reconciled else ISSUED
        elif invoice.status == "draft":
            state = DRAFTED
    return Readiness(contract, period, timezone, today, close_after_days, state, invoice)
