"""Idempotency-Key for every POST that creates or changes money.

The key is scoped per token. The first request with a key inserts an ``IdempotencyRecord``
under the primary key (token, key) and commits it BEFORE acting, so a concurrent request
with the same key cannot act too: it finds the record and gets 409 while the first is in
flight, then the stored answer once it is done. The answer (status and body) is stored
after the action, including a refusal (4xx), and replayed for the same key and the same
request; the same key with another request (method, path, query or body) is refused with
422. An unexpected failure (5xx) removes the reservation, so the client may retry.

Services open their own transactions (issue, void, notes), which is why the reservation is a
separate, committed step rather than part of the action's transaction.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, Header, HTTPException, Request, status
from fastapi.responses import JSONResponse, Response
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError

from billing.access.tokens import Principal
from billing.storage.db import reading, transaction
from billing.storage.models import IdempotencyRecord, utcnow

PENDING = 0
REPLAYED_HEADER = "Idempotent-Replayed"

IdempotencyKey = Annotated[
    str,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        pattern=r"^[\x21-\x7e]+$",
        description="A unique key per intended action; a retry with the same key and body replays the first answer.",
    ),
]


async def request_fingerprint(request: Request) -> str:
    """What makes two requests "the same": method, path, query and the body (JSON compared
    canonically, so key order and spacing do not matter)."""
    body = await request.body()
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode() if body else b""
    except ValueError:
        canonical = body
    digest = hashlib.sha256()
    for part in (request.method.encode(), request.url.path.encode(), str(request.url.query).encode(), canonical):
        digest.update(part)
        digest.update(b"\0")
    return digest.hexdigest()


Fingerprint = Annotated[str, Depends(request_fingerprint)]


def _reserve(engine: Engine, principal: Principal, key: str, fingerprint: str) -> bool:
    """True when this request now holds the key; False when someone already did."""
    try:
        with transaction(engine) as session:
            session.add(
                IdempotencyRecord(
                    token_id=principal.token_id,
                    key=key,
                    request_hash=fingerprint,
                    status_code=PENDING,
                    response_body="",
                    created_at=utcnow(),
                )
            )
            session.flush()
    except IntegrityError:
        return False
    return True


def _replay(engine: Engine, principal: Principal, key: str, fingerprint: str) -> Response:
    with reading(engine) as session:
        record = session.get(IdempotencyRecord, (principal.token_id, key))
    if record is None or record.status_code == PENDING:
        raise HTTPException(status.HTTP_409_CONFLICT, "a request with this Idempotency-Key is still in progress")
    if record.request_hash != fingerprint:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            "this Idempotency-Key was already used for a different request",
        )
    return Response(
        record.response_body,
        status_code=record.status_code,
        media_type="application/json",
        headers={REPLAYED_HEADER: "true"},
    )


def _store(engine: Engine, principal: Principal, key: str, status_code: int, body: Any) -> str:
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    with transaction(engine) as session:
        record = session.get(IdempotencyRecord, (principal.token_id, key))
        assert record is not None
        record.status_code, record.response_body = status_code, text
        session.add(record)
    return text


def _release(engine: Engine, principal: Principal, key: str) -> None:
    with transaction(engine) as session:
        record = session.get(IdempotencyRecord, (principal.token_id, key))
        if record is not None and record.status_code == PENDING:
            session.delete(record)


def run_once(
    engine: Engine,
    principal: Principal,
    key: str,
    fingerprint: str,
    action: Callable[[], tuple[int, Any]],
) -> Response:
    """Run ``action`` (returning status and JSON body) at most once per (token, key)."""
    if not _reserve(engine, principal, key, fingerprint):
        return _replay(engine, principal, key, fingerprint)
    try:
        status_code, body = action()
    except HTTPException as exc:
        if exc.status_code >= 500:
            _release(engine, principal, key)
            raise
        status_code, body = exc.status_code, {"detail": exc.detail}
    except BaseException:
        _release(engine, principal, key)
        raise
    text = _store(engine, principal, key, status_code, body)
    return Response(text, status_code=status_code, media_type="application/json")


__all__ = ["Fingerprint", "IdempotencyKey", "JSONResponse", "run_once"]
