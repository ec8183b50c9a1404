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
    # period readiness (billing periods status, the portal)
    "open": N_("Open"),
    "grace": N_("In grace"),
    "closable": N_("Closable"),
    "drafted": N_("Drafted"),
    "reconciled": N_("Reconciled"),
    # receivables ageing buckets
    "not_due": N_("Not yet due"),
    "days_1_30": N_("1-30 days"),
    "days_31_60": N_("31-60 days"),
    "days_61_90": N_("61-90 days"),
    "over_90": N_("Over 90 days"),
    # pricing simulation: months left out, sensitivity cases, break-even notes, invoice differences
    "not_ended": N_("the month has not ended"),
    "no_data": N_("no data was measured"),
    "volume": N_("Volume"),
    "resolution_rate": N_("Resolution rate"),
    "ai_share": N_("AI share"),
    "service_level": N_("Service level"),
    "already_above": N_("The other charges alone earn the reference revenue"),
    "unreachable": N_("No value reaches the reference revenue"),
    "no_units": N_("Nothing was measured to scale"),
    "above_at_measured": N_("It already earns the reference revenue at the measured volume, and down to this one"),
    "recomputed": N_("Re-rated today on the data and terms of the issue"),
    "repeat_contacts": N_("Resolutions that became repeat contacts after the issue"),
    "late_data": N_("Data imported after the issue (late interactions, hours)"),
    "terms_changed": N_("Terms in force now differ from the invoice's"),
    # the month so far (billing current): a service level as it stands
    "met": N_("Met"),
    "at_risk": N_("At risk"),
    "missed": N_("Missed"),
    "not_assessed": N_("Not assessed"),
    # the contacts behind a line (billing trace): why a contact does not count, a sample's verdicts
    "filtered_out": N_("Not in the charge's channels or handlers"),
    "abandoned": N_("Abandoned"),
    "not_resolved": N_("Not resolved"),
    "escalated": N_("Escalated"),
    "repeat_within_window": N_("The customer came back within the repeat window"),
    "answered_within_threshold": N_("Answered within the threshold"),
    "answered_late": N_("Answered after the threshold"),
    "short_abandon_excluded": N_("Short abandon, left out"),
    "abandoned_within_threshold": N_("Abandoned within the threshold"),
    "abandon_excluded": N_("Abandoned, left out"),
    "abandoned_late": N_("Abandoned after the threshold"),
    "answered": N_("Answered"),
    "satisfied": N_("Satisfied (4-5)"),
    "not_satisfied": N_("Not satisfied (1-3)"),
    "promoter": N_("Promoter (9-10)"),
    "passive_or_detractor": N_("Passive (7-8)"),
    "detractor": N_("Detractor (0-6)"),
    "no_score": N_("No score"),
    "scored": N_("Scored"),
    "abandoned_not_in_sample": N_("Abandoned, not in the sample"),
    "resolved_first_contact": N_("Resolved at first contact"),
    "not_resolved_first": N_("Not resolved at first contact"),
    # reconciliation causes (billing.reconciliation.results.Cause)
    "rating_changed": N_("Re-rating the data of the issue gives another amount"),
    "repeat_contact_after_issue": N_("Resolutions that became repeat contacts after the issue"),
    "late_interactions": N_("Interactions imported after the issue"),
    "late_workforce_hours": N_("Workforce hours imported after the issue"),
    "excusal_change": N_("The forecast excusal changed"),
    "hours_short": N_("Fewer productive hours than billed"),
    "client_figure_differs": N_("The client's own figure differs"),
    # payment methods (any other method is shown as recorded)
    "transfer": N_("Bank transfer"),
    "stripe": N_("Card (Stripe)"),
    "card": N_("Card"),
    "cash": N_("Cash"),
    "check": N_("Cheque"),
    "cheque": N_("Cheque"),
    "deposit": N_("Bank deposit"),
    "direct_debit": N_("Direct debit"),
    "withholding": N_("Withholding"),
    # line types
    "fixed": N_("Fixed fee"),
    "fte": N_("Dedicated agents (FTE)"),
    "hourly": N_("Hourly"),
    "usage": N_("Usage"),
    "minimum_true_up": N_("Minimum true-up"),
    "service_credit": N_("Service credit"),
    "earnback": N_("Earnback"),
    "adjustment": N_("Adjustment"),
    # what the audit trail records (billing.storage.audit: "<kind>.<verb>")
    "document": N_("Document"),
    "done_drafted": N_("drafted"),
    "done_refreshed": N_("draft refreshed"),
    "done_issued": N_("issued"),
    "done_voided": N_("voided"),
    "done_created": N_("created"),
    "done_recorded": N_("recorded"),
    "done_reconciled": N_("reconciled"),
    "done_unapplied": N_("not applied"),
    "done_unmatched": N_("not matched"),
    "done_sent": N_("sent to Stripe"),
    "done_failed": N_("failed"),
    # statement bases
    "issued_on": N_("By document date"),
    "service_period": N_("By service period"),
}
