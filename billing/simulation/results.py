"""What a simulation gives: each scenario's months, break-evens and sensitivity cases, with
their JSON forms. Values only."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from billing.contracts.terms import ContractTerms
from billing.core.money import EXACT, format_decimal_string
from billing.core.periods import Period
from billing.measurement.kpis import PeriodOutcomes
from billing.rating.lines import LineType, RatedInvoice
from billing.rating.pricing.priced import text

ZERO = Decimal(0)


@dataclass(frozen=True)
class Scenario:
    """One pricing to replay: ``terms`` gives the terms governing each period (history
    periods included); ``outcomes`` are the measured months under its resolution rule."""

    name: str
    source: str
    terms: Mapping[Period, ContractTerms]
    outcomes: Mapping[Period, PeriodOutcomes]

    def with_terms(self, terms: Mapping[Period, ContractTerms]) -> Scenario:
        return dataclasses.replace(self, terms=terms)

    def with_outcomes(self, outcomes: Mapping[Period, PeriodOutcomes]) -> Scenario:
        return dataclasses.replace(self, outcomes=outcomes)


@dataclass(frozen=True)
class MonthResult:
    period: Period
    invoice: RatedInvoice | None  # None: the scenario's terms do not cover the month
    resolutions: int
    contacts: int

    @property
    def total(self) -> Decimal:
        return self.invoice.total if self.invoice else ZERO

    @property
    def subtotal(self) -> Decimal:
        return self.invoice.subtotal if self.invoice else ZERO

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
    def credits(self) -> dict[str, Decimal]:
        out: dict[str, Decimal] = {}
        for month in self.months:
            for level, amount in month.credits.items():
                out[level] = out.get(level, ZERO) + amount
        return out


@dataclass(frozen=True)
class BreakEven:
    scenario: str
    charge: str
    model: str
    current_price: Decimal  # the headline price in the alternative (flat unit, first tier, package)
    price: Decimal | None  # the headline price that earns what the current terms earned
    factor: Decimal | None  # price / current_price: every tier scales by it
    total: Decimal | None  # the scenario total at that price
    difference: Decimal | None  # total - current total (>= 0, below one step of the price)
    note: str = ""


@dataclass(frozen=True)
class SensitivityCase:
    name: str  # "volume -10%", "resolutions +10%"
    totals: dict[str, Decimal]  # scenario -> total


@dataclass(frozen=True)
class SimulationResult:
    contract: str
    currency: str
    minor_units: int
    periods: tuple[Period, ...]
    scenarios: tuple[ScenarioResult, ...]  # the first is the current terms
    break_even: tuple[BreakEven, ...] = ()
    sensitivity: tuple[SensitivityCase, ...] = ()
    sensitivity_percent: Decimal | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def current(self) -> ScenarioResult:
        return self.scenarios[0]

    def as_json(self) -> dict[str, Any]:
        mu = self.minor_units
        current = self.current
        scenarios = []
        for scenario in self.scenarios:
            months = []
            for month, base in zip(scenario.months, current.months, strict=True):
                months.append(
                    {
                        "period": str(month.period),
                        "covered": month.invoice is not None,
                        "subtotal": _money(month.subtotal, mu),
                        "total": _money(month.total, mu),
                        "difference": _money(month.total - base.total, mu),
                        "resolutions": month.resolutions,
                        "contacts": month.contacts,
                        "price_per_resolution": _price(month.subtotal, month.resolutions),
                        "price_per_contact": _price(month.subtotal, month.contacts),
                        "credits": {k: _money(v, mu) for k, v in month.credits.items()},
                    }
                )
            resolutions = sum(m.resolutions for m in scenario.months if m.invoice)
            contacts = sum(m.contacts for m in scenario.months if m.invoice)
            scenarios.append(
                {
                    "name": scenario.name,
                    "source": scenario.source,
                    "months": months,
                    "subtotal": _money(scenario.subtotal, mu),
                    "total": _money(scenario.total, mu),
                    "difference": _money(scenario.total - current.total, mu),
                    "price_per_resolution": _price(scenario.subtotal, resolutions),
                    "price_per_contact": _price(scenario.subtotal, contacts),
                    "credits": {k: _money(v, mu) for k, v in scenario.credits.items()},
                }
            )
        return {
            "contract": self.contract,
            "currency": self.currency,
            "from": str(self.periods[0]),
            "to": str(self.periods[-1]),
            "periods": [str(p) for p in self.periods],
            "scenarios": scenarios,
            "break_even": [
                {
                    "scenario": b.scenario,
                    "charge": b.charge,
                    "model": b.model,
                    "current_price": text(b.current_price),
                    "price": text(b.price),
                    "factor": None if b.factor is None else format_decimal_string(b.factor, 6),
                    "total": None if b.total is None else _money(b.total, mu),
                    "difference": None if b.difference is None else _money(b.difference, mu),
                    "note": b.note,
                }
                for b in self.break_even
            ],
            "sensitivity": {
                "percent": text(self.sensitivity_percent),
                "cases": [
                    {
                        "case": case.name,
                        "totals": {k: _money(v, mu) for k, v in case.totals.items()},
                        "differences": {k: _money(v - case.totals[current.name], mu) for k, v in case.totals.items()},
                    }
                    for case in self.sensitivity
                ],
            },
            "notes": list(self.notes),
        }


def _money(value: Decimal, minor_units: int) -> str:
    return format_decimal_string(value, minor_units)


def _price(amount: Decimal, units: int) -> str | None:
    return None if units == 0 else format_decimal_string(EXACT.divide(amount, Decimal(units)), 4)
