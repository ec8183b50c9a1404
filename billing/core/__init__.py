"""Core values: money, currencies, billing periods, problems, limits, and the masking of
secrets in text bound for logs and error messages (``redaction``).

Values only: no database, no clock, no I/O. Every other package builds on these.
Exports nothing itself; import from ``billing.core.money``, ``billing.core.periods``,
``billing.core.currencies``, ``billing.core.problems``, ``billing.core.limits`` and
``billing.core.redaction``."""
