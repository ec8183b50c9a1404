"""What a simulation gives: each scenario's months with revenue, cost and margin, the
break-evens, the sensitivity cases, the revenue-against-volume curves, the months left out and
how the simulated current terms compare with the issued invoices. Values only; their JSON is
``billing.simulation.serialize``.

Revenue is the invoice's subtotal (before tax); the client's total is after tax. Margin is
revenue minus cost; margin at risk is the service credits a scenario pays (and the most it
could have paid: the at-risk amounts).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from billing.contracts.terms import ContractTerms, Tier
from billing.core.money import EXACT
from billing.core.periods import Period
from billing.measurement.kpis import PeriodOutcomes
from billing.rating.lines import LineType, RatedInvoice
from billing.simulation.costs import CostTerms, MonthCost

ZERO = Decimal(0)
HUNDRED = Decimal(100)


@dataclass(frozen=True)
class Scenario:
    """One pricing to replay: ``terms`` gives the terms governing each period (history
    periods included); ``outcomes`` are the measured (or generated) months under its
    resolution rule; ``costs`` the provider's cost model, if one is given."""

    name: str
    source: str
    terms: Mapping[Period, ContractTerms]
    outcomes: Mapping[Period, PeriodOutcomes]
    costs: CostTerms | None = None

    def with_terms(self, terms: Mapping[Period, ContractTerms]) -> Scenario:
        return dataclasses.replace(self, terms=terms)

    def with_outcomes(self, outcomes: Mapping[Period, PeriodOutcomes]) -> Scenario:
        return dataclasses.replace(self, outcomes=outcomes)

    @property
    def reference(self) -> ContractTerms:
        return next(iter(self.terms.values()))


@dataclass(frozen=True)
class MonthResult:
    period: Period
    invoice: RatedInvoice | None  # None: the scenario's terms do not cover the month
    resolutions: int
    contacts: int
    cost: MonthCost | None = None
    offered: int = 0

    @property
    def total(self) -> Decimal:
        return self.invoice.total if self.invoice else ZERO

    @property
    def subtotal(self) -> Decimal:
        return self.invoice.subtotal if self.invoice else ZERO

    @property
    def revenue(self) -> Decimal:
        return self.subtotal

    @property
    def cost_total(self) -> Decimal | None:
        return None if self.cost is None else self.cost.total

    @property
    def margin(self) -> Decimal | None:
        return None if self.cost is None else self.revenue - self.cost.total

    @property
    def at_risk(self) -> Decimal:
        return (self.invoice.at_risk_amount or ZERO) if self.invoice else ZERO

    @property
    def credits(self) -> dict[str, Decimal]:
        """Service credits per level (negative amounts), as the invoice applies them."""
        out: dict[str, Decimal] = {}
        for line in self.invoice.lines if self.invoice else ():
            if line.type is LineType.SERVICE_CREDIT:
                out[line.charge] = out.get(line.charge, ZERO) + line.amount
        return out


@dataclass(frozen=True)
class ScenarioResult:
    name: str
    source: str
    currency: str
    minor_units: int
    months: tuple[MonthResult, ...]

    @property
    def total(self) -> Decimal:
        return sum((m.total for m in self.months), ZERO)

    @property
    def subtotal(self) -> Decimal:
        return sum((m.subtotal for m in self.months), ZERO)

    @property
    def revenue(self) -> Decimal:
        return self.subtotal

    @property
    def tax(self) -> Decimal:
        return self.total - self.subtotal

    @property
    def cost(self) -> Decimal | None:
        if any(m.cost is None for m in self.months):
            return None
        return sum((m.cost.total for m in self.months if m.cost), ZERO)

    @property
    def margin(self) -> Decimal | None:
        cost = self.cost
        return None if cost is None else self.revenue - cost

    @property
    def margin_percent(self) -> Decimal | None:
        return percent(self.margin, self.revenue)

    @property
    def at_risk(self) -> Decimal:
        return sum((m.at_risk for m in self.months), ZERO)

    @property
    def credits(self) -> dict[str, Decimal]:
        out: dict[str, Decimal] = {}
        for month in self.months:
            for level, amount in month.credits.items():
                out[level] = out.get(level, ZERO) + amount
        return out

    @property
    def credits_paid(self) -> Decimal:
        """The margin at risk that was lost: every credit, as a positive amount."""
        return -sum(self.credits.values(), ZERO)

    @property
    def resolutions(self) -> int:
        return sum(m.resolutions for m in self.months if m.invoice)

    @property
    def contacts(self) -> int:
        return sum(m.contacts for m in self.months if m.invoice)


def percent(part: Decimal | None, whole: Decimal) -> Decimal | None:
    if part is None or whole == 0:
        return None
    return EXACT.divide(EXACT.multiply(part, HUNDRED), whole)


@dataclass(frozen=True)
class BreakEven:
    """Where an alternative earns (before tax) what the reference earned over the range.

    ``kind`` is ``price`` (a usage charge's headline price; tiers scale in proportion, each
    rounded to the minor unit), ``fte_rate`` (an FTE charge's monthly rate) or ``volume``
    (contacts offered a month, every count scaled as in the volume sensitivity)."""

    scenario: str
    kind: str
    charge: str | None
    model: str | None
    in_file: Decimal  # the price or rate in the file; for volume, the measured monthly volume
    value: Decimal | None  # None: no value reaches the target
    revenue: Decimal | None  # the alternative's revenue at ``value``
    target: Decimal
    tiers: tuple[Tier, ...] = ()  # tiered pricing: every tier at the break-even
    note: str = ""  # a code: already_above, unreachable, no_units

    @property
    def factor(self) -> Decimal | None:
        if self.value is None or not self.in_file:
            return None
        return EXACT.divide(self.value, self.in_file)

    @property
    def difference(self) -> Decimal | None:
        return None if self.revenue is None else self.revenue - self.target


@dataclass(frozen=True)
class SensitivityCase:
    """Every scenario replayed with the outcomes moved one way: ``kind`` is ``volume``
    (percent), ``resolution_rate``, ``ai_share`` or ``service_level`` (points)."""

    kind: str
    step: Decimal  # signed: -10, +5, ...
    revenue: Mapping[str, Decimal]
    margin: Mapping[str, Decimal | None]
    applicable: bool = True


@dataclass(frozen=True)
class CurvePoint:
    volume: int  # contacts offered a month (the range's average)
    revenue: Decimal  # over the range, before tax
    margin: Decimal | None


@dataclass(frozen=True)
class Curve:
    scenario: str
    points: tuple[CurvePoint, ...]


@dataclass(frozen=True)
class LeftOut:
    """A month of the range that has not ended or holds no data: left out, or priced and
    flagged when asked (``included``)."""

    period: Period
    reason: str  # not_ended, no_data
    included: bool = False


@dataclass(frozen=True)
class Step:
    cause: str  # recomputed, repeat_contacts, late_data, terms_changed
    subtotal: Decimal
    total: Decimal


@dataclass(frozen=True)
class InvoiceCheck:
    """An issued invoice against the simulated current terms of its month: the steps from
    one to the other add up exactly; notes issued against the invoice are shown apart."""

    period: Period
    number: str
    issued_subtotal: Decimal
    issued_total: Decimal
    notes_total: Decimal  # signed effect of the notes on what the client owes, after tax
    steps: tuple[Step, ...]
    simulated_subtotal: Decimal
    simulated_total: Decimal


@dataclass(frozen=True)
class SimulationResult:
    contract: str
    currency: str
    minor_units: int
    periods: tuple[Period, ...]
    scenarios: tuple[ScenarioResult, ...]  # the first is the reference (current terms)
    break_even: tuple[BreakEven, ...] = ()
    sensitivity: tuple[SensitivityCase, ...] = ()
    curves: tuple[Curve, ...] = ()
    measured_volume: int = 0  # contacts offered a month, the range's average
    left_out: tuple[LeftOut, ...] = ()
    invoices: tuple[InvoiceCheck, ...] = ()
    kind: str = "contract"  # or prospect
    locale: str = "en_US"
    tax_name: str | None = None
    tax_rate: Decimal = ZERO
    costs_source: str | None = None
    origin: Mapping[str, str] = field(default_factory=dict)  # prospect: profile, seed

    @property
    def current(self) -> ScenarioResult:
        return self.scenarios[0]

    @property
    def has_costs(self) -> bool:
        return self.current.cost is not None

    @property
    def months_without_hours(self) -> tuple[Period, ...]:
        return tuple(m.period for m in self.current.months if m.cost is not None and m.cost.no_hours)
