"""Issuing freezes the parties as they are: the issuer's identity and bank accounts, the
client block of the terms (with its purchase order); later changes never rewrite an issued
document, and the database refuses to. Amount in words and withholding are in the JSON."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from billing.contracts.entities import load_entities
from billing.invoicing.documents import DocumentConflict, document_json
from billing.invoicing.invoices import issue
from billing.measurement.contracts import load_contracts
from billing.storage.models import Document
from tests.conftest import ENTITIES
from tests.invoicing.invoice_helpers import CONTRACT, draft

CLIENT = 'client: {id: acme-1, name: "Cliente ACME-1", locale: es_PE, tax_id: "20100047218"}'
CLIENT_BLOCK = """issuer: ANDES-PE
client:
  id: acme-1
  name: "Cliente ACME-1"
  legal_name: "ACME Perú S.A.C."
  locale: es_PE
  tax_scheme: pe_ruc
  tax_id: "20100047218"
  address: {lines: ["Av. Arequipa 100"], city: Lima, country: PE}
  purchase_order: "OC-9"
"""


def _contract(db: Engine, tmp_path: Path, client: str = CLIENT_BLOCK) -> None:
    text_ = CONTRACT.format(
        code="ACME-1",
        client="acme-1",
        series="F001",
        credit_series="FC01",
        debit_series="FD01",
        start="2026-01-01",
    )
    path = tmp_path / "acme.yaml"
    path.write_text(text_.replace(CLIENT, client))
    load_contracts(db, [path])


def test_issue_freezes_both_parties_as_they_are(db: Engine, tmp_path: Path):
    load_entities(db, [ENTITIES / "andes-peru.yaml"])
    _contract(db, tmp_path)
    document = issue(db, draft(db, "ACME-1", 100), "finance", date(2026, 11, 3))
    assert document.issuer is not None and document.buyer is not None
    assert (document.issuer["legal_name"], document.issuer["tax_id"]) == ("Andes Contact Center S.A.C.", "20601234565")
    assert [a["currency"] for a in document.issuer["bank_accounts"]] == ["PEN"]  # the document's currency only
    assert (document.buyer["legal_name"], document.buyer["tax_id"], document.buyer["purchase_order"]) == (
        "ACME Perú S.A.C.",
        "20100047218",
        "OC-9",
    )
    moved = tmp_path / "andes-peru.yaml"
    moved.write_text((ENTITIES / "andes-peru.yaml").read_text().replace("piso 7", "piso 9"))
    (tmp_path / "andes-contact-logo.png").write_bytes((ENTITIES / "andes-contact-logo.png").read_bytes())
    load_entities(db, [moved])
    with Session(db) as session:
        kept = session.get(Document, document.id)
        assert kept is not None and kept.issuer is not None
        assert kept.issuer["address"]["lines"] == ["Av. José Larco 1301, piso 7"]
    for column, value in (("issuer", "'{}'"), ("buyer", "NULL"), ("withholding_amount", "1"), ("provisional", "true")):
        with db.begin() as conn, pytest.raises(IntegrityError, match="immutable"):
            conn.execute(text(f"UPDATE document SET {column} = {value} WHERE id = :id"), {"id": document.id})


def test_the_json_holds_the_amount_in_words_in_the_buyers_language(db: Engine, tmp_path: Path):
    load_entities(db, [ENTITIES / "andes-peru.yaml"])
    _contract(db, tmp_path)
    document = issue(db, draft(db, "ACME-1", 100), "finance", date(2026, 11, 3))
    data = document_json(document, "ACME-1")
    assert data["total"] == "1475.00"  # 1,250.00 + IGV 18 %
    assert data["amount_in_words"] == "MIL CUATROCIENTOS SETENTA Y CINCO CON 00/100 SOLES"
    assert document_json(document, "ACME-1", locale="en_US")["amount_in_words"] == (
        "One thousand four hundred seventy-five and 00/100 Peruvian soles"
    )
    assert data["payable"] == "1475.00" and data["withholding"] is None


def test_an_issuer_that_cannot_be_told_refuses_the_issue(db: Engine, tmp_path: Path):
    load_entities(db, [ENTITIES / "andes-peru.yaml", ENTITIES / "andes-spain.yaml"])
    _contract(db, tmp_path, CLIENT)  # names no issuer
    draft_id = draft(db, "ACME-1", 100)
    with pytest.raises(DocumentConflict, match="names no issuer and 2 entities are loaded"):
        issue(db, draft_id, "finance", date(2026, 11, 3))
    with Session(db) as session:
        kept = session.get(Document, draft_id)
        assert kept is not None and kept.status == "draft" and kept.number is None
