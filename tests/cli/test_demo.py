"""The demo end to end: its months are refused while open and in grace, then closed; its
invoices name issuer and buyer with valid tax ids, the amount in words and (Banco Andino) the
detraccion; every PDF it writes is a Factur-X whose XML passes the official schema."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from facturx import get_facturx_xml_from_pdf, xml_check_xsd
from lxml import etree
from pypdf import PdfReader
from stdnum.es import cif
from stdnum.pe import ruc
from stdnum.us import ein
from typer.testing import CliRunner

from billing.cli import app

NS = {"ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"}
#: The tax id check of each issuer's documents, by series (Peru's RUC, Spain's CIF, a US EIN).
CHECKS = {"F001": ruc.is_valid, "2026": cif.is_valid, "NWH": ein.is_valid}


@pytest.mark.slow
def test_the_demo_tells_month_end_from_refusal_to_receivables(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["demo", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output[-2000:]
    out = result.stdout
    assert "BANDINO-2026: 2026-10 is open until 2026-10-31 (America/Lima); closable from 2026-11-08" in out
    assert "TIBERICA-2026: 2026-10 ended on 2026-10-31 and is in grace for 3 day(s)" in out
    assert "issued debit note F001-ND-00000001 for 3868.37 PEN" in out
    assert "overdue: F001-00000002 Banco Andino S.A." in out
    pdfs = sorted((tmp_path / "einvoices").glob("*.pdf"))
    assert len(pdfs) == 11
    for path in pdfs:
        name, xml = get_facturx_xml_from_pdf(path.read_bytes(), check_xsd=False)
        assert name == "factur-x.xml" and xml_check_xsd(xml, flavor="factur-x", level="en16931") is True
        tree = etree.fromstring(xml)
        check = CHECKS[path.stem.split("-")[0]]
        ids = tree.xpath(
            "//ram:SellerTradeParty/ram:SpecifiedTaxRegistration/ram:ID | //ram:BuyerTradeParty//ram:ID",
            namespaces=NS,
        )
        assert len(ids) == 2 and all(check(node.text.removeprefix("ES")) for node in ids), path.name
    invoice = PdfReader(io.BytesIO((tmp_path / "einvoices" / "F001-00000003.pdf").read_bytes()))
    text = "\n".join(page.extract_text() for page in invoice.pages).replace("\xa0", " ")
    for shown in (
        "Andes Contact Center S.A.C.",
        "RUC: 20601234565",
        "Banco Andino S.A.",
        "RUC: 20100047218",
        "OC-2026-0147",
        "CUATROCIENTOS OCHENTA Y SIETE MIL CUATROCIENTOS CINCUENTA Y DOS CON 10/100",
        "Detracción (12 %)",
        "00-741-123456",
    ):
        assert shown in text, shown
    english = PdfReader(io.BytesIO((tmp_path / "einvoices" / "NWH-00000003.pdf").read_bytes()))
    words = english.pages[0].extract_text().replace("\xa0", " ")
    assert "Forty-seven thousand one hundred fifty-two and 87/100 US dollars" in words and "EIN: 84-2345678" in words
