"""Statements: the running balance with real numbers, rendered in the client's locale.

The world (tests/api_world.py) in PEN: September invoice 17,110.00 issued 3 Oct, paid
2 Nov; October invoice 17,700.00 issued 3 Nov; credit note 590.00 issued 10 Nov.
"""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import Engine

from billing.core.periods import Period
from billing.presentation.formatting import Formatter
from billing.presentation.templating import pdf
from billing.statements.rendering import document_html, statement_html
from billing.statements.serialize import statement_json
from billing.statements.store import client_view, document_views, load_statement
from billing.statements.views import ClientView, DocumentView, PaymentView, assemble
from billing.storage.db import reading
from tests.api.api_world import build

NBSP = "\xa0"
ANDES = ClientView("andes", "Andes Seguros S.A.", "es_PE", "20555555551")


def doc(id_: int, kind: str, total: str, issued: date, status: str = "issued", number: str = "") -> DocumentView:
    amount = Decimal(total)
    return DocumentView(
        id=id_, kind=kind, status=status, contract="ANDES-1", period="2026-10", series="F001",
        number_text=number or f"F001-{id_:08d}", currency="PEN", subtotal=amount, tax=Decimal(0), total=amount,
        tax_name="IGV", tax_rate=Decimal(18), issue_date=issued, due_date=None,
    )  # fmt: skip


def test_running_balance_with_real_numbers() -> None:
    statement = assemble(
        ANDES,
        Period(2026, 11),
        Period(2026, 11),
        documents=[
            doc(2, "invoice", "17700.00", date(2026, 11, 3)),
            doc(3, "credit_note", "590.00", date(2026, 11, 10), number="FC01-00000001"),
            doc(4, "debit_note", "118.00", date(2026, 11, 20), number="FD01-00000001"),
            doc(5, "invoice", "999.00", date(2026, 11, 21), status="void"),
        ],
        payments=[PaymentView(1, "F001-00000001", Decimal("17110.00"), "PEN", date(2026, 11, 2), "transfer", "BCP-1")],
        opening={"PEN": Decimal("17110.00")},
    )
    (account,) = statement.accounts
    assert [(e.kind, e.charge, e.credit, e.balance) for e in account.entries] == [
        ("payment", Decimal(0), Decimal("17110.00"), Decimal("0.00")),
        ("invoice", Decimal("17700.00"), Decimal(0), Decimal("17700.00")),
        ("credit_note", Decimal(0), Decimal("590.00"), Decimal("17110.00")),
        ("debit_note", Decimal("118.00"), Decimal(0), Decimal("17228.00")),
    ]  # the void invoice moves nothing
    assert account.opening == Decimal("17110.00")
    assert account.closing == Decimal("17228.00")
    assert account.opening + account.charges - account.credits == account.closing


def test_each_currency_keeps_its_own_balance() -> None:
    euro = DocumentView(
        id=9, kind="invoice", status="paid", contract="X", period="2026-10", series="E001", number_text="E001-1",
        currency="EUR", subtotal=Decimal("100"), tax=Decimal("21"), total=Decimal("121.00"), tax_name="IVA",
        tax_rate=Decimal(21), issue_date=date(2026, 11, 4), due_date=None,
    )  # fmt: skip
    statement = assemble(
        ANDES, Period(2026, 11), Period(2026, 11), [euro, doc(1, "invoice", "50", date(2026, 11, 5))], []
    )
    assert {(a.currency, a.closing) for a in statement.accounts} == {("EUR", Decimal("121.00")), ("PEN", Decimal(50))}


def test_statement_from_the_database(db: Engine, tmp_path: Path) -> None:
    build(db, tmp_path)
    with reading(db) as session:
        november = load_statement(session, "andes", Period(2026, 11), Period(2026, 11))
        whole = load_statement(session, "andes", Period(2026, 9), Period(2026, 11))
    (account,) = november.accounts
    assert account.opening == Decimal("17110.00")  # September's invoice, issued in October, not yet paid
    assert [e.balance for e in account.entries] == [Decimal("0.00"), Decimal("17700.00"), Decimal("17110.00")]
    assert account.closing == Decimal("17110.00")
    assert whole.accounts[0].opening == 0 and whole.accounts[0].closing == Decimal("17110.00")
    data = statement_json(november)
    assert data["accounts"][0]["closing_balance"] == "17110.00"
    assert [d["number"] for d in data["documents"]] == ["F001-00000002", "FC01-00000001"]
    october = data["documents"][0]
    assert october["lines"][1]["details"]["measured"] == 1000  # rendered as stored, not recomputed
    assert [level["id"] for level in october["service_levels"]] == ["speed", "fcr"]
    assert october["kpis"]["service_level"] == "82.69"


@pytest.mark.parametrize(
    ("locale", "currency", "expected"),
    [
        ("es_PE", "PEN", f"S/{NBSP}1,234.56"),
        ("es_ES", "EUR", f"1.234,56{NBSP}€"),
        ("es_MX", "MXN", "$1,234.56"),
        ("en_US", "USD", "$1,234.56"),
        ("en_US", "JPY", "¥1,235"),
    ],
)
def test_money_in_each_locale(locale: str, currency: str, expected: str) -> None:
    assert Formatter.for_locale(locale).money(Decimal("1234.56"), currency) == expected


def test_dates_and_months_in_each_locale() -> None:
    assert Formatter("es_PE").month("2026-09") == "Setiembre 2026"  # Peru's spelling, from CLDR
    assert Formatter("es_ES").month("2026-09") == "Septiembre 2026"
    assert Formatter("es_MX").long_date(date(2026, 11, 3)) == "3 de noviembre de 2026"
    assert Formatter("en_US").long_date(date(2026, 11, 3)) == "November 3, 2026"
    assert Formatter.for_locale("xx_NOPE").locale == "en_US"


def test_statement_page_speaks_the_clients_language(db: Engine, tmp_path: Path) -> None:
    build(db, tmp_path)
    with reading(db) as session:
        andes = load_statement(session, "andes", Period(2026, 9), Period(2026, 11))
        iberia = load_statement(session, "iberia", Period(2026, 9), Period(2026, 11))
    peru = statement_html(andes)
    assert "Estado de cuenta" in peru and "Saldo final" in peru
    assert f"S/{NBSP}17,110.00" in peru and "Setiembre 2026" in peru
    spain = statement_html(iberia)
    assert f"1.210,00{NBSP}€" in spain and "Octubre 2026" in spain
    english = statement_html(
        assemble(ClientView("nw", "Northwind", "en_US", None), Period(2026, 10), Period(2026, 10), [], [])
    )
    assert "Statement of account" in english and "No documents or payments" in english


def test_invoice_pdf_shows_the_legal_fields(db: Engine, tmp_path: Path) -> None:
    world = build(db, tmp_path)
    from billing.storage.models import Client, Document

    with reading(db) as session:
        document = session.get(Document, world.andes_invoice)
        client = session.get(Client, "andes")
        assert document is not None and client is not None
        view = document_views(session, [document])[0]
    text = PdfReader(io.BytesIO(pdf(document_html(view, client_view(client), for_pdf=True)))).pages[0].extract_text()
    for field in (
        "FACTURA\nF001-00000002",
        "Serie F001",
        "Fecha de emisión 3 de noviembre de 2026",
        "Fecha de vencimiento 3 de diciembre de 2026",
        "20555555551",
        "IGV 18 %",
        "Subtotal S/ 15,000.00",
        "IGV (18 %) S/ 2,700.00",
        "Total S/ 17,700.00",
    ):
        assert field in text.replace(NBSP, " "), field


def test_a_reconciled_invoice_shows_what_reconciliation_found(db: Engine, tmp_path: Path) -> None:
    """October billed 1,000 resolutions that today's data (none imported) does not support."""
    from billing.reconciliation.service import reconcile_contract

    world = build(db, tmp_path)
    reconcile_contract(db, "ANDES-1", Period(2026, 10), "finance")
    with reading(db) as session:
        statement = load_statement(session, "andes", Period(2026, 11), Period(2026, 11))
    october = next(d for d in statement_json(statement)["documents"] if d["id"] == world.andes_invoice)
    assert october["reconciliation"]["net_difference"] == "-2500.00"
    assert october["reconciliation"]["within_tolerance"] is False
    page = statement_html(statement)
    assert "Conciliación" in page and f"-S/{NBSP}2,500.00" in page


def test_overdue_documents_are_flagged_as_of_a_day(db: Engine, tmp_path: Path) -> None:
    """October (17,700.00 less a 590.00 credit note) is due on 3 December; Andes paid September."""
    world = build(db, tmp_path)
    with reading(db) as session:
        on_time = load_statement(session, "andes", Period(2026, 9), Period(2026, 11), as_of=date(2026, 12, 3))
        late = load_statement(session, "andes", Period(2026, 9), Period(2026, 11), as_of=date(2026, 12, 20))
    assert on_time.overdue == ()
    (october,) = late.overdue
    assert (october.id, october.balance, october.days_past_due) == (world.andes_invoice, Decimal("17110.00"), 17)
    assert statement_json(late)["overdue"] == ["F001-00000002"]
    page = statement_html(late, portal=True)
    assert "Vencido" in page and "data-days-overdue>17<" in page and f"S/{NBSP}17,110.00" in page
    assert "Vencido" not in statement_html(on_time)
