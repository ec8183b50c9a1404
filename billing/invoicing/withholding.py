"""Withholding on a document, pure: the part of an invoice or debit note the client pays to a
third party (Peru's detraccion) instead of to the issuer.

A document whose total (tax included) is above the rule's ``applies_above`` withholds
``percent`` of its total, rounded once to the currency's minor unit in the contract's rounding
mode. What the client pays the issuer is then ``payable`` = total - withheld. Credit notes
withhold nothing (they lower what is owed); a document at or below the threshold neither.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from billing.contracts.terms import Withholding
from billing.core.money import RoundingMode, percent_of, round_amount


def withheld_amount(
    rule: Withholding | None, kind: str, total: Decimal, minor_units: int, rounding: RoundingMode
) -> Decimal | None:
    """What ``rule`` withholds of a ``kind`` document of ``total``, or None when nothing."""
    if rule is None or kind == "credit_note" or total <= rule.applies_above:
        return None
    return round_amount(percent_of(total, rule.percent), minor_units, rounding)


def withholding_columns(
    rule: Withholding | None, kind: str, total: Decimal, minor_units: int, rounding: RoundingMode
) -> dict[str, Any]:
    """The document columns ``withholding`` (the rule as printed, with the amount) and
    ``withholding_amount``, both None when nothing is withheld."""
    amount = withheld_amount(rule, kind, total, minor_units, rounding)
    if rule is None or amount is None:
        return {"withholding": None, "withholding_amount": None}
    return {
        "withholding": {
            "name": rule.name,
            "percent": str(rule.percent),
            "applies_above": str(rule.applies_above),
            "account": rule.account,
            "legend": rule.legend,
            "amount": str(amount),
        },
        "withholding_amount": amount,
    }


def payable(total: Decimal, withholding_amount: Decimal | None) -> Decimal:
    """What the client pays the issuer: the total less what it withholds."""
    return total - (withholding_amount or Decimal(0))
