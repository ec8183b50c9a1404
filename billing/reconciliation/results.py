"""What a reconciliation finds: causes, compared lines and levels, the FTE check, the client's
figures, and the note proposed to settle it. Values with their JSON forms. Pure."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any

from billing.core.money import format_decimal_string
from billing.rating.lines import RatedInvoice

ZERO = Decimal(0)
LineKey = tuple[str, str]  # (charge, line type)


class Cause(StrEnum):
    RATING_CHANGED = "rating_changed"  # re-rating the issue-time data does not give the invoice
    REPEAT_CONTACT_AFTER_ISSUE = "repeat_contact_after_issue"
    LATE_INTERACTIONS = "late_interactions"
    LATE_WORKFORCE_HOURS = "late_workforce_hours"
    EXCUSAL_CHANGE = "excusal_change"
    HOURS_SHORT = "hours_short"
    CLIENT_FIGURE_DIFFERS = "client_figure_differs"


class Severity(StrEnum):
    WITHIN_TOLERANCE = "within_tolerance"
    MATERIAL = "material"


@dataclass(frozen=True, slots=True)
class BilledLine:
    charge: str
    type: str
    quantity: Decimal
    amount: Decimal
    description: str = ""

    @property
    def key(self) -> LineKey:
        return (self.charge, self.type)


@dataclass(frozen=True, slots=True)
class BilledLevel:
    id: str
    value: Decimal | None
    met: bool | None
    credit: Decimal
    excused: bool = False


@dataclass(frozen=True, slots=True)
class BilledInvoice:
    """An issued invoice as stored: what the client was charged, and on which data."""

    id: int
    number: str
    subtotal: Decimal
    lines: tuple[BilledLine, ...]
    service_levels: tuple[BilledLevel, ...] = ()
    data_as_of: int | None = None


@dataclass(frozen=True, slots=True)
class NoteLine:
    """A line of a credit or debit note written against the invoice, signed as its effect on
    what the client owes (a credit is negative)."""

    document_id: int
    status: str
    charge: str
    type: str
    quantity: Decimal
    amount: Decimal

    @property
    def key(self) -> LineKey:
        return (self.charge, self.type)


@dataclass(frozen=True, slots=True)
class Rerated:
    """The three re-ratings of the period (see the module docstring)."""

    as_of_issue: RatedInvoice
    repeats_known: RatedInvoice
    now: RatedInvoice
    productive_hours: Decimal = ZERO
    #: The newest import batch the ``now`` measurement saw.
    data_as_of: int | None = None


@dataclass(frozen=True, slots=True)
class Discrepancy:
    cause: Cause
    charge: str
    type: str
    quantity: Decimal
    amount: Decimal
    severity: Severity
    #: Whether a note settles it; a client's figure is a claim to discuss, not a correction.
    settles: bool = True
    note: str = ""

    def as_json(self, minor_units: int) -> dict[str, Any]:
        return {
            "cause": self.cause.value,
            "charge": self.charge,
            "type": self.type,
            "quantity": num(self.quantity),
            "amount": money(self.amount, minor_units),
            "severity": self.severity.value,
            "settles": self.settles,
            "note": self.note,
        }


@dataclass(frozen=True, slots=True)
class LineComparison:
    charge: str
    type: str
    description: str
    billed_quantity: Decimal
    billed_amount: Decimal
    adjusted_amount: Decimal  # sum of the notes' lines already written against it
    remeasured_quantity: Decimal
    remeasured_amount: Decimal
    due_amount: Decimal  # remeasured, plus the FTE hours adjustment
    open_difference: Decimal  # due - (billed + adjusted)

    def as_json(self, minor_units: int) -> dict[str, Any]:
        return {
            "charge": self.charge,
            "type": self.type,
            "description": self.description,
            "billed_quantity": num(self.billed_quantity),
            "billed_amount": money(self.billed_amount, minor_units),
            "adjusted_amount": money(self.adjusted_amount, minor_units),
            "remeasured_quantity": num(self.remeasured_quantity),
            "remeasured_amount": money(self.remeasured_amount, minor_units),
            "due_amount": money(self.due_amount, minor_units),
            "open_difference": money(self.open_difference, minor_units),
        }


@dataclass(frozen=True, slots=True)
class LevelComparison:
    id: str
    metric: str
    billed_value: Decimal | None
    billed_met: bool | None
    billed_credit: Decimal
    billed_excused: bool
    value: Decimal | None
    met: bool | None
    credit_due: Decimal
    excused: bool

    def as_json(self, minor_units: int) -> dict[str, Any]:
        return {
            "id": self.id,
            "metric": self.metric,
            "billed_value": kpi_text(self.billed_value),
            "billed_met": self.billed_met,
            "billed_credit": money(self.billed_credit, minor_units),
            "billed_excused": self.billed_excused,
            "value": kpi_text(self.value),
            "met": self.met,
            "credit_due": money(self.credit_due, minor_units),
            "excused": self.excused,
            "difference": money(self.credit_due - self.billed_credit, minor_units),
        }


@dataclass(frozen=True, slots=True)
class FteComparison:
    charge: str
    billed_fte: Decimal
    hours_per_fte: Decimal
    productive_hours: Decimal
    delivered_fte: Decimal
    difference_fte: Decimal  # delivered - billed (negative: hours short)
    rate: Decimal
    difference_amount: Decimal  # money of the shortfall, rounded; 0 when not short
    note: str = ""

    def as_json(self, minor_units: int) -> dict[str, Any]:
        return {
            "charge": self.charge,
            "billed_fte": num(self.billed_fte),
            "hours_per_fte": num(self.hours_per_fte),
            "productive_hours": num(self.productive_hours),
            "delivered_fte": num(self.delivered_fte),
            "difference_fte": num(self.difference_fte),
            "rate": num(self.rate),
            "difference_amount": money(self.difference_amount, minor_units),
            "note": self.note,
        }


@dataclass(frozen=True, slots=True)
class ClientFigure:
    metric: str
    level: str | None
    ours: Decimal | None
    theirs: Decimal
    gap: Decimal | None  # theirs - ours
    met_ours: bool | None
    met_theirs: bool | None
    flips: bool
    credit_difference: Decimal  # credit their figure implies minus the credit due on ours

    def as_json(self, minor_units: int) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "level": self.level,
            "ours": kpi_text(self.ours),
            "theirs": kpi_text(self.theirs),
            "gap": kpi_text(self.gap),
            "met_ours": self.met_ours,
            "met_theirs": self.met_theirs,
            "flips": self.flips,
            "credit_difference": money(self.credit_difference, minor_units),
        }


@dataclass(frozen=True, slots=True)
class ReconciliationResult:
    contract: str
    period: str
    currency: str
    minor_units: int
    invoice_id: int
    invoice_number: str
    invoice_data_as_of: int | None
    data_as_of: int | None
    tolerance_percent: Decimal
    tolerance_amount: Decimal
    lines: tuple[LineComparison, ...]
    service_levels: tuple[LevelComparison, ...]
    fte: tuple[FteComparison, ...]
    client_figures: tuple[ClientFigure, ...]
    discrepancies: tuple[Discrepancy, ...]
    already_adjusted: Decimal
    net_difference: Decimal  # still open, before tax
    proposal: NoteProposal | None = None
    unmatched_adjustments: Decimal = ZERO

    @property
    def within_tolerance(self) -> bool:
        return abs(self.net_difference) <= self.tolerance_amount

    def as_json(self) -> dict[str, Any]:
        mu = self.minor_units
        return {
            "contract": self.contract,
            "period": self.period,
            "currency": self.currency,
            "invoice": {"id": self.invoice_id, "number": self.invoice_number, "data_as_of": self.invoice_data_as_of},
            "data_as_of": self.data_as_of,
            "tolerance_percent": num(self.tolerance_percent),
            "tolerance_amount": money(self.tolerance_amount, mu),
            "lines": [line.as_json(mu) for line in self.lines],
            "service_levels": [level.as_json(mu) for level in self.service_levels],
            "fte": [item.as_json(mu) for item in self.fte],
            "client_figures": [item.as_json(mu) for item in self.client_figures],
            "discrepancies": [item.as_json(mu) for item in self.discrepancies],
            "already_adjusted": money(self.already_adjusted, mu),
            "unmatched_adjustments": money(self.unmatched_adjustments, mu),
            "net_difference": money(self.net_difference, mu),
            "within_tolerance": self.within_tolerance,
            "proposal": None if self.proposal is None else self.proposal.as_json(mu),
        }


ADJUSTMENT_CHARGE = "adjustment"


@dataclass(frozen=True, slots=True)
class NoteLineProposal:
    charge: str
    description: str
    amount: Decimal  # positive: the note's own amount (a credit note credits it)
    #: (charge, line type, signed difference) of each invoice line this note line settles.
    settles: tuple[tuple[str, str, Decimal], ...] = ()

    def settles_json(self, minor_units: int) -> list[dict[str, str]]:
        return [{"charge": c, "type": t, "amount": money(a, minor_units)} for c, t, a in self.settles]


@dataclass(frozen=True, slots=True)
class NoteProposal:
    kind: str  # "credit_note" | "debit_note"
    lines: tuple[NoteLineProposal, ...]
    reason: str
    causes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def amount(self) -> Decimal:
        return sum((line.amount for line in self.lines), ZERO)

    def as_json(self, minor_units: int) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "amount": money(self.amount, minor_units),
            "reason": self.reason,
            "causes": list(self.causes),
            "lines": [
                {
                    "charge": line.charge,
                    "description": line.description,
                    "amount": money(line.amount, minor_units),
                    "settles": line.settles_json(minor_units),
                }
                for line in self.lines
            ],
        }


def money(value: Decimal, minor_units: int) -> str:
    return format_decimal_string(value, minor_units)


def kpi_text(value: Decimal | None) -> str | None:
    return None if value is None else format_decimal_string(value, 2)


def num(value: Decimal) -> str:
    normalized = value.normalize()
    if normalized == normalized.to_integral_value():
        return str(normalized.quantize(Decimal(1)))
    return format(normalized.quantize(Decimal("0.000001")).normalize(), "f")
