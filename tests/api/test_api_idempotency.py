"""Idempotency-Key on money POSTs: a retry replays, a different request with the same key is
refused, keys belong to one token, and a refusal is replayed like a success."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import select

from billing.access.tokens import create_token
from billing.storage.db import reading, transaction
from billing.storage.models import Payment
from tests.api.api_client import client_fixture, world_fixture  # noqa: F401  (fixtures)
from tests.api.api_world import World, bearer

PAYMENT = {"amount": "1000.00", "received_at": "2026-11-25T15:00:00Z", "reference": "BCP-77"}


def payments(db: Engine) -> list[Payment]:
    with reading(db) as session:
        return list(session.exec(select(Payment).where(Payment.reference.like("BCP-7%"))).all())  # type: ignore[attr-defined]


def test_same_key_same_body_replays_the_first_answer(client: TestClient, world: World, db: Engine) -> None:
    headers = {**bearer(world.finance_token), "Idempotency-Key": "pay-oct-1"}
    body = {**PAYMENT, "document_id": world.andes_invoice}
    first = client.post("/v1/payments", json=body, headers=headers)
    # The same JSON with its keys in another order is the same request.
    second = client.post("/v1/payments", json=dict(reversed(list(body.items()))), headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert second.headers["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first.headers
    assert len(payments(db)) == 1


def test_same_key_other_body_is_refused(client: TestClient, world: World, db: Engine) -> None:
    headers = {**bearer(world.finance_token), "Idempotency-Key": "pay-oct-2"}
    assert (
        client.post("/v1/payments", json={**PAYMENT, "document_id": world.andes_invoice}, headers=headers).status_code
        == 201
    )
    other = client.post(
        "/v1/payments", json={**PAYMENT, "amount": "2000.00", "document_id": world.andes_invoice}, headers=headers
    )
    assert other.status_code == 422 and "different request" in other.text
    elsewhere = client.post(f"/v1/documents/{world.andes_draft}/issue", json={}, headers=headers)
    assert elsewhere.status_code == 422  # the key is spent on another route
    assert [p.amount for p in payments(db)] == [1000]


def test_keys_are_scoped_per_token(client: TestClient, world: World, db: Engine) -> None:
    with transaction(db) as session:
        _, second_finance = create_token(session, "treasury")
    body = {**PAYMENT, "document_id": world.andes_invoice}
    one = client.post("/v1/payments", json=body, headers={**bearer(world.finance_token), "Idempotency-Key": "k"})
    two = client.post(
        "/v1/payments", json={**body, "reference": "BCP-78"}, headers={**bearer(second_finance), "Idempotency-Key": "k"}
    )
    assert (one.status_code, two.status_code) == (201, 201)
    assert sorted(p.reference for p in payments(db)) == ["BCP-77", "BCP-78"]


def test_a_refusal_is_replayed_and_a_missing_key_is_refused(client: TestClient, world: World) -> None:
    headers = {**bearer(world.finance_token), "Idempotency-Key": "issue-twice"}
    refused = client.post(f"/v1/documents/{world.andes_invoice}/issue", json={}, headers=headers)
    replay = client.post(f"/v1/documents/{world.andes_invoice}/issue", json={}, headers=headers)
    assert refused.status_code == replay.status_code == 409
    assert refused.json() == replay.json()
    missing = client.post(f"/v1/documents/{world.andes_draft}/issue", json={}, headers=bearer(world.finance_token))
    assert missing.status_code == 422 and "Idempotency-Key" in missing.text
