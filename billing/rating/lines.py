"""What rating produces: explainable lines, service-level results and totals. Pure values.

A ``RatedInvoice`` is the single shape shared by the preview (``billing rate``), stored
drafts, reconciliation and simulation; each line's ``details`` explain it so nothing
downstream recomputes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any

from billing.core.money import format_decimal_string
from billing.core.periods import Period


class LineType(StrEnum):
    FIXED = "fixed"
    FTE = "fte"
    HOURLY = "hourly"
    USAGE = "usage"
    MINIMUM_TRUE_UP = "minimum_true_up"
    SERVICE_CREDIT = "service_credit"
    EARNBACK = "earnback"

    @property
    def is_charge(self) -> bool:
        """Charge lines make up the base of the at-risk amount; credits and earnback do not."""
        return self not in (LineType.SERVICE_CREDIT, LineType.EARNBACK)


@dataclass(frozen=True, slots=True)
class RatedLine:
    charge: str
    type: LineType
    description: str
    quantity: Decimal
    unit_price: Decimal | None
    #: Exact amount before rounding (kept for audit) and the amount rounded once.
    exact_amount: Decimal
    amount: Decimal
    details: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "charge": self.charge,
            "type": self.type.value,
            "description": self.description,
            "quantity": _qty(self.quantity),
            "unit_price": None if self.unit_price is None else _qty(self.unit_price),
            "amount": str(self.amount),
            "details": self.details,
        }


@dataclass(frozen=True, slots=True)
class ServiceLevelResult:
    id: str
    metric: str
    value: Decimal | None
    target: Decimal
    met: bool | None
    sample: int
    credit: Decimal
    excused: bool = False
    allocation_percent: Decimal = Decimal(0)

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "metric": self.metric,
            "value": None if self.value is None else format_decimal_string(self.value, 2),
            "target": _qty(self.target),
            "met": self.met,
            "sample": self.sample,
            "credit": str(self.credit),
            "excused": self.excused,
        }


@dataclass(frozen=True, slots=True)
class RatedInvoice:
    contract: str
    period: Period
    currency: str
    minor_units: int
    lines: tuple[RatedLine, ...]
    subtotal: Decimal
    tax: Decimal
    total: Decimal
    tax_name: str | None = None
    tax_rate: Decimal = Decimal(0)
    service_levels: tuple[ServiceLevelResult, ...] = ()
    at_risk_amount: Decimal | None = None
    kpis: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "contract": self.contract,
            "period": str(self.period),
            "currency": self.currency,
            "lines": [line.as_json() for line in self.lines],
            "subtotal": str(self.subtotal),
            "tax": str(self.tax),
            "total": str(self.total),
            "tax_name": self.tax_name,
            "tax_rate": _qty(self.tax_rate),
            "at_risk_amount": None if self.at_risk_amount is None else str(self.at_risk_amount),
            "service_levels": [level.as_json() for level in self.service_levels],
        }


def _qty(value: Decimal) -> str:
    """A quantity or price without trailing zeros beyond what it needs ("5", "2.5", "39.166667")."""
    normalized = value.normalize()
    if normalized == normalized.to_integral_value():
        return str(normalized.quantize(Decimal(1)))
    return format(normalized, "f")
