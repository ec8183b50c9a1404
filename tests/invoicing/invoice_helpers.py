"""Shared set-up for invoice tests: a contract written inline and rated invoices by hand
(the figures a rating would produce), so storage and lifecycle are tested on their own."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

from sqlalchemy import Engine

from billing.contracts.store import ContractInForce, active_contracts
from billing.core.periods import Period
from billing.invoicing.invoices import store_drafts
from billing.measurement.contracts import load_contracts
from billing.rating.lines import LineType, RatedInvoice, RatedLine, ServiceLevelResult
from billing.storage.db import reading

OCTOBER = Period(2026, 10)
#: A contract start early enough for tests that draft many months up to OCTOBER (every
#: invoice is dated after its month, and never in the future).
EARLY_START = "2024-01-01"
NOW = date(2026, 11, 3)

CONTRACT = """
contract: {code}
client: {{id: {client}, name: "Cliente {code}", locale: es_PE, tax_id: "20100047218"}}
currency: PEN
timezone: America/Lima
start: {start}
tax: {{name: IGV, rate: "18"}}
invoicing: {{series: {series}, credit_note_series: {credit_series}, debit_note_series: {debit_series},
            payment_terms_days: 30}}
charges:
  - {{id: platform, type: fixed, description: "Plataforma", amount: "1000.00"}}
  - id: resolutions
    type: usage
    description: "Resoluciones"
    metric: resolutions
    pricing: {{model: flat, unit_price: "2.50"}}
"""


def load_contract(
    engine: Engine,
    tmp_path: Path,
    code: str = "ACME-1",
    series: str = "F001",
    credit_series: str = "FC01",
    debit_series: str = "FD01",
    start: str = "2026-01-01",
) -> None:
    path = tmp_path / f"{code}.yaml"
    path.write_text(
        CONTRACT.format(
            code=code,
            client=code.lower(),
            series=series,
            credit_series=credit_series,
            debit_series=debit_series,
            start=start,
        )
    )
    load_contracts(engine, [path])


def rated(code: str, resolutions: int, period: Period = OCTOBER) -> RatedInvoice:
    """What rating gives for the inline contract: 1000.00 fixed + 2.50 per resolution, IGV 18%."""
    usage = Decimal("2.50") * resolutions
    subtotal = Decimal("1000.00") + usage
    tax = (subtotal * Decimal("0.18")).quantize(Decimal("0.01"))
    return RatedInvoice(
        contract=code,
        period=period,
        currency="PEN",
        minor_units=2,
        lines=(
            RatedLine("platform", LineType.FIXED, "Plataforma", Decimal(1), None, Decimal("1000"), Decimal("1000.00")),
            RatedLine(
                "resolutions",
                LineType.USAGE,
                "Resoluciones",
                Decimal(resolutions),
                Decimal("2.50"),
                usage,
                usage.quantize(Decimal("0.01")),
                {"measured": resolutions, "unit_price": Decimal("2.50")},
            ),
        ),
        subtotal=subtotal,
        tax=tax,
        total=subtotal + tax,
        tax_name="IGV",
        tax_rate=Decimal(18),
        service_levels=(
            ServiceLevelResult("answer-speed", "service_level", Decimal("82.5"), Decimal(80), True, 400, Decimal(0)),
        ),
        kpis={"offered": 400, "service_level": "82.50"},
    )


def in_force(engine: Engine, code: str, period: Period = OCTOBER) -> ContractInForce:
    with reading(engine) as session:
        return next(item for item in active_contracts(session, period) if item.terms.code == code)


def draft(engine: Engine, code: str, resolutions: int, period: Period = OCTOBER) -> int:
    """Store a draft invoice for ``code`` and return its id."""
    from datetime import UTC, datetime

    result = store_drafts(
        engine, period, [(in_force(engine, code, period), rated(code, resolutions, period))], "test", datetime.now(UTC)
    )
    document_id = result.outcomes[0].document_id
    assert document_id is not None
    return document_id
