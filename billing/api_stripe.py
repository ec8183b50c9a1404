"""``POST /webhooks/stripe``: the endpoint Stripe delivers events to.

The API app includes ``router``. It reads the raw body (the signature covers the exact
bytes) and the ``Stripe-Signature`` header; a missing, forged or stale signature answers
400, anything verified answers 200 (a replayed or irrelevant event too, so Stripe stops
retrying it). No API token: the signature is the authentication.

The database and the secret come from the dependencies ``webhook_engine`` and
``webhook_secret`` (by default ``BILLING_DATABASE_URL`` and
``BILLING_STRIPE_WEBHOOK_SECRET``); an app overrides them with ``dependency_overrides``.
"""

from __future__ import annotations

import os
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException, Request
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from billing.db import get_engine
from billing.models import utcnow
from billing.stripe_webhooks import handle_webhook


def webhook_engine() -> Engine:
    return get_engine()


def webhook_secret() -> str:
    secret = os.environ.get("BILLING_STRIPE_WEBHOOK_SECRET")
    if not secret:
        raise HTTPException(503, "Stripe webhooks are not configured (BILLING_STRIPE_WEBHOOK_SECRET)")
    return secret


router = APIRouter(tags=["stripe"])


@router.post("/webhooks/stripe", summary="Receive a signed Stripe event")
async def stripe_webhook(
    request: Request,
    engine: Annotated[Engine, Depends(webhook_engine)],
    secret: Annotated[str, Depends(webhook_secret)],
    stripe_signature: Annotated[str | None, Header()] = None,
) -> dict[str, Any]:
    payload = await request.body()
    result = await run_in_threadpool(handle_webhook, engine, payload, stripe_signature, secret, utcnow())
    if result.refused:
        raise HTTPException(400, f"invalid Stripe signature: {result.detail}")
    return {"received": True, "event": result.event_id, "outcome": result.outcome}
