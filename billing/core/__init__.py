"""Core values: money, currencies, billing periods and problems.

Values only: no database, no clock, no I/O. Every other package builds on these.
Exports nothing itself; import from ``billing.core.money``, ``billing.core.periods``,
``billing.core.currencies`` and ``billing.core.problems``."""
