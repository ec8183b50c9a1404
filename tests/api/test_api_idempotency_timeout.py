"""An Idempotency-Key whose request died in flight is not stuck forever (issue 13, item 9):
after ``LOCK_TIMEOUT`` a retry with the same request takes the reservation over and runs,
exactly once, also when two retries come at once; the real server killed mid-request and
restarted shows it end to end."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import HTTPException
from sqlalchemy import Engine, text
from sqlmodel import select

from billing.access.tokens import Principal, authenticate
from billing.api.idempotency import LOCK_TIMEOUT, PENDING, REPLAYED_HEADER, run_once
from billing.storage.db import make_engine, reading, transaction
from billing.storage.models import Document, IdempotencyRecord, Payment
from tests.api.api_world import World, bearer, build
from tests.api.live_server import billing_serve

T0 = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)
FINGERPRINT = "f" * 64


def finance(engine: Engine, world: World) -> Principal:
    with reading(engine) as session:
        principal = authenticate(session, world.finance_token)
    assert principal is not None
    return principal


def died_in_flight(engine: Engine, principal: Principal, key: str, at: datetime) -> None:
    """What a request killed between its reservation and its answer leaves behind."""
    with transaction(engine) as session:
        session.add(
            IdempotencyRecord(
                token_id=principal.token_id,
                key=key,
                request_hash=FINGERPRINT,
                status_code=PENDING,
                response_body="",
                created_at=at,
            )
        )


def test_a_dead_reservation_is_taken_over_after_the_lock_timeout_and_runs_once(db: Engine, tmp_path: Path) -> None:
    principal = finance(db, build(db, tmp_path))
    died_in_flight(db, principal, "pay-1", T0)
    calls: list[datetime] = []

    def retry(after: timedelta, fingerprint: str = FINGERPRINT) -> Any:
        now = T0 + after

        def action() -> tuple[int, Any]:
            calls.append(now)
            return 201, {"run": len(calls)}

        return run_once(db, principal, "pay-1", fingerprint, action, clock=lambda: now)

    assert timedelta(seconds=60) == LOCK_TIMEOUT
    with pytest.raises(HTTPException) as early:
        retry(timedelta(seconds=59))
    with pytest.raises(HTTPException) as other:
        retry(timedelta(seconds=61), fingerprint="0" * 64)  # the key was the dead request's
    taken = retry(timedelta(seconds=61))
    replayed = retry(timedelta(seconds=600))

    assert early.value.status_code == 409 and "still in progress" in str(early.value.detail)
    assert other.value.status_code == 422
    assert (taken.status_code, taken.body) == (201, b'{"run":1}') and REPLAYED_HEADER not in taken.headers
    assert (replayed.status_code, replayed.body) == (201, b'{"run":1}') and replayed.headers[REPLAYED_HEADER] == "true"
    assert calls == [T0 + timedelta(seconds=61)]


def test_a_request_that_outlived_its_lock_does_not_release_the_retry_that_took_over(db: Engine, tmp_path: Path) -> None:
    """The slow first request fails after a retry took its key over: the retry's reservation
    (and then its stored answer) stays."""
    principal = finance(db, build(db, tmp_path))
    order: list[str] = []

    def slow_then_fails() -> tuple[int, Any]:
        retry = run_once(
            db, principal, "k", FINGERPRINT, lambda: (201, {"by": "retry"}), clock=lambda: T0 + 2 * LOCK_TIMEOUT
        )
        order.append(f"retry {retry.status_code}")
        raise RuntimeError("the first request fails late")

    with pytest.raises(RuntimeError):
        run_once(db, principal, "k", FINGERPRINT, slow_then_fails, clock=lambda: T0)
    replay = run_once(db, principal, "k", FINGERPRINT, lambda: (500, {}), clock=lambda: T0 + 3 * LOCK_TIMEOUT)

    assert order == ["retry 201"]
    assert (replay.status_code, replay.body) == (201, b'{"by":"retry"}')


def test_two_retries_after_the_timeout_run_the_action_once(pg_only_url: str, tmp_path: Path) -> None:
    engine = make_engine(pg_only_url)
    principal = finance(engine, build(engine, tmp_path))
    died_in_flight(engine, principal, "pay-2", T0)
    calls: list[str] = []
    release = threading.Event()
    start = threading.Barrier(2)

    def action() -> tuple[int, Any]:
        calls.append(threading.current_thread().name)
        release.wait(10)  # hold the key while the other retry tries
        return 201, {"ok": True}

    def retry(_: int) -> int:
        start.wait(10)
        try:
            answer = run_once(engine, principal, "pay-2", FINGERPRINT, action, clock=lambda: T0 + timedelta(seconds=90))
            return answer.status_code
        except HTTPException as refused:
            return refused.status_code
        finally:
            release.set()  # the loser is answered at once and lets the winner finish

    with ThreadPoolExecutor(2) as pool:
        codes = sorted(pool.map(retry, range(2)))

    assert len(calls) == 1 and codes == [201, 409]
    engine.dispose()


def _lock_waits(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
            ).scalar_one()
        )


def test_a_server_killed_mid_request_leaves_a_key_that_a_retry_runs_after_the_timeout(
    pg_only_url: str, tmp_path: Path
) -> None:
    """The reproduction on the real server: a payment POST is in flight (blocked on the
    document's row lock), the server is killed with SIGKILL and restarted; the retry is 409
    until the lock timeout has passed (moved here by ageing the reservation, as the clock
    would), then it records the payment exactly once; further retries replay it."""
    engine = make_engine(pg_only_url)
    world = build(engine, tmp_path)
    body = {"document_id": world.andes_invoice, "amount": "1000.00", "received_at": "2026-11-25T15:00:00Z"}
    body["reference"] = "BCP-KILL-1"
    headers = {**bearer(world.finance_token), "Idempotency-Key": "kill-1"}
    output = tmp_path / "serve.log"

    with ThreadPoolExecutor(1) as pool, billing_serve(pg_only_url, output) as served:
        with transaction(engine) as holder:  # another writer holds the invoice's row
            holder.exec(select(Document).where(Document.id == world.andes_invoice).with_for_update()).one()
            in_flight = pool.submit(httpx.post, f"{served.base}/v1/payments", json=body, headers=headers, timeout=30)
            deadline = time.monotonic() + 20
            while _lock_waits(engine) == 0 and time.monotonic() < deadline:
                time.sleep(0.02)
            assert _lock_waits(engine) == 1  # the POST is inside its action
            served.process.kill()
            served.process.wait()
        with pytest.raises(httpx.HTTPError):
            in_flight.result()

    with billing_serve(pg_only_url, output) as served:
        stuck = httpx.post(f"{served.base}/v1/payments", json=body, headers=headers)
        assert stuck.status_code == 409 and "still in progress" in stuck.text
        with engine.begin() as conn:  # 61 seconds pass
            conn.execute(text("UPDATE idempotency_record SET created_at = created_at - interval '61 seconds'"))
        retried = httpx.post(f"{served.base}/v1/payments", json=body, headers=headers)
        again = httpx.post(f"{served.base}/v1/payments", json=body, headers=headers)

    assert retried.status_code == 201 and retried.json()["reference"] == "BCP-KILL-1"
    assert again.status_code == 201 and again.headers[REPLAYED_HEADER] == "true" and again.json() == retried.json()
    with reading(engine) as session:
        assert len(session.exec(select(Payment).where(Payment.reference == "BCP-KILL-1")).all()) == 1
    engine.dispose()
