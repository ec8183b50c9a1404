"""Invoicing: drafts, issue and void, credit and debit notes, gapless numbering, payments.

Owns ``document``, ``document_line``, ``series_counter`` and ``payment``. Invariants: a
number is taken inside the issuing transaction (gapless per series); an issued document never
changes (database triggers enforce it, against direct SQL too: migrations 0002, 0004, 0009);
series counters only advance to a number an issued document holds; payments and the audit trail
are append-only; corrections are notes; one contract that cannot be rated never stops a close."""
