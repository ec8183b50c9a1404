"""Invoicing: drafts, issue and void, credit and debit notes, gapless numbering, payments.

Owns ``document``, ``document_line``, ``series_counter`` and ``payment``. Invariants: a
number is taken inside the issuing transaction (gapless per series); an issued document never
changes (database triggers enforce it); corrections are notes."""
