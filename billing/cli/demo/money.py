"""The demo's money: a month of payments (in full, in part, the detraccion deposited apart, late)
and the receivables they leave, and every issued document as a Factur-X e-invoice."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from billing.cli.common import console
from billing.cli.demo.month import ACTOR, invoice_of, money_formatter
from billing.core.periods import Period

if TYPE_CHECKING:
    from sqlalchemy import Engine


def payments(engine: Engine, months: list[Period]) -> None:
    """August is paid (Banco Andino net of its detraccion, which it deposits at the Banco de la
    Nacion; Northwind late); of September, Banco Andino has only deposited the detraccion and
    Northwind paid a part; Tienda Iberica's September and every October invoice are still open."""
    from billing.invoicing.payments import record_payment

    august, september = months[0], months[1]

    def pay(code: str, period: Period, on: date, part: str, reference: str) -> None:
        invoice = invoice_of(engine, code, period)
        withheld = invoice.withholding_amount or Decimal(0)
        amount = {"all": invoice.total - withheld, "withholding": Decimal(0), "half": invoice.total / 2}[part]
        amount = amount.quantize(Decimal("0.01"))
        withheld = withheld if part in ("all", "withholding") else Decimal(0)
        at = datetime(on.year, on.month, on.day, 15, tzinfo=UTC)
        payment, document = record_payment(
            engine, invoice.number_text or "", amount, at, reference, "transfer", ACTOR, withheld=withheld
        )
        money = money_formatter(document.currency)
        extra = f" + {money(payment.withheld)} withheld ({(invoice.withholding or {}).get('name')})" if withheld else ""
        console.print(
            f"  {on} {document.number_text} {code}: {money(payment.amount)} {document.currency}{extra} "
            f"-> {document.status}",
            highlight=False,
        )

    pay("BANDINO-2026", august, date(2026, 10, 6), "all", "BCP-0906-118")
    pay("TIBERICA-2026", august, date(2026, 10, 20), "all", "CAIXA-2026-10-20-07")
    pay("NWH-2026", august, date(2026, 10, 20), "all", "CHASE-WIRE-55120")  # due 8 October: late
    pay("BANDINO-2026", september, date(2026, 11, 12), "withholding", "BN-DETR-2026-11-0047")
    pay("NWH-2026", september, date(2026, 11, 15), "half", "CHASE-WIRE-56004")


def receivables(engine: Engine, as_of: date) -> None:
    from rich.table import Table

    from billing.core.ageing import BUCKET_CODES
    from billing.invoicing.receivables import receivables as aged
    from billing.storage.db import reading

    with reading(engine) as session:
        report = aged(session, as_of)
    table = Table("client", "cur.", "not yet due", "1-30", "31-60", "61-90", "over 90", "total")
    for account in report.accounts:
        data = account.as_json()
        table.add_row(account.client_id, account.currency, *(data[c] for c in BUCKET_CODES), data["total"])
    console.print(f"  receivables as of {as_of}:", highlight=False)
    console.print(table)
    for account in report.accounts:
        for document in account.documents:
            if document.overdue:
                balance = money_formatter(account.currency)(document.balance)
                console.print(
                    f"  overdue: {document.facts.number} {account.client_name} {balance} "
                    f"{account.currency} of {document.facts.total:.2f}, {document.days_past_due} days late",
                    highlight=False,
                )


def einvoices(engine: Engine, out: Path) -> None:
    """Every issued document as a Factur-X PDF (its EN 16931 XML checked against the official
    schema and embedded), with the XML beside it."""
    from sqlmodel import col, select

    from billing.statements.einvoice.cii import cii_xml
    from billing.statements.einvoice.hybrid import facturx_pdf
    from billing.statements.store import client_view, document_views
    from billing.storage.db import reading
    from billing.storage.models import Client, Document

    folder = out / "einvoices"
    folder.mkdir(exist_ok=True)
    written = []
    with reading(engine) as session:
        documents = session.exec(
            select(Document).where(col(Document.number).is_not(None)).order_by(col(Document.id))
        ).all()
        clients = {c.id: client_view(c) for c in session.exec(select(Client)).all()}
        views = document_views(session, list(documents))
    for view in views:
        (folder / f"{view.number_text}.xml").write_bytes(cii_xml(view))
        (folder / f"{view.number_text}.pdf").write_bytes(facturx_pdf(view, clients[view.buyer["id"]]))  # type: ignore[index]
        written.append(view.number_text or "")
    console.print(f"  {len(written)} Factur-X e-invoices (EN 16931) in {folder}: {', '.join(written)}", highlight=False)
