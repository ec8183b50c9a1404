"""Pricing simulation: replay measured months under other terms (measure once, price many),
with break-evens, sensitivities and a report.

``core`` is pure; ``service`` measures; ``report`` renders. Owns no table."""
