"""What the API answers and accepts. Amounts are decimal strings in the currency's minor
units; lists are ``{data, count}``. Table rows never leave the API raw."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field

#: A decimal written as a string: floats are refused at the door.
DECIMAL_PATTERN = r"^-?\d{1,15}(\.\d{1,6})?$"
PERIOD_PATTERN = r"^\d{4}-(0[1-9]|1[0-2])$"


class ClientPublic(BaseModel):
    id: str
    name: str
    locale: str
    tax_id: str | None
    legal_name: str | None = None
    tax_scheme: str | None = None
    address: dict[str, Any] | None = None
    billing_email: str | None = None


class ClientsPublic(BaseModel):
    data: list[ClientPublic]
    count: int


class ContractPublic(BaseModel):
    code: str
    client_id: str
    versions: list[date]


class ContractsPublic(BaseModel):
    data: list[ContractPublic]
    count: int


class ContractDetail(ContractPublic):
    terms: dict[str, Any] = Field(description="The terms in force today, as `billing contracts show --json`")


class DocumentSummary(BaseModel):
    id: int
    kind: str
    status: str
    contract: str
    client_id: str
    period: str
    series: str
    number: str | None
    currency: str
    subtotal: str
    tax: str
    total: str
    issue_date: date | None
    due_date: date | None
    provisional: bool = False


class DocumentsPublic(BaseModel):
    data: list[DocumentSummary]
    count: int


class LinePublic(BaseModel):
    position: int
    charge: str
    type: str
    description: str
    quantity: str
    unit_price: str | None
    amount: str
    details: dict[str, Any] = Field(description="How the line was computed (tiers, measured value, target ...)")


class ReconciliationPublic(BaseModel):
    reconciled_at: datetime
    net_difference: str
    within_tolerance: bool
    causes: list[str]
    proposed_note: str | None


class DocumentDetail(BaseModel):
    id: int
    kind: str
    status: str
    contract: str
    period: str
    series: str
    number: str | None
    currency: str
    subtotal: str
    tax: str
    total: str
    tax_name: str | None
    tax_rate: str
    issue_date: date | None
    due_date: date | None
    corrects: str | None
    reason: str | None
    void_reason: str | None
    lines: list[LinePublic]
    service_levels: list[dict[str, Any]]
    kpis: dict[str, Any]
    reconciliation: ReconciliationPublic | None = None
    provisional: bool = False
    amount_in_words: str = Field(description="The total in words in the client's language (es: CON 14/100 SOLES)")
    issuer: dict[str, Any] | None = Field(description="The issuing entity as issued (a draft: as it would be now)")
    buyer: dict[str, Any] | None = Field(description="The client block of the terms, as issued")
    withholding: dict[str, Any] | None = Field(
        default=None, description="What the client withholds for a third party (detraccion): name, percent, amount"
    )
    payable: str = Field(description="What the client pays the issuer: total less the withheld part")
    balance: str | None = Field(default=None, description="Still owed today (issued invoices and debit notes)")
    overdue: bool = False
    days_past_due: int | None = None


class EntryPublic(BaseModel):
    date: date
    kind: str
    reference: str
    description: str
    charge: str
    credit: str
    balance: str
    document_id: int | None


class AccountPublic(BaseModel):
    currency: str
    opening_balance: str
    charges: str
    credits: str
    closing_balance: str
    entries: list[EntryPublic]


class StatementPaymentPublic(BaseModel):
    id: int
    document: str | None
    amount: str
    currency: str
    received_on: date
    method: str
    reference: str
    withheld: str = "0"


class StatementPublic(BaseModel):
    client: ClientPublic
    issuers: list[dict[str, Any]] = Field(default_factory=list, description="The entities that bill this client")
    as_of: date | None = Field(default=None, description="The day balances and overdue flags are as of")
    overdue: list[str | None] = Field(default_factory=list, description="Numbers of the overdue documents")
    from_: str = Field(alias="from")
    to: str
    accounts: list[AccountPublic]
    documents: list[DocumentDetail]
    payments: list[StatementPaymentPublic]

    model_config = {"populate_by_name": True}


class KpiPoint(BaseModel):
    period: str
    document: str | None
    kpis: dict[str, Any]
    service_levels: list[dict[str, Any]]


class KpiTrendPublic(BaseModel):
    contract: str
    data: list[KpiPoint]
    count: int


class PaymentCreate(BaseModel):
    document_id: int = Field(ge=1, le=2**31 - 1)
    amount: str = Field(pattern=DECIMAL_PATTERN, description='Decimal string, e.g. "1180.00"')
    withheld: str = Field(
        default="0", pattern=DECIMAL_PATTERN, description="The part paid to a third party (detraccion) instead"
    )
    received_at: datetime = Field(description="When the money arrived (with a UTC offset)")
    method: str = Field(default="transfer", min_length=1, max_length=30)
    reference: str = Field(min_length=1, max_length=200, description="The bank or processor reference (unique)")


class PaymentPublic(BaseModel):
    id: int
    document_id: int
    document: str | None
    amount: str
    currency: str
    received_at: datetime
    method: str
    reference: str
    document_status: str
    withheld: str = "0"


class PaymentsPublic(BaseModel):
    data: list[PaymentPublic]
    count: int


class IssueRequest(BaseModel):
    issue_date: date | None = Field(default=None, description="Defaults to today in the contract's time zone")


class VoidRequest(BaseModel):
    reason: str = Field(min_length=1, max_length=500)


class NoteLineCreate(BaseModel):
    charge: str = Field(min_length=1, max_length=100)
    amount: str = Field(pattern=DECIMAL_PATTERN)
    description: str | None = Field(default=None, max_length=500)


class CreditNoteCreate(BaseModel):
    reason: str = Field(min_length=1, max_length=500)
    amount: str | None = Field(default=None, pattern=DECIMAL_PATTERN, description="One amount before tax")
    lines: list[NoteLineCreate] | None = Field(default=None, min_length=1, max_length=100)
    kind: str = Field(default="credit_note", pattern="^(credit_note|debit_note)$")


class CloseRequest(BaseModel):
    period: str = Field(pattern=PERIOD_PATTERN)
    preview: bool = Field(
        default=False, description="Also draft the contracts whose period is not closable yet, as provisional drafts"
    )


class PeriodState(BaseModel):
    contract: str
    period: str
    state: str = Field(description="open, grace, closable, drafted, issued or reconciled")
    timezone: str
    today: date
    ends_on: date
    close_after_days: int
    closable_on: date
    document_id: int | None
    number: str | None
    status: str | None
    provisional: bool
    message: str


class PeriodStates(BaseModel):
    period: str
    data: list[PeriodState]
    count: int


class Problem(BaseModel):
    detail: Any


class LineInteractions(BaseModel):
    """The contacts behind a document's line (``billing trace``), one page at a time."""

    document: str | int
    document_id: int | None
    line: int
    charge: str
    type: str
    metric: str
    period: str
    data_as_of: int | None
    contacts: int = Field(description="Contacts of the period looked at")
    counted: int = Field(description="Contacts that count (usage) or are in the level's sample")
    quantity: str | None = Field(None, description="The line's quantity (usage lines)")
    measured: str | None = Field(None, description="What the counted contacts add up to")
    sample: int | None = None
    numerator: int | None = None
    line_value: str | None = None
    agrees: bool = Field(description="The contacts give the line's own figure")
    data: list[dict[str, Any]] = Field(description="This page's contacts, in time order")
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page; null after the last")


class CurrentPeriod(BaseModel):
    """The month so far and projected (``billing current --json``)."""

    contract: str
    period: str
    as_of: date
    method: str
    days_elapsed: int
    days_in_period: int
    to_date: dict[str, Any]
    service_levels: list[dict[str, Any]]
    projected: dict[str, Any]
    projected_invoice: dict[str, Any] = Field(description="As `billing rate --json`")
