"""A small world for API, statement and portal tests: two clients in two countries, each with
a contract written inline, invoices stored as rating would store them (lines with their
explanations, service levels, KPIs), a credit note, a payment, and a token per client.

Documents are written directly (the invoice lifecycle has its own tests); the figures are
hand-checked: 12,500.00 + 2.50 x 1,000 resolutions = 15,000.00 + IGV 18% = 17,700.00.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlmodel import select

from billing.access.tokens import create_token
from billing.measurement.contracts import load_contracts
from billing.storage.db import transaction
from billing.storage.models import Contract, ContractVersion, Document, DocumentLine, Payment, SeriesCounter

ANDES = """
contract: ANDES-1
client: {id: andes, name: "Andes Seguros S.A.", locale: es_PE, tax_id: "20555555551"}
currency: PEN
timezone: America/Lima
start: 2026-01-01
tax: {name: IGV, rate: "18"}
invoicing: {series: F001, credit_note_series: FC01, payment_terms_days: 30}
charges:
  - {id: platform, type: fixed, description: "Plataforma", amount: "12500.00"}
  - id: resolutions
    type: usage
    description: "Resoluciones"
    metric: resolutions
    pricing: {model: flat, unit_price: "2.50"}
"""

IBERIA = """
contract: IBERIA-1
client: {id: iberia, name: "Iberia Retail S.L.", locale: es_ES, tax_id: "B87654321"}
currency: EUR
timezone: Europe/Madrid
start: 2026-01-01
tax: {name: IVA, rate: "21"}
invoicing: {series: E001, credit_note_series: EC01, payment_terms_days: 30}
charges:
  - {id: platform, type: fixed, description: "Plataforma", amount: "1000.00"}
  - {id: contacts, type: usage, description: "Contactos", metric: contacts, pricing: {model: flat, unit_price: "0.10"}}
"""

SERVICE_LEVELS = [
    {
        "id": "speed",
        "metric": "service_level",
        "value": "82.69",
        "target": "80",
        "met": True,
        "sample": 1060,
        "credit": "0.00",
        "excused": False,
    },
    {
        "id": "fcr",
        "metric": "fcr_rate",
        "value": "61.20",
        "target": "70",
        "met": False,
        "sample": 1000,
        "credit": "500.00",
        "excused": False,
    },
]
#: The parties the documents were issued with (what ``billing.contracts.entities`` snapshots at issue).
ISSUERS = {
    "PEN": {
        "code": "BPO-PE",
        "legal_name": "Contacto Andino S.A.C.",
        "tax_scheme": "pe_ruc",
        "tax_id": "20601234565",
        "tax_label": "RUC",
        "address": {"lines": ["Av. Larco 1301"], "city": "Lima", "postal_code": "15074", "country": "PE"},
        "email": "facturas@contacto.pe",
        "bank_accounts": [{"currency": "PEN", "bank": "BCP", "account": "193-1", "cci": "00219300123456701214"}],
    },
    "EUR": {
        "code": "BPO-ES",
        "legal_name": "Contacto Iberia S.L.",
        "tax_scheme": "es_cif",
        "tax_id": "B12345674",
        "tax_label": "CIF",
        "address": {"lines": ["Calle de Alcalá 120"], "city": "Madrid", "postal_code": "28009", "country": "ES"},
        "bank_accounts": [{"currency": "EUR", "bank": "CaixaBank", "iban": "ES9121000418450200051332"}],
    },
}
BUYERS = {
    "andes": {
        "id": "andes",
        "name": "Andes Seguros S.A.",
        "legal_name": "Andes Seguros S.A.",
        "tax_id": "20555555551",
        "address": {"lines": ["Av. Javier Prado 100"], "city": "Lima", "country": "PE"},
        "locale": "es_PE",
    },
    "iberia": {
        "id": "iberia",
        "name": "Iberia Retail S.L.",
        "legal_name": "Iberia Retail S.L.",
        "tax_id": "B87654321",
        "address": {"lines": ["Passeig de Gràcia 85"], "city": "Barcelona", "country": "ES"},
        "locale": "es_ES",
    },
}
KPIS = {"offered": 1060, "answered": 1000, "service_level": "82.69", "fcr_rate": "61.20", "resolutions": 1000}


@dataclass
class World:
    andes_invoice: int
    andes_september: int
    andes_credit_note: int
    andes_draft: int
    iberia_invoice: int
    andes_token: str
    iberia_token: str
    finance_token: str
    revoked_token: str


def load_world_contracts(engine: Engine, tmp_path: Path) -> None:
    (tmp_path / "andes.yaml").write_text(ANDES)
    (tmp_path / "iberia.yaml").write_text(IBERIA)
    load_contracts(engine, [tmp_path / "andes.yaml", tmp_path / "iberia.yaml"])


def add_document(
    engine: Engine,
    code: str,
    period: str,
    *,
    kind: str = "invoice",
    status: str = "issued",
    series: str,
    number: int | None,
    lines: list[tuple[str, str, str, str, str | None, str, dict[str, Any]]],
    tax_name: str,
    tax_rate: str,
    issue_date: date | None,
    corrects: int | None = None,
    service_levels: list[dict[str, Any]] | None = None,
    kpis: dict[str, Any] | None = None,
) -> int:
    """A document as the invoice lifecycle stores it: written as a draft with its lines, then
    moved to ``status`` (issued documents cannot take new lines)."""
    subtotal = sum((Decimal(line[5]) for line in lines), Decimal(0))
    tax = (subtotal * Decimal(tax_rate) / 100).quantize(Decimal("0.01"))
    with transaction(engine) as session:
        contract = session.exec(select(Contract).where(Contract.code == code)).one()
        version = session.exec(select(ContractVersion).where(ContractVersion.contract_id == contract.id)).first()
        assert version is not None
        currency = "PEN" if code.startswith("ANDES") else "EUR"
        doc = Document(
            kind=kind,
            status="draft",
            contract_id=contract.id,
            client_id=contract.client_id,
            period=period,
            series=series,
            currency=currency,
            subtotal=subtotal,
            tax=tax,
            total=subtotal + tax,
            tax_name=tax_name,
            tax_rate=Decimal(tax_rate),
            corrects_id=corrects,
            terms_version_id=version.id,
            reason="Crédito por nivel de servicio" if kind == "credit_note" else None,
            service_levels=service_levels or [],
            kpis=kpis or {},
        )
        session.add(doc)
        session.flush()
        assert doc.id is not None
        for position, (charge, type_, description, quantity, unit_price, amount, details) in enumerate(lines, 1):
            session.add(
                DocumentLine(
                    document_id=doc.id,
                    position=position,
                    charge=charge,
                    type=type_,
                    description=description,
                    quantity=Decimal(quantity),
                    unit_price=None if unit_price is None else Decimal(unit_price),
                    amount=Decimal(amount),
                    details=details,
                )
            )
        session.flush()
        if status != "draft":
            doc.status = status
            doc.number = number
            doc.number_text = f"{series}-{number:08d}" if number else None
            doc.issue_date = issue_date
            doc.due_date = date.fromordinal(issue_date.toordinal() + 30) if issue_date else None
            doc.issued_at = (
                datetime(issue_date.year, issue_date.month, issue_date.day, 15, tzinfo=UTC) if issue_date else None
            )
            doc.issuer, doc.buyer = ISSUERS[currency], BUYERS[contract.client_id]
            session.add(doc)
        return doc.id


def andes_lines(resolutions: int = 1000) -> list[tuple[str, str, str, str, str | None, str, dict[str, Any]]]:
    usage = Decimal("2.50") * resolutions
    return [
        ("platform", "fixed", "Plataforma", "1", None, "12500.00", {"days": 31, "prorated": False}),
        (
            "resolutions",
            "usage",
            "Resoluciones",
            str(resolutions),
            "2.50",
            str(usage.quantize(Decimal("0.01"))),
            {"measured": resolutions, "unit_price": "2.50", "tiers": [{"units": resolutions, "price": "2.50"}]},
        ),
    ]


def add_payment(engine: Engine, document_id: int, amount: str, on: date, reference: str, currency: str = "PEN") -> None:
    with transaction(engine) as session:
        session.add(
            Payment(
                document_id=document_id,
                amount=Decimal(amount),
                currency=currency,
                received_at=datetime(on.year, on.month, on.day, 12, tzinfo=UTC),
                method="transfer",
                reference=reference,
            )
        )


def build(engine: Engine, tmp_path: Path) -> World:
    """September and October for Andes (PEN), October for Iberia (EUR), a credit note, a
    payment of September, an October draft, and tokens."""
    load_world_contracts(engine, tmp_path)
    september = add_document(
        engine,
        "ANDES-1",
        "2026-09",
        series="F001",
        number=1,
        lines=andes_lines(800),
        tax_name="IGV",
        tax_rate="18",
        issue_date=date(2026, 10, 3),
        service_levels=[{**SERVICE_LEVELS[0], "value": "78.10", "met": False}],
        kpis={**KPIS, "service_level": "78.10"},
    )  # 12,500 + 2,000 = 14,500.00 + 2,610.00 = 17,110.00
    october = add_document(
        engine,
        "ANDES-1",
        "2026-10",
        series="F001",
        number=2,
        lines=andes_lines(1000),
        tax_name="IGV",
        tax_rate="18",
        issue_date=date(2026, 11, 3),
        service_levels=SERVICE_LEVELS,
        kpis=KPIS,
    )  # 15,000.00 + 2,700.00 = 17,700.00
    credit = add_document(
        engine,
        "ANDES-1",
        "2026-10",
        kind="credit_note",
        series="FC01",
        number=1,
        lines=[("adjustment", "adjustment", "Crédito FCR", "1", None, "500.00", {"level": "fcr"})],
        tax_name="IGV",
        tax_rate="18",
        issue_date=date(2026, 11, 10),
        corrects=october,
    )  # 500.00 + 90.00 = 590.00
    draft = add_document(
        engine,
        "ANDES-1",
        "2026-11",
        status="draft",
        series="F001",
        number=None,
        lines=andes_lines(10),
        tax_name="IGV",
        tax_rate="18",
        issue_date=None,
    )
    iberia = add_document(
        engine,
        "IBERIA-1",
        "2026-10",
        series="E001",
        number=1,
        lines=[
            ("platform", "fixed", "Plataforma", "1", None, "1000.00", {"days": 31}),
            ("contacts", "usage", "Contactos", "0", "0.10", "0.00", {"metric": "contacts"}),  # none measured
        ],
        tax_name="IVA",
        tax_rate="21",
        issue_date=date(2026, 11, 4),
        service_levels=SERVICE_LEVELS,
        kpis=KPIS,
    )  # 1,000.00 + 210.00 = 1,210.00
    add_payment(engine, september, "17110.00", date(2026, 11, 2), "BCP-0001")
    with transaction(engine) as session:  # the numbers above were taken from these series
        session.add_all([SeriesCounter(series="F001", last_number=2), SeriesCounter(series="FC01", last_number=1)])
        session.add(SeriesCounter(series="E001", last_number=1))
    with transaction(engine) as session:
        _, andes_token = create_token(session, "andes portal", "andes")
        _, iberia_token = create_token(session, "iberia portal", "iberia")
        _, finance_token = create_token(session, "finance")
        revoked, revoked_token = create_token(session, "old finance")
    from billing.access.tokens import revoke_token

    with transaction(engine) as session:
        revoke_token(session, revoked.id or 0)
    return World(october, september, credit, draft, iberia, andes_token, iberia_token, finance_token, revoked_token)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
