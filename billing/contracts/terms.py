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
class Address:
    """A postal address: up to three street lines, city, region, postal code and an ISO 3166-1
    country code (EN 16931 asks for the country of both parties)."""

    country: str
    lines: tuple[str, ...] = ()
    city: str | None = None
    region: str | None = None
    postal_code: str | None = None

    def as_json(self) -> dict[str, object]:
        return {
            "lines": list(self.lines),
            "city": self.city,
            "region": self.region,
            "postal_code": self.postal_code,
            "country": self.country,
        }


@dataclass(frozen=True, slots=True)
class ClientInfo:
    """The buyer as documents name it. ``tax_id`` is checked with its check digits when
    ``tax_scheme`` is given (and stored in the scheme's canonical form); without a scheme it is
    printed as written. ``purchase_order`` is the client's reference for this contract, printed
    on its documents (an amendment may change it)."""

    id: str
    name: str
    locale: str = "en_US"
    tax_id: str | None = None
    email: str | None = None
    legal_name: str | None = None
    tax_scheme: str | None = None
    address: Address | None = None
    billing_email: str | None = None
    purchase_order: str | None = None


@dataclass(frozen=True, slots=True)
class Tax:
    name: str
    rate: Decimal


@dataclass(frozen=True, slots=True)
class Withholding:
    """A part of each document the client pays to a third party instead of to the issuer, such
    as Peru's detraccion: ``percent`` of the total (tax included) of any invoice or debit note
    whose total is above ``applies_above`` (in the contract's currency), deposited into
    ``account``; ``legend`` is printed on the document."""

    name: str
    percent: Decimal
    applies_above: Decimal
    account: str
    legend: str


@dataclass(frozen=True, slots=True)
class Invoicing:
    series: str
    credit_note_series: str
    debit_note_series: str
    payment_terms_days: int = 30
    #: Days after the period ends before it may be closed (None: the repeat window).
    close_after_days: int | None = None
    withholding: Withholding | None = None


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
    #: The billing entity that issues this contract's documents (None: the only one loaded).
    issuer: str | None = None

    @property
    def close_after_days(self) -> int:
        """Days a period stays in grace after it ends: ``invoicing.close_after_days``, by default
        the repeat window (until it has passed, a resolution's fate is not known)."""
        if self.invoicing.close_after_days is not None:
            return self.invoicing.close_after_days
        return self.resolution.repeat_window_days

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


@dataclass(frozen=True, slots=True)
class BankAccount:
    """Where a client pays in one currency: a bank and at least one of an IBAN, a CCI (Peru)
    or a domestic account number (with an ABA routing number in the US); a SWIFT/BIC code for
    payments from abroad. Every number is checked with its check digits when loaded."""

    currency: str
    bank: str
    account: str | None = None
    iban: str | None = None
    cci: str | None = None
    routing: str | None = None
    swift: str | None = None

    def as_json(self) -> dict[str, object]:
        return {
            "currency": self.currency,
            "bank": self.bank,
            "account": self.account,
            "iban": self.iban,
            "cci": self.cci,
            "routing": self.routing,
            "swift": self.swift,
        }


@dataclass(frozen=True, slots=True)
class Entity:
    """A billing entity (the issuer, the seller): what an entity file says (docs/entities.md).
    ``logo`` is the path of its logo file as written, relative to the entity file."""

    code: str
    legal_name: str
    tax_scheme: str
    tax_id: str
    address: Address
    trade_name: str | None = None
    email: str | None = None
    phone: str | None = None
    bank_accounts: tuple[BankAccount, ...] = ()
    logo: str | None = None
    footer: str | None = None

    def accounts_in(self, currency: str) -> tuple[BankAccount, ...]:
        return tuple(account for account in self.bank_accounts if account.currency == currency)
