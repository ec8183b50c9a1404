"""Month end through the API and the portal: documents by number (a client still sees only its
own), period states, close previews that cannot be issued, partial payments, e-invoice XML,
overdue documents and period states in the portal.

The world (tests/api/api_world.py): Andes (PEN) has September (17,110.00, paid) and October
(17,700.00, credited 590.00) issued on 3 October and 3 November, due 30 days later; Iberia
(EUR) has October (1,210.00) issued on 4 November, due 4 December.
"""

from __future__ import annotations

import io
from itertools import count

from facturx import xml_check_xsd
from fastapi.testclient import TestClient
from pypdf import PdfReader

from tests.api.api_client import client_fixture, world_fixture  # noqa: F401  (fixtures)
from tests.api.api_world import World, bearer

_keys = count(1)


def finance(world: World) -> dict[str, str]:
    return {**bearer(world.finance_token), "Idempotency-Key": f"month-end-{next(_keys)}"}


def test_a_document_is_found_by_its_number_only_by_whoever_may_see_it(client: TestClient, world: World) -> None:
    mine = client.get("/v1/documents/by-number/F001-00000002", headers=bearer(world.andes_token))
    assert mine.status_code == 200
    body = mine.json()
    assert (body["id"], body["total"], body["issuer"]["legal_name"]) == (
        world.andes_invoice,
        "17700.00",
        "Contacto Andino S.A.C.",
    )
    assert body["amount_in_words"] == "DIECISIETE MIL SETECIENTOS CON 00/100 SOLES"
    assert body["balance"] == "17110.00" and body["payable"] == "17700.00"  # less the 590.00 credit note
    other = client.get("/v1/documents/by-number/E001-00000001", headers=bearer(world.andes_token))
    assert other.status_code == 404 and "E001" in other.json()["detail"]
    nothing = client.get("/v1/documents/by-number/F001-99999999", headers=bearer(world.andes_token))
    assert nothing.status_code == 404
    assert client.get("/v1/documents/by-number/E001-00000001", headers=bearer(world.finance_token)).status_code == 200


def test_period_states_are_the_same_for_finance_and_scoped_for_a_client(client: TestClient, world: World) -> None:
    everyone = client.get("/v1/periods", params={"period": "2026-10"}, headers=bearer(world.finance_token)).json()
    assert [(s["contract"], s["state"], s["number"]) for s in everyone["data"]] == [
        ("ANDES-1", "issued", "F001-00000002"),
        ("IBERIA-1", "issued", "E001-00000001"),
    ]
    future = client.get("/v1/periods", params={"period": "2099-11"}, headers=bearer(world.iberia_token)).json()
    assert [(s["contract"], s["state"], s["closable_on"]) for s in future["data"]] == [
        ("IBERIA-1", "open", "2099-12-08")
    ]


def test_a_preview_close_drafts_what_cannot_be_issued(client: TestClient, world: World) -> None:
    refused = client.post("/v1/close", json={"period": "2099-11"}, headers=finance(world)).json()
    assert refused["created"] == 0 and refused["partial"] is True
    assert {(s["contract"], s["reason"], s["closable_on"]) for s in refused["skipped_contracts"]} == {
        ("ANDES-1", "not_closable", "2099-12-08"),
        ("IBERIA-1", "not_closable", "2099-12-08"),
    }
    preview = client.post("/v1/close", json={"period": "2099-11", "preview": True}, headers=finance(world)).json()
    assert preview["created"] == 2 and preview["partial"] is False
    draft = next(i for i in preview["invoices"] if i["contract"] == "IBERIA-1")
    assert draft["provisional"] is True
    issued = client.post(f"/v1/documents/{draft['document_id']}/issue", json={}, headers=finance(world))
    assert issued.status_code == 409 and "provisional" in issued.json()["detail"]
    listed = client.get("/v1/documents", params={"period": "2099-11"}, headers=bearer(world.finance_token)).json()
    assert {d["provisional"] for d in listed["data"]} == {True}


def test_a_partial_payment_and_what_cannot_be_paid(client: TestClient, world: World) -> None:
    body = {"document_id": world.iberia_invoice, "amount": "210.00", "received_at": "2026-11-20T10:00:00Z"}
    paid = client.post("/v1/payments", json={**body, "reference": "SEPA-1"}, headers=finance(world))
    assert paid.status_code == 201 and paid.json()["document_status"] == "issued"
    too_much = client.post(
        "/v1/payments", json={**body, "amount": "1000.01", "reference": "SEPA-2"}, headers=finance(world)
    )
    assert too_much.status_code == 409 and "1000.00 still owed" in too_much.json()["detail"]
    detraccion = {**body, "amount": "1.00", "withheld": "1.00", "reference": "SEPA-3"}
    withheld = client.post("/v1/payments", json=detraccion, headers=finance(world))
    assert withheld.status_code == 409 and "withholding left" in withheld.json()["detail"]
    rest = client.post(
        "/v1/payments", json={**body, "amount": "1000.00", "reference": "SEPA-4"}, headers=finance(world)
    )
    assert rest.status_code == 201 and rest.json()["document_status"] == "paid"


def test_the_e_invoice_xml_is_served_to_its_owner(client: TestClient, world: World) -> None:
    answer = client.get(f"/v1/documents/{world.iberia_invoice}/xml", headers=bearer(world.iberia_token))
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/xml"
    assert xml_check_xsd(answer.content, flavor="factur-x", level="en16931") is True
    draft = client.get(f"/v1/documents/{world.andes_draft}/xml", headers=bearer(world.finance_token))
    assert draft.status_code == 409 and "draft" in draft.json()["detail"]
    pdf = client.get(f"/v1/documents/{world.iberia_invoice}/pdf", headers=bearer(world.iberia_token))
    assert pdf.status_code == 200 and list(PdfReader(io.BytesIO(pdf.content)).attachments) == ["factur-x.xml"]


def test_the_portal_shows_the_periods_and_each_documents_balance(client: TestClient, world: World) -> None:
    page = client.get("/portal", params={"token": world.andes_token, "from": "2026-09", "to": "2026-11"})
    assert page.status_code == 200
    assert "Periodos de facturación" in page.text and "ANDES-1" in page.text and "IBERIA-1" not in page.text
    statement = client.get(
        "/v1/clients/andes/statement", params={"from": "2026-09", "to": "2026-11"}, headers=bearer(world.andes_token)
    ).json()
    balances = {d["number"]: d["balance"] for d in statement["documents"]}
    assert balances == {"F001-00000001": "0.00", "F001-00000002": "17110.00", "FC01-00000001": None}
    document = client.get(f"/portal/documents/{world.andes_invoice}", params={"token": world.andes_token})
    assert "Saldo pendiente" in document.text and "Contacto Andino S.A.C." in document.text
