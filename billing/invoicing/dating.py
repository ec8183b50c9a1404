"""The rules of an issue date, pure: what date a document may carry when it takes its number.

A legal series reads in order: as numbers go up, issue dates never go back. And a document is
not dated before what it bills or corrects, nor in the future:

- every issue date is within ``billing.core.limits`` ``FIRST_DAY`` .. ``LAST_DAY``;
- no document is dated after *today* in its contract's time zone (today is passed in);
- an invoice is not dated before the last day of its period (it bills a finished month);
- a note is not dated before the invoice it corrects;
- within a series, no document is dated before the one numbered just before it (checked by
  ``billing.invoicing.invoices.issue_in`` under the series' lock, and by the database).

The first three are about the request (``ValueError``: 422 on the API); the last two depend on
stored documents (``DocumentConflict``: 409).
"""

from __future__ import annotations

from datetime import date

from billing.core.limits import date_problem
from billing.core.periods import Period


def request_problem(kind: str, period: str, day: date, today: date, timezone: str) -> str | None:
    """Why ``day`` cannot be the issue date of a ``kind`` billing ``period``, or None."""
    problem = date_problem(day)
    if problem:
        return f"the issue date {problem}"
    if day > today:
        return f"the issue date {day} is after today ({today} in {timezone}): a document is not dated in the future"
    if kind == "invoice":
        last_day = Period.parse(period).last_day
        if day < last_day:
            return (
                f"an invoice for {period} cannot be dated {day}, before the period ends on {last_day}: "
                "it bills a finished month"
            )
    return None


def correction_problem(kind: str, day: date, invoice_number: str | None, invoice_date: date | None) -> str | None:
    """Why a note cannot be dated ``day`` given the invoice it corrects, or None."""
    if invoice_date is not None and day < invoice_date:
        return (
            f"a {kind.replace('_', ' ')} cannot be dated {day}, before invoice {invoice_number} "
            f"it corrects (dated {invoice_date})"
        )
    return None


def series_problem(number_text: str, day: date, previous_date: date | None) -> str | None:
    """Why the document numbered ``number_text`` cannot be dated ``day`` after the one before it."""
    if previous_date is not None and day < previous_date:
        return (
            f"{number_text} cannot be dated {day}: the document numbered before it in the series is dated "
            f"{previous_date}, and dates never go back as numbers go up"
        )
    return None
