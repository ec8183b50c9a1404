"""The API under load: 50 requests at once on loopback against uvicorn. Nothing is lost and
nothing is duplicated, whether the keys are distinct (50 actions) or identical (one action,
the rest replayed or told to retry)."""

from __future__ import annotations

import asyncio
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine
from sqlmodel import col, select

from billing.storage.db import reading
from billing.storage.models import Document, Payment, SeriesCounter
from tests.api.api_world import World, bearer, build
from tests.api.live_server import serving

AT_ONCE = 50


async def _fire(base: str, requests: list[dict[str, Any]]) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=AT_ONCE, max_keepalive_connections=AT_ONCE)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=300) as http:
        return await asyncio.gather(*(http.request(**request) for request in requests))


def fire(base: str, requests: list[dict[str, Any]]) -> list[httpx.Response]:
    return asyncio.run(_fire(base, requests))


def post(world: World, url: str, body: dict[str, Any], key: str) -> dict[str, Any]:
    return {
        "method": "POST",
        "url": url,
        "json": body,
        "headers": {**bearer(world.finance_token), "Idempotency-Key": key},
    }


def test_fifty_payments_at_once_settle_the_invoice_exactly(db: Engine, tmp_path: Path) -> None:
    world = build(db, tmp_path)
    # October: 17,700.00 less the 590.00 credit note = 17,110.00 owed = 50 x 342.20.
    body = {"document_id": world.andes_invoice, "amount": "342.20", "received_at": "2026-11-25T15:00:00Z"}
    requests = [post(world, "/v1/payments", {**body, "reference": f"T-{i}"}, f"pay-{i}") for i in range(AT_ONCE)]
    with serving(db) as base:
        answers = fire(base, requests)
        statement = httpx.get(
            f"{base}/v1/clients/andes/statement",
            params={"from": "2026-09", "to": "2026-11"},
            headers=bearer(world.andes_token),
        ).json()
    assert Counter(a.status_code for a in answers) == {201: AT_ONCE}
    assert [a.json()["document_status"] for a in answers].count("paid") == 1  # the last one settles it
    with reading(db) as session:
        stored = session.exec(select(Payment).where(col(Payment.reference).like("T-%"))).all()
        invoice = session.get(Document, world.andes_invoice)
    assert sorted(p.reference for p in stored) == sorted(f"T-{i}" for i in range(AT_ONCE))
    assert sum((p.amount for p in stored), Decimal(0)) == Decimal("17110.00")
    assert invoice is not None and invoice.status == "paid"
    assert statement["accounts"][0]["closing_balance"] == "0.00"


def test_fifty_retries_of_one_payment_record_it_once(db: Engine, tmp_path: Path) -> None:
    world = build(db, tmp_path)
    body = {
        "document_id": world.andes_invoice,
        "amount": "100.00",
        "received_at": "2026-11-25T15:00:00Z",
        "reference": "R-1",
    }
    with serving(db) as base:
        answers = fire(base, [post(world, "/v1/payments", body, "same-key") for _ in range(AT_ONCE)])
        after = httpx.post(
            f"{base}/v1/payments", json=body, headers={**bearer(world.finance_token), "Idempotency-Key": "same-key"}
        )
    statuses = Counter(a.status_code for a in answers)
    assert set(statuses) <= {201, 409} and statuses[201] >= 1  # 409: the first was still in flight
    assert len({a.text for a in answers if a.status_code == 201}) == 1
    assert after.status_code == 201 and after.json() == next(a.json() for a in answers if a.status_code == 201)
    with reading(db) as session:
        assert len(session.exec(select(Payment).where(Payment.reference == "R-1")).all()) == 1


def test_fifty_credit_notes_at_once_are_fifty_drafts(db: Engine, tmp_path: Path) -> None:
    world = build(db, tmp_path)
    url = f"/v1/documents/{world.andes_invoice}/notes"
    requests = [post(world, url, {"reason": f"sla {i}", "amount": "100.00"}, f"note-{i}") for i in range(AT_ONCE)]
    with serving(db) as base:
        answers = fire(base, requests)
    assert Counter(a.status_code for a in answers) == {201: AT_ONCE}
    assert len({a.json()["id"] for a in answers}) == AT_ONCE
    with reading(db) as session:
        drafts = session.exec(
            select(Document).where(Document.corrects_id == world.andes_invoice, Document.status == "draft")
        ).all()
    assert len(drafts) == AT_ONCE and {d.total for d in drafts} == {Decimal("118.00")}


def test_fifty_issues_of_one_draft_give_one_number(db: Engine, tmp_path: Path) -> None:
    world = build(db, tmp_path)
    url = f"/v1/documents/{world.andes_draft}/issue"
    with serving(db) as base:
        answers = fire(base, [post(world, url, {}, f"issue-{i}") for i in range(AT_ONCE)])
    assert Counter(a.status_code for a in answers) == {200: 1, 409: AT_ONCE - 1}
    assert next(a.json()["number"] for a in answers if a.status_code == 200) == "F001-00000003"
    with reading(db) as session:
        counter = session.get(SeriesCounter, "F001")
    assert counter is not None and counter.last_number == 3
