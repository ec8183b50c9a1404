"""Finance through the API: previews, close, drafts, issue, void, credit notes, payments.

The world (tests/api_world.py): Andes (PEN, IGV 18%) has September and October issued, a
credit note of 590.00 on October, and a November draft of 12,500.00 + 2.50 x 10 = 12,525.00.
"""

from __future__ import annotations

from itertools import count

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import col, select

from billing.storage.db import reading
from billing.storage.models import AuditEvent, Payment
from tests.api.api_client import client_fixture, world_fixture  # noqa: F401  (fixtures)
from tests.api.api_world import World, bearer

_keys = count(1)


def finance(world: World) -> dict[str, str]:
    return {**bearer(world.finance_token), "Idempotency-Key": f"key-{next(_keys)}"}


def test_rate_preview_and_live_kpis_store_nothing(client: TestClient, world: World) -> None:
    preview = client.get(
        "/v1/contracts/ANDES-1/rate", params={"period": "2026-10"}, headers=bearer(world.finance_token)
    )
    assert preview.status_code == 200
    body = preview.json()
    # No interactions were imported: the fixed charge alone, 12,500.00 + IGV 18% = 14,750.00.
    assert (body["subtotal"], body["tax"], body["total"]) == ("12500.00", "2250.00", "14750.00")
    kpis = client.get(
        "/v1/contracts/ANDES-1/measure", params={"period": "2026-10"}, headers=bearer(world.finance_token)
    )
    assert kpis.json()["kpis"]["offered"] == 0 and kpis.json()["kpis"]["service_level"] is None
    drafts = client.get("/v1/documents", params={"status": "draft"}, headers=bearer(world.finance_token)).json()
    assert drafts["count"] == 1


def test_unknown_contract_and_bad_period(client: TestClient, world: World) -> None:
    headers = bearer(world.finance_token)
    assert client.get("/v1/contracts/NOPE/rate", params={"period": "2026-10"}, headers=headers).status_code == 404
    assert client.get("/v1/contracts/ANDES-1/rate", params={"period": "2026-13"}, headers=headers).status_code == 422
    outside = client.get("/v1/contracts/ANDES-1/rate", params={"period": "2025-10"}, headers=headers)
    assert outside.status_code == 422 and "does not cover" in outside.text
    # months outside the engine's years are a 422 on every route that takes one, never a 500
    for month in ("0000-01", "9999-12"):
        for path, params in (
            ("/v1/contracts/ANDES-1/rate", {"period": month}),
            ("/v1/contracts/ANDES-1/measure", {"period": month}),
            ("/v1/clients/andes/statement", {"from": month}),
            ("/v1/clients/andes/statement.pdf", {"to": month}),
        ):
            answer = client.get(path, params=params, headers=headers)
            assert answer.status_code == 422, (path, month, answer.text)


def test_close_then_issue_gives_the_next_number(client: TestClient, world: World) -> None:
    closed = client.post("/v1/close", json={"period": "2026-08"}, headers=finance(world))  # long closable
    assert closed.status_code == 200
    assert [(i["contract"], i["action"], i["total"]) for i in closed.json()["invoices"]] == [
        ("ANDES-1", "created", "14750.00"),
        ("IBERIA-1", "created", "1210.00"),
    ]
    issued = client.post(
        f"/v1/documents/{world.andes_draft}/issue", json={"issue_date": "2026-12-01"}, headers=finance(world)
    )
    assert issued.status_code == 200
    body = issued.json()
    assert (body["number"], body["status"], body["total"]) == ("F001-00000003", "issued", "14779.50")
    assert (body["issue_date"], body["due_date"]) == ("2026-12-01", "2026-12-31")
    again = client.post(f"/v1/documents/{world.andes_draft}/issue", json={}, headers=finance(world))
    assert again.status_code == 409 and "already issued" in again.json()["detail"]


def test_void_needs_a_reason_and_keeps_the_number(client: TestClient, world: World) -> None:
    no_reason = client.post(f"/v1/documents/{world.iberia_invoice}/void", json={"reason": ""}, headers=finance(world))
    assert no_reason.status_code == 422
    voided = client.post(
        f"/v1/documents/{world.iberia_invoice}/void", json={"reason": "wrong client address"}, headers=finance(world)
    )
    assert voided.status_code == 200
    assert (voided.json()["status"], voided.json()["number"]) == ("void", "E001-00000001")
    detail = client.get(f"/v1/documents/{world.iberia_invoice}", headers=bearer(world.iberia_token)).json()
    assert detail["void_reason"] == "wrong client address"


def test_credit_note_create_issue_and_limit(client: TestClient, world: World, db: Engine) -> None:
    note = client.post(
        f"/v1/documents/{world.andes_invoice}/notes",
        json={"reason": "SLA fcr", "amount": "100.00"},
        headers=finance(world),
    )
    assert note.status_code == 201
    assert (note.json()["kind"], note.json()["status"], note.json()["total"]) == ("credit_note", "draft", "118.00")
    issued = client.post(f"/v1/documents/{note.json()['id']}/issue", json={}, headers=finance(world))
    assert issued.json()["number"] == "FC01-00000002"
    # 17,700.00 invoiced, 590.00 + 118.00 credited: 20,000.00 more cannot be credited.
    too_much = client.post(
        f"/v1/documents/{world.andes_invoice}/notes", json={"reason": "x", "amount": "20000.00"}, headers=finance(world)
    )
    assert too_much.status_code == 409
    by_line = client.post(
        f"/v1/documents/{world.andes_invoice}/notes",
        json={"reason": "recount", "lines": [{"charge": "resolutions", "amount": "25.00"}]},
        headers=finance(world),
    )
    assert by_line.status_code == 201 and by_line.json()["total"] == "29.50"
    with reading(db) as session:
        actions = session.exec(select(AuditEvent.action).where(col(AuditEvent.actor) == "api:finance")).all()
    assert actions.count("credit_note.created") == 2 and "credit_note.issued" in actions


def test_payment_settles_what_is_owed_after_credit_notes(client: TestClient, world: World, db: Engine) -> None:
    payment = {"document_id": world.andes_invoice, "received_at": "2026-11-25T15:00:00Z", "method": "transfer"}
    too_much = client.post(
        "/v1/payments", json={**payment, "amount": "17700.00", "reference": "BCP-9"}, headers=finance(world)
    )
    assert too_much.status_code == 409 and "17110.00" in too_much.text  # 17,700.00 - 590.00 credited
    floats = client.post(
        "/v1/payments", json={**payment, "amount": 17110.0, "reference": "BCP-9"}, headers=finance(world)
    )
    assert floats.status_code == 422
    paid = client.post(
        "/v1/payments", json={**payment, "amount": "17110.00", "reference": "BCP-9"}, headers=finance(world)
    )
    assert paid.status_code == 201
    assert (paid.json()["amount"], paid.json()["document_status"]) == ("17110.00", "paid")
    statement = client.get(
        "/v1/clients/andes/statement", params={"from": "2026-09", "to": "2026-11"}, headers=bearer(world.andes_token)
    ).json()
    assert statement["accounts"][0]["closing_balance"] == "0.00"
    listed = client.get("/v1/payments", params={"document_id": world.andes_invoice}, headers=bearer(world.andes_token))
    assert [p["reference"] for p in listed.json()["data"]] == ["BCP-9"]
    with reading(db) as session:
        assert len(session.exec(select(Payment)).all()) == 2


def test_pdfs_are_pdfs(client: TestClient, world: World) -> None:
    invoice = client.get(f"/v1/documents/{world.andes_invoice}/pdf", headers=bearer(world.andes_token))
    assert invoice.headers["content-type"] == "application/pdf" and invoice.content.startswith(b"%PDF")
    assert 'filename="F001-00000002.pdf"' in invoice.headers["content-disposition"]
    statement = client.get(
        "/v1/clients/andes/statement.pdf", params={"from": "2026-09"}, headers=bearer(world.andes_token)
    )
    assert statement.content.startswith(b"%PDF")


def test_reconcile_previews_then_records_and_drafts_the_note(client: TestClient, world: World) -> None:
    """October billed 1,000 resolutions; no interaction was ever imported, so today's data
    says 0: the 2,500.00 billed for them is open, and the proposal credits it."""
    headers = bearer(world.finance_token)
    preview = client.get("/v1/contracts/ANDES-1/reconciliation", params={"period": "2026-10"}, headers=headers)
    assert preview.status_code == 200
    assert preview.json()["net_difference"] == "-2500.00"
    assert preview.json()["proposal"]["amount"] == "2500.00"
    recorded = client.post(
        "/v1/contracts/ANDES-1/reconcile", json={"period": "2026-10", "propose": True}, headers=finance(world)
    )
    assert recorded.status_code == 200
    note_id = recorded.json()["proposed_document_id"]
    note = client.get(f"/v1/documents/{note_id}", headers=headers).json()
    assert (note["kind"], note["status"], note["subtotal"], note["total"]) == (
        "credit_note",
        "draft",
        "2500.00",
        "2950.00",
    )
    nothing = client.get("/v1/contracts/ANDES-1/reconciliation", params={"period": "2026-08"}, headers=headers)
    assert nothing.status_code == 404
