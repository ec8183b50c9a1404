"""Reconciliation: re-measure an issued period with today's data, explain every difference
by cause, and propose the note that settles it.

``core`` is pure; ``service`` reads the database and stores results. Owns ``reconciliation``."""
