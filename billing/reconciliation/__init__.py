"""Reconciliation: re-measure an issued period with today's data, explain every difference by
cause, and propose the note that settles it. Owns the ``reconciliation`` table.

An invoice is rated on the data known when it was issued. Data keeps arriving: late
interactions, contacts that disqualify a billed resolution, workforce hours, and the
client's own KPI figures. The service layer re-rates the same period under the same terms
version three times, each step adding one kind of new data, so every difference has a
measured cause instead of a guessed one:

1. ``as_of_issue``: the period's rows as they stood at the invoice's data watermark;
2. ``repeats_known``: the same rows, with the repeat-contact rule judged on all data now
   (a contact imported after issue disqualifies a billed resolution);
3. ``now``: every row of the period, late arrivals included.

The differences invoice -> 1 -> 2 -> 3 are the causes; the FTE check and the client's
figures add their own. What is still open is what is due now minus what was billed net of
the notes already written against the invoice, so nothing is ever settled twice.

Modules: ``results`` (what a reconciliation finds), ``compare`` (the comparison) and
``propose`` (the settling note) are pure; ``service`` reads the database, re-rates and records.
"""
