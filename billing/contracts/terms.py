"""Contract terms: frozen, typed values parsed from the contract language (docs/contract-language.md).

Nothing here touches a database, a clock or babel: the parser resolves currency precision
and validates everything before these objects exist, so rating can trust them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from billing.core.money import Currency, RoundingMode
from billing.core.periods import Period


class ChargeType(StrEnum):
    FIXED = "fixed"
    FTE = "fte"
    HOURLY = "hourly"
    USAGE = "usage"


class UsageMetric(StrEnum):
    RESOLUTIONS = "resolutions"
    CONTACTS = "contacts"
    HANDLED_MINUTES = "handled_minutes"


class PricingModel(StrEnum):
    FLAT = "flat"
    GRADUATED = "graduated"
    VOLUME = "volume"
    PACKAGE = "package"


class KpiMetric(StrEnum):
    SERVICE_LEVEL = "service_level"
    ASA_SECONDS = "asa_seconds"
    AHT_SECONDS = "aht_seconds"
    ABANDONMENT_RATE = "abandonment_rate"
    FCR_RATE = "fcr_rate"
    CSAT = "csat"
    NPS = "nps"
    QA_SCORE = "qa_score"

    @property
    def higher_is_better(self) -> bool:
        return self not in (KpiMetric.ASA_SECONDS, KpiMetric.AHT_SECONDS, KpiMetric.ABANDONMENT_RATE)


class ServiceLevelFormula(StrEnum):
    EXCLUDE_SHORT_ABANDONS = "exclude_short_abandons"
    ABANDONS_AGAINST = "abandons_against"
    ABANDONS_FOR = "abandons_for"
    ANSWERED_ONLY = "answered_only"


class HandledBy(StrEnum):
    HUMAN = "human"
    AI = "ai"


DEFAULT_THRESHOLD_SECONDS = 20
DEFAULT_HOURS_PER_FTE = Decimal(160)


@dataclass(frozen=True, slots=True)
class Filter:
    """Which interactions a charge or level measures; ``None`` means all."""

    channels: tuple[str, ...] | None = None
    handled_by: tuple[str, ...] | None = None

    def describe(self) -> str:
        parts = []
        if self.channels:
            parts.append("/".join(self.channels))
        if self.handled_by:
            parts.append("/".join(self.handled_by))
        return ", ".join(parts)


@dataclass(frozen=True, slots=True)
class Tier:
    up_to: Decimal | None
    unit_price: Decimal


@dataclass(frozen=True, slots=True)
class Pricing:
    """A usage pricing model. Which fields are set depends on ``model``; the parser
    guarantees the right ones are present."""

    model: PricingModel
    unit_price: Decimal | None = None
    tiers: tuple[Tier, ...] = ()
    package_size: Decimal | None = None
    package_price: Decimal | None = None


@dataclass(frozen=True, slots=True)
class FixedCharge:
    id: str
    description: str
    amount: Decimal
    type: ChargeType = ChargeType.FIXED


@dataclass(frozen=True, slots=True)
class HeadcountStep:
    start: date
    fte: Decimal


@dataclass(frozen=True, slots=True)
class FteCharge:
    id: str
    description: str
    rate: Decimal
    headcount: tuple[HeadcountStep, ...]
    minimum_fte: Decimal | None = None
    hours_per_fte: Decimal = DEFAULT_HOURS_PER_FTE
    type: ChargeType = ChargeType.FTE

    def fte_on(self, day: date) -> Decimal:
        """Headcount in force on a day (0 before the first step), floored at the minimum."""
        fte = Decimal(0)
        for step in self.headcount:
            if step.start <= day:
                fte = step.fte
        if self.minimum_fte is not None and fte < self.minimum_fte:
            fte = self.minimum_fte
        return fte


@dataclass(frozen=True, slots=True)
class HourlyCharge:
    id: str
    description: str
    rate: Decimal
    type: ChargeType = ChargeType.HOURLY


@dataclass(frozen=True, slots=True)
class UsageCharge:
    id: str
    description: str
    metric: UsageMetric
    pricing: Pricing
    filter: Filter = Filter()
    included: Decimal = Decimal(0)
    minimum_amount: Decimal | None = None
    maximum_amount: Decimal | None = None
    type: ChargeType = ChargeType.USAGE


Charge = FixedCharge | FteCharge | HourlyCharge | UsageCharge


@dataclass(frozen=True, slots=True)
class ServiceLevel:
    id: str
    metric: KpiMetric
    target: Decimal
    allocation_percent: Decimal
    filter: Filter = Filter()
    threshold_seconds: int = DEFAULT_THRESHOLD_SECONDS
    formula: ServiceLevelFormula = ServiceLevelFormula.EXCLUDE_SHORT_ABANDONS
    minimum_sample: int | None = None
    description: str = ""


@dataclass(frozen=True, slots=True)
class ServiceLevels:
    at_risk_percent: Decimal
    levels: tuple[ServiceLevel, ...]
    earnback_months: int | None = None
    excuse_above_forecast_percent: Decimal | None = None
    forecast: tuple[tuple[Period, int], ...] = ()

    def forecast_for(self, period: Period) -> int | None:
        return dict(self.forecast).get(period)


@dataclass(frozen=True, slots=True)
class ClientInfo:
    id: str
    name: str
    locale: str = "en_US"
    tax_id: str | None = None
    email: str | None = None


@dataclass(frozen=True, slots=True)
class Tax:
    name: str
    rate: Decimal


@dataclass(frozen=True, slots=True)
class Invoicing:
    series: str
    credit_note_series: str
    debit_note_series: str
    payment_terms_days: int = 30


@dataclass(frozen=True, slots=True)
class ResolutionRule:
    repeat_window_days: int = 7
    exclude_escalated: bool = True


#: Days after a period ends during which its data may still be reconciled (late data, disputes).
DEFAULT_RECONCILIATION_DAYS = 90


@dataclass(frozen=True, slots=True)
class Reconciliation:
    tolerance_percent: Decimal = Decimal("0.5")
    #: After this many days past the period's end, its interactions may be deleted by retention.
    window_days: int = DEFAULT_RECONCILIATION_DAYS


@dataclass(frozen=True, slots=True)
class ContractTerms:
    """One version of a contract: the base terms or an amendment effective from a period."""

    code: str
    client: ClientInfo
    currency: Currency
    timezone: str
    start: date
    charges: tuple[Charge, ...]
    invoicing: Invoicing
    end: date | None = None
    effective_from: date | None = None
    rounding: RoundingMode = RoundingMode.HALF_UP
    tax: Tax | None = None
    resolution: ResolutionRule = ResolutionRule()
    service_levels: ServiceLevels | None = None
    reconciliation: Reconciliation = Reconciliation()

    @property
    def effective_start(self) -> date:
        """The first day these terms govern."""
        return self.effective_from or self.start

    def is_active(self, period: Period) -> bool:
        return period.covered_days(self.start, self.end) > 0

    def charge(self, charge_id: str) -> Charge:
        for item in self.charges:
            if item.id == charge_id:
                return item
        raise KeyError(charge_id)
