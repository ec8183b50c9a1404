"""``POST /webhooks/stripe``: the endpoint Stripe delivers events to.

The API app includes ``router``. It reads the raw body (the signature covers the exact
bytes) and the ``Stripe-Signature`` header; a missing, forged or stale signature answers
400 (so does every delivery while no webhook secret is configured: nothing can be verified),
anything verified answers 200 (a replayed or irrelevant event too, so Stripe stops
retrying it; an event about an invoice the outbox has not recorded yet answers ``waiting``:
it is kept and applied by the push that records it). No API token: the signature is the
authentication.

The database and the secret come from the dependencies ``webhook_engine`` (the app's
``state.engine``, else ``BILLING_DATABASE_URL``) and ``webhook_secret``
(``BILLING_STRIPE_WEBHOOK_SECRET``); an app may override them with ``dependency_overrides``.
"""

from __future__ import annotations

import os
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException, Request
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from billing.collection.webhooks import handle_webhook
from billing.storage.db import get_engine
from billing.storage.models import utcnow


def webhook_engine(request: Request) -> Engine:
    """The app's database (``app.state.engine``), else the configured one."""
    engine = getattr(request.app.state, "engine", None)
    return engine if isinstance(engine, Engine) else get_engine()


def webhook_secret() -> str | None:
    return os.environ.get("BILLING_STRIPE_WEBHOOK_SECRET") or None


router = APIRouter(tags=["stripe"])


@router.post(
    "/webhooks/stripe",
    summary="Receive a signed Stripe event",
    responses={400: {"description": "Missing, forged or stale Stripe-Signature"}},
)
async def stripe_webhook(
    request: Request,
    engine: Annotated[Engine, Depends(webhook_engine)],
    secret: Annotated[str | None, Depends(webhook_secret)],
    stripe_signature: Annotated[str | None, Header()] = None,
) -> dict[str, Any]:
    payload = await request.body()
    if not secret:  # nothing can be verified, so nothing is accepted
        raise HTTPException(400, "Stripe webhooks are not configured here (BILLING_STRIPE_WEBHOOK_SECRET)")
    result = await run_in_threadpool(handle_webhook, engine, payload, stripe_signature, secret, utcnow())
    if result.refused:
        raise HTTPException(400, f"invalid Stripe signature: {result.detail}")
    return {"received": True, "event": result.event_id, "outcome": result.outcome}
