"""EN 16931 e-invoices: the Cross Industry Invoice passes the official Factur-X schema, and its
number, dates, parties, lines, tax breakdown and totals are the document's; the Factur-X PDF
carries that XML; drafts and documents without a party's country are refused."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from facturx import get_facturx_xml_from_pdf, xml_check_xsd
from lxml import etree
from pypdf import PdfReader
from sqlalchemy import Engine
from typer.testing import CliRunner

from billing.cli import app
from billing.contracts.entities import load_entities
from billing.invoicing.invoices import issue
from billing.invoicing.notes import ADJUSTMENT, NoteLine, create_note
from billing.measurement.contracts import load_contracts
from billing.statements.einvoice.cii import EInvoiceRefused, cii_xml
from billing.statements.einvoice.hybrid import facturx_pdf
from billing.statements.store import client_view, document_views
from billing.storage.db import reading
from billing.storage.models import Client, Document
from tests.conftest import ENTITIES
from tests.invoicing.invoice_helpers import CONTRACT, draft

NS = {
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
    "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100",
}
CLIENT = 'client: {id: acme-1, name: "Cliente ACME-1", locale: es_PE, tax_id: "20100047218"}'
PARTIES = """issuer: ANDES-PE
client:
  id: acme-1
  name: "ACME"
  legal_name: "ACME Perú S.A.C."
  locale: es_PE
  tax_scheme: pe_ruc
  tax_id: "20100047218"
  address: {lines: ["Av. Arequipa 100"], city: Lima, postal_code: "15046", country: PE}
  billing_email: ap@acme.pe
  purchase_order: "OC-2026-77"
"""
runner = CliRunner()


def _world(db: Engine, tmp_path: Path, client: str = PARTIES) -> int:
    load_entities(db, [ENTITIES / "andes-peru.yaml"])
    text = CONTRACT.format(
        code="ACME-1", client="acme-1", series="F001", credit_series="FC01", debit_series="FD01", start="2026-01-01"
    )
    path = tmp_path / "acme.yaml"
    path.write_text(text.replace(CLIENT, client))
    load_contracts(db, [path])
    invoice = issue(db, draft(db, "ACME-1", 1000), "finance", date(2026, 11, 3))  # 1,000 + 2,500 = 3,500 + IGV
    assert invoice.id is not None
    return invoice.id


def _view(db: Engine, document_id: int):
    with reading(db) as session:
        document = session.get(Document, document_id)
        client = session.get(Client, "acme-1")
        assert document is not None and client is not None
        return document_views(session, [document])[0], client_view(client)


def _text(tree: etree._Element, path: str) -> list[str]:
    return [node.text for node in tree.xpath(path, namespaces=NS)]


def test_the_invoice_xml_passes_the_schema_and_says_what_the_document_says(db: Engine, tmp_path: Path):
    view, _ = _view(db, _world(db, tmp_path))
    xml = cii_xml(view)
    assert xml_check_xsd(xml, flavor="factur-x", level="en16931") is True
    tree = etree.fromstring(xml)
    assert _text(tree, "//rsm:ExchangedDocument/ram:ID") == ["F001-00000001"]
    assert _text(tree, "//rsm:ExchangedDocument/ram:TypeCode") == ["380"]
    assert _text(tree, "//rsm:ExchangedDocument/ram:IssueDateTime/udt:DateTimeString") == ["20261103"]
    assert _text(tree, "//ram:SpecifiedTradePaymentTerms/ram:DueDateDateTime/udt:DateTimeString") == ["20261203"]
    assert _text(tree, "//ram:BillingSpecifiedPeriod/ram:StartDateTime/udt:DateTimeString") == ["20261001"]
    assert _text(tree, "//ram:BillingSpecifiedPeriod/ram:EndDateTime/udt:DateTimeString") == ["20261031"]
    seller, buyer = "//ram:SellerTradeParty", "//ram:BuyerTradeParty"
    assert _text(tree, f"{seller}/ram:Name") == ["Andes Contact Center S.A.C."]
    assert _text(tree, f"{seller}/ram:SpecifiedTaxRegistration/ram:ID") == ["20601234565"]
    assert _text(tree, f"{seller}/ram:PostalTradeAddress/ram:CountryID") == ["PE"]
    assert _text(tree, f"{buyer}/ram:Name") == ["ACME Perú S.A.C."]
    assert _text(tree, f"{buyer}/ram:SpecifiedLegalOrganization/ram:ID") == ["20100047218"]
    assert _text(tree, f"{buyer}/ram:PostalTradeAddress/ram:LineOne") == ["Av. Arequipa 100"]
    assert _text(tree, "//ram:BuyerOrderReferencedDocument/ram:IssuerAssignedID") == ["OC-2026-77"]
    lines = tree.xpath("//ram:IncludedSupplyChainTradeLineItem", namespaces=NS)
    assert [
        (
            _text(line, ".//ram:SpecifiedTradeProduct/ram:Name")[0],
            Decimal(_text(line, ".//ram:BilledQuantity")[0]),
            Decimal(_text(line, ".//ram:NetPriceProductTradePrice/ram:ChargeAmount")[0]),
            _text(line, ".//ram:LineTotalAmount")[0],
        )
        for line in lines
    ] == [
        ("Plataforma", Decimal(1), Decimal(1000), "1000.00"),
        ("Resoluciones", Decimal(1000), Decimal("2.50"), "2500.00"),
    ]
    header_tax = "//ram:ApplicableHeaderTradeSettlement/ram:ApplicableTradeTax"
    assert _text(tree, f"{header_tax}/ram:CategoryCode") == ["S"]
    assert _text(tree, f"{header_tax}/ram:RateApplicablePercent") == ["18.00"]
    assert _text(tree, f"{header_tax}/ram:BasisAmount") == ["3500.00"]
    assert _text(tree, f"{header_tax}/ram:CalculatedAmount") == ["630.00"]
    totals = "//ram:SpecifiedTradeSettlementHeaderMonetarySummation"
    assert _text(tree, f"{totals}/ram:LineTotalAmount") == ["3500.00"]
    assert _text(tree, f"{totals}/ram:TaxBasisTotalAmount") == ["3500.00"]
    assert _text(tree, f"{totals}/ram:TaxTotalAmount") == ["630.00"]
    assert tree.xpath(f"{totals}/ram:TaxTotalAmount/@currencyID", namespaces=NS) == ["PEN"]
    assert _text(tree, f"{totals}/ram:GrandTotalAmount") == ["4130.00"]
    assert _text(tree, f"{totals}/ram:DuePayableAmount") == ["4130.00"]
    assert "CUATRO MIL CIENTO TREINTA CON 00/100 SOLES" in _text(tree, "//ram:IncludedNote/ram:Content")
    assert _text(tree, "//ram:PayeePartyCreditorFinancialAccount/ram:ProprietaryID") == ["193-0012345-6-70"]
    assert _text(tree, "//ram:PayeeSpecifiedCreditorFinancialInstitution/ram:BICID") == ["BCPLPEPL"]


def test_a_credit_note_names_the_invoice_it_corrects(db: Engine, tmp_path: Path):
    invoice = _world(db, tmp_path)
    note = create_note(db, invoice, "credit_note", [NoteLine(ADJUSTMENT, Decimal(100))], "Ajuste", "finance")
    issued = issue(db, note.id or 0, "finance", date(2026, 11, 5))
    xml = cii_xml(_view(db, issued.id or 0)[0])
    assert xml_check_xsd(xml, flavor="factur-x", level="en16931") is True
    tree = etree.fromstring(xml)
    assert _text(tree, "//rsm:ExchangedDocument/ram:TypeCode") == ["381"]
    assert _text(tree, "//ram:InvoiceReferencedDocument/ram:IssuerAssignedID") == ["F001-00000001"]
    assert _text(tree, "//ram:GrandTotalAmount") == ["118.00"]


def test_the_factur_x_pdf_carries_the_xml_and_says_so(db: Engine, tmp_path: Path):
    view, client = _view(db, _world(db, tmp_path))
    data = facturx_pdf(view, client)
    name, embedded = get_facturx_xml_from_pdf(data, check_xsd=True)
    assert name == "factur-x.xml" and embedded == cii_xml(view)
    reader = PdfReader(io.BytesIO(data))
    assert list(reader.attachments) == ["factur-x.xml"]
    xmp = reader.trailer["/Root"]["/Metadata"].get_object().get_data()
    assert b"pdfaid:part>3<" in xmp and b"EN 16931" in xmp
    text = reader.pages[0].extract_text().replace("\xa0", " ")
    assert "Andes Contact Center S.A.C." in text and "ACME Perú S.A.C." in text and "OC-2026-77" in text
    assert "CUATRO MIL CIENTO TREINTA CON 00/100 SOLES" in text


def test_a_draft_or_a_party_without_country_is_not_an_e_invoice(db: Engine, tmp_path: Path):
    load_entities(db, [ENTITIES / "andes-peru.yaml"])
    text = CONTRACT.format(
        code="ACME-1", client="acme-1", series="F001", credit_series="FC01", debit_series="FD01", start="2026-01-01"
    )
    path = tmp_path / "acme.yaml"
    path.write_text(text)  # the client block has no address
    load_contracts(db, [path])
    draft_id = draft(db, "ACME-1", 10)
    with pytest.raises(EInvoiceRefused, match="is a draft"):
        cii_xml(_view(db, draft_id)[0])
    issued = issue(db, draft_id, "finance", date(2026, 11, 3))
    with pytest.raises(EInvoiceRefused, match="needs the buyer's country"):
        cii_xml(_view(db, issued.id or 0)[0])


def test_the_command_writes_both_files_by_number(db: Engine, db_url: str, tmp_path: Path):
    _world(db, tmp_path)
    pdf_file, xml_file = tmp_path / "f.pdf", tmp_path / "f.xml"
    done = runner.invoke(
        app, ["--db", db_url, "einvoice", "F001-00000001", "--out", str(pdf_file), "--xml", str(xml_file)]
    )
    assert done.exit_code == 0, done.output
    assert get_facturx_xml_from_pdf(pdf_file.read_bytes())[1] == xml_file.read_bytes()
    plain = runner.invoke(app, ["--db", db_url, "pdf", "invoice", "F001-00000001", "--out", str(tmp_path / "p.pdf")])
    assert plain.exit_code == 0 and list(PdfReader(tmp_path / "p.pdf").attachments) == ["factur-x.xml"]
    missing = runner.invoke(app, ["--db", db_url, "einvoice", "F001-00000009", "--xml", str(xml_file)])
    assert missing.exit_code == 1 and "no document 'F001-00000009'" in missing.stderr
