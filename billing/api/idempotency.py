"""Idempotency-Key for every POST that creates or changes money.

The key is scoped per token. The first request with a key inserts an ``IdempotencyRecord``
under the primary key (token, key) and commits it BEFORE acting, so a concurrent request
with the same key cannot act too: it finds the record and gets 409 while the first is in
flight, then the stored answer once it is done. The answer (status and body) is stored
after the action, including a refusal (4xx), and replayed for the same key and the same
request; the same key with another request (method, path, query or body) is refused with
422. An unexpected failure (5xx) removes the reservation, so the client may retry.

**Lock timeout.** A request that dies in flight (its server killed, its connection lost)
cannot remove its reservation. A reservation older than ``LOCK_TIMEOUT`` (60 s) is taken
for dead: the next request with the same key and the same request takes it over in one
conditional UPDATE (so of two such retries at once, exactly one runs; the other gets 409)
and runs. Every money action is one short transaction, far below the timeout; the action of
a request that died after its own transaction committed is refused as a duplicate by the
service on the retry (a payment's reference is unique, an issued document cannot be issued
again). The clock is a parameter of ``run_once`` so tests can move it.

Services open their own transactions (issue, void, notes), which is why the reservation is a
separate, committed step rather than part of the action's transaction.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import Depends, Header, HTTPException, Request, status
from fastapi.responses import JSONResponse, Response
from sqlalchemy import Engine, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col

from billing.access.tokens import Principal
from billing.storage.db import reading, transaction
from billing.storage.models import IdempotencyRecord, utcnow

PENDING = 0
REPLAYED_HEADER = "Idempotent-Replayed"
#: How long an unanswered reservation holds its key before it is taken for dead.
LOCK_TIMEOUT = timedelta(seconds=60)

Clock = Callable[[], datetime]

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


def _reserve(engine: Engine, principal: Principal, key: str, fingerprint: str, now: datetime) -> bool:
    """True when this request now holds the key (stamped ``now``); False when a live request
    or a stored answer holds it."""
    try:
        with transaction(engine) as session:
            session.add(
                IdempotencyRecord(
                    token_id=principal.token_id,
                    key=key,
                    request_hash=fingerprint,
                    status_code=PENDING,
                    response_body="",
                    created_at=now,
                )
            )
            session.flush()
    except IntegrityError:
        return _take_over(engine, principal, key, fingerprint, now)
    return True


def _take_over(engine: Engine, principal: Principal, key: str, fingerprint: str, now: datetime) -> bool:
    """Take the reservation of a request that died (older than ``LOCK_TIMEOUT``) for the
    same request. One conditional UPDATE: a second retry at the same moment finds the fresh
    stamp (PostgreSQL re-checks the condition after the first commits) and updates nothing."""
    with transaction(engine) as session:
        result = session.execute(
            update(IdempotencyRecord)
            .where(
                col(IdempotencyRecord.token_id) == principal.token_id,
                col(IdempotencyRecord.key) == key,
                col(IdempotencyRecord.status_code) == PENDING,
                col(IdempotencyRecord.request_hash) == fingerprint,
                col(IdempotencyRecord.created_at) < now - LOCK_TIMEOUT,
            )
            .values(created_at=now)
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def _replay(engine: Engine, principal: Principal, key: str, fingerprint: str) -> Response:
    with reading(engine) as session:
        record = session.get(IdempotencyRecord, (principal.token_id, key))
    if record is not None and record.request_hash != fingerprint:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            "this Idempotency-Key was already used for a different request",
        )
    if record is None or record.status_code == PENDING:
        seconds = int(LOCK_TIMEOUT.total_seconds())
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            f"a request with this Idempotency-Key is still in progress (retry; after {seconds} s "
            "without an answer it is taken for dead and a retry runs)",
        )
    return Response(
        record.response_body,
        status_code=record.status_code,
        media_type="application/json",
        headers={REPLAYED_HEADER: "true"},
    )


def _store(engine: Engine, principal: Principal, key: str, status_code: int, body: Any) -> str:
    """Store the answer, unless another request already did (this one outlived its lock
    timeout and a retry took over and finished first): the first answer stays."""
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    with transaction(engine) as session:
        session.execute(
            update(IdempotencyRecord)
            .where(
                col(IdempotencyRecord.token_id) == principal.token_id,
                col(IdempotencyRecord.key) == key,
                col(IdempotencyRecord.status_code) == PENDING,
            )
            .values(status_code=status_code, response_body=text)
        )
    return text


def _release(engine: Engine, principal: Principal, key: str, stamp: datetime) -> None:
    """Remove this request's own reservation (not one a retry has taken over since)."""
    with transaction(engine) as session:
        record = session.get(IdempotencyRecord, (principal.token_id, key), with_for_update=True)
        if record is not None and record.status_code == PENDING and record.created_at == stamp:
            session.delete(record)


def run_once(
    engine: Engine,
    principal: Principal,
    key: str,
    fingerprint: str,
    action: Callable[[], tuple[int, Any]],
    clock: Clock = utcnow,
) -> Response:
    """Run ``action`` (returning status and JSON body) at most once per (token, key), or
    once more after ``LOCK_TIMEOUT`` when the request that held the key died."""
    stamp = clock()
    if not _reserve(engine, principal, key, fingerprint, stamp):
        return _replay(engine, principal, key, fingerprint)
    try:
        status_code, body = action()
    except HTTPException as exc:
        if exc.status_code >= 500:
            _release(engine, principal, key, stamp)
            raise
        status_code, body = exc.status_code, {"detail": exc.detail}
    except BaseException:
        _release(engine, principal, key, stamp)
        raise
    text = _store(engine, principal, key, status_code, body)
    return Response(text, status_code=status_code, media_type="application/json")


__all__ = ["Fingerprint", "IdempotencyKey", "JSONResponse", "run_once"]
