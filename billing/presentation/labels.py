"""Codes as words: document kinds and statuses, and every other code a person may read. Codes
stay codes in data and JSON; a template or report turns one into its label, in the reader's
language, with ``Formatter.label``. An unknown code is shown as it is (and the catalog test
finds it)."""

from __future__ import annotations

from billing.presentation.i18n import N_

LABELS: dict[str, str] = {
    # document kinds and statement entries
    "invoice": N_("Invoice"),
    "credit_note": N_("Credit note"),
    "debit_note": N_("Debit note"),
    "payment": N_("Payment"),
    # document statuses
    "draft": N_("Draft"),
    "issued": N_("Issued"),
    "paid": N_("Paid"),
    "void": N_("Void"),
}
