"""Numbers and drafts under concurrency, on PostgreSQL with several connections.

Where a race must really happen, a test holds a row lock on its own connection, starts
the competitors, waits until PostgreSQL shows them queued on that lock, then lets go; so
the interleaving is forced, not hoped for. Nothing asserts on time.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, text
from sqlmodel import Session, select

from billing.invoicing.documents import DocumentConflict
from billing.invoicing.invoices import close_period, issue, issue_many, store_draft, store_drafts
from billing.invoicing.notes import create_credit_note
from billing.invoicing.numbering import take_number
from billing.storage.db import make_engine, reading, transaction
from billing.storage.models import Document
from tests.invoicing.invoice_helpers import EARLY_START, OCTOBER, draft, in_force, load_contract, rated

pytestmark = pytest.mark.postgres
ISSUE_DAY = date(2026, 11, 3)
NOW = datetime(2026, 11, 9, tzinfo=UTC)  # October is closable from 11-08 (7-day grace)


@pytest.fixture
def pg(pg_only_url: str) -> Iterator[Engine]:
    engine = make_engine(pg_only_url, pool_size=10)
    yield engine
    engine.dispose()


def wait_until_waiting_on_locks(engine: Engine, count: int) -> None:
    """Block until ``count`` other backends of this database wait on a lock (a deadlock
    guard stops the test if that never happens)."""
    query = text(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    for _ in range(600):
        with engine.connect() as conn:
            if conn.execute(query).scalar_one() >= count:
                return
        time.sleep(0.05)
    raise AssertionError(f"expected {count} transactions waiting on a lock")


def holding_lock(engine: Engine, sql: str, **params: Any) -> Connection:
    conn = engine.connect()
    conn.begin()
    conn.execute(text(sql), params)
    return conn


def run_all(*calls: Callable[[], Any]) -> list[Any]:
    """Run calls in threads; return each result or the exception it raised."""

    def capture(call: Callable[[], Any]) -> Any:
        try:
            return call()
        except Exception as exc:  # collected and asserted on by the test
            return exc

    with ThreadPoolExecutor(len(calls)) as pool:
        futures = [pool.submit(capture, call) for call in calls]
        return [future.result() for future in futures]


def test_two_issuers_in_one_series_get_distinct_gapless_numbers(pg: Engine, tmp_path: Path) -> None:
    load_contract(pg, tmp_path, "ACME-1", start=EARLY_START)
    load_contract(pg, tmp_path, "ACME-2", start=EARLY_START)
    months = [OCTOBER.shift(-n) for n in range(20)]
    batches = [[draft(pg, code, 10, month) for month in months] for code in ("ACME-1", "ACME-2")]
    start = threading.Barrier(2)

    def issue_all(ids: list[int]) -> list[str]:
        start.wait()
        return [issue(pg, document_id, "finance", ISSUE_DAY).number_text or "" for document_id in ids]

    first, second = run_all(lambda: issue_all(batches[0]), lambda: issue_all(batches[1]))

    assert not set(first) & set(second)
    assert sorted(first + second) == [f"F001-{n:08d}" for n in range(1, 41)]
    assert first == sorted(first) and second == sorted(second)  # each issuer sees the series grow


def test_two_concurrent_issues_of_one_draft_give_one_number_and_one_conflict(pg: Engine, tmp_path: Path) -> None:
    load_contract(pg, tmp_path)
    document_id = draft(pg, "ACME-1", 10)
    blocker = holding_lock(pg, "SELECT id FROM document WHERE id = :id FOR UPDATE", id=document_id)
    with ThreadPoolExecutor(2) as pool:
        futures = [pool.submit(issue, pg, document_id, actor, ISSUE_DAY) for actor in ("alice", "bob")]
        wait_until_waiting_on_locks(pg, 2)
        blocker.commit()
        blocker.close()
        outcomes: list[str] = []
        for future in futures:
            try:
                outcomes.append(future.result().number_text or "")
            except DocumentConflict as conflict:
                outcomes.append(str(conflict))

    assert sorted(outcomes) == [
        "F001-00000001",
        f"document {document_id} is already issued as F001-00000001: only a draft can be issued",
    ]
    with pg.connect() as conn:
        assert conn.execute(text("SELECT last_number FROM series_counter")).scalar_one() == 1


def test_a_rolled_back_number_is_given_to_the_next_issuer(pg: Engine, tmp_path: Path) -> None:
    load_contract(pg, tmp_path)
    waiting = draft(pg, "ACME-1", 10)
    taken = threading.Event()
    give_up = threading.Event()

    def take_then_fail() -> None:
        with transaction(pg) as session:
            number = take_number(session, "F001")
            assert number == (1, "F001-00000001")
            taken.set()
            give_up.wait()
            raise RuntimeError("the issuing transaction failed after taking its number")

    with ThreadPoolExecutor(2) as pool:
        failing = pool.submit(take_then_fail)
        taken.wait()
        issuing = pool.submit(issue, pg, waiting, "finance", ISSUE_DAY)
        wait_until_waiting_on_locks(pg, 1)  # the issuer queues behind the uncommitted number
        give_up.set()
        with pytest.raises(RuntimeError, match="after taking its number"):
            failing.result()
        issued = issuing.result()

    assert issued.number_text == "F001-00000001"


def test_two_close_runs_at_once_leave_one_draft_per_contract(pg: Engine, tmp_path: Path) -> None:
    codes = [f"ACME-{n}" for n in range(1, 7)]
    for code in codes:
        load_contract(pg, tmp_path, code)
    start = threading.Barrier(2)

    def close() -> Any:
        start.wait()
        return close_period(pg, OCTOBER, "finance", NOW)

    results = run_all(close, close)

    assert all(not isinstance(result, Exception) for result in results), results
    actions = [(o.contract, o.action) for result in results for o in result.outcomes]
    for code in codes:
        assert sorted(action for contract, action in actions if contract == code) in (
            ["created", "unchanged"],
            ["created", "refreshed"],
        )
    with reading(pg) as session:
        documents = session.exec(select(Document)).all()
    assert sorted(document.contract_id for document in documents) == list(range(1, 7))


def test_a_close_waiting_on_an_uncommitted_draft_refreshes_it_instead_of_duplicating(
    pg: Engine, tmp_path: Path
) -> None:
    load_contract(pg, tmp_path)
    item = in_force(pg, "ACME-1")
    first = pg.connect()
    first.begin()
    # The first close run has inserted its draft and not committed yet.
    first_session = Session(bind=first)
    store_draft(first_session, item, rated("ACME-1", 10), "first", NOW, None)
    first_session.flush()
    with ThreadPoolExecutor(1) as pool:
        second = pool.submit(store_drafts, pg, OCTOBER, [(item, rated("ACME-1", 20))], "second", NOW)
        wait_until_waiting_on_locks(pg, 1)
        first.commit()
        first.close()
        outcome = second.result().outcomes[0]

    assert outcome.action == "refreshed"
    with reading(pg) as session:
        documents = session.exec(select(Document)).all()
    assert len(documents) == 1 and documents[0].id == outcome.document_id
    assert documents[0].total == Decimal("1239.00")  # 1000 + 20 x 2.50, IGV 18%


def test_issuers_in_different_series_do_not_wait_for_each_other(pg: Engine, tmp_path: Path) -> None:
    load_contract(pg, tmp_path, "ACME-1")
    load_contract(pg, tmp_path, "OTHER-1", series="B002", credit_series="BC02", debit_series="BD02")
    acme, other = draft(pg, "ACME-1", 10), draft(pg, "OTHER-1", 10)
    with transaction(pg) as session:
        holder = take_number(session, "F001")  # F001 is held by this open transaction
        issued = issue(pg, other, "finance", ISSUE_DAY)  # B002 is free
        assert holder == (1, "F001-00000001") and issued.number_text == "B002-00000001"
    # The holder committed without giving its number to a document: the number was never
    # taken (the counter only advances to a number an issued document holds), so no gap.
    assert issue(pg, acme, "finance", ISSUE_DAY).number_text == "F001-00000001"


def test_two_processes_issuing_in_one_series_get_distinct_gapless_numbers(pg_only_url: str, tmp_path: Path) -> None:
    engine = make_engine(pg_only_url)
    load_contract(engine, tmp_path, "ACME-1", start=EARLY_START)
    load_contract(engine, tmp_path, "ACME-2", start=EARLY_START)
    months = [OCTOBER.shift(-n) for n in range(15)]
    batches = [[str(draft(engine, code, 10, month)) for month in months] for code in ("ACME-1", "ACME-2")]
    engine.dispose()
    command = [sys.executable, "-c", "from billing.cli import main; main()", "--db", pg_only_url, "invoices", "issue"]

    processes = [
        subprocess.Popen([*command, *ids, "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for ids in batches
    ]
    outputs = [process.communicate() for process in processes]

    assert [process.returncode for process in processes] == [0, 0], outputs
    numbers = [[item["number"] for item in json.loads(out)["issued"]] for out, _ in outputs]
    assert sorted(numbers[0] + numbers[1]) == [f"F001-{n:08d}" for n in range(1, 31)]


def test_two_concurrent_credits_cannot_together_exceed_the_invoice(pg: Engine, tmp_path: Path) -> None:
    load_contract(pg, tmp_path)
    invoice_id = draft(pg, "ACME-1", 120)  # total 1534.00
    issue(pg, invoice_id, "finance", ISSUE_DAY)
    blocker = holding_lock(pg, "SELECT id FROM document WHERE id = :id FOR UPDATE", id=invoice_id)
    with ThreadPoolExecutor(2) as pool:
        futures = [
            pool.submit(create_credit_note, pg, invoice_id, actor, "goodwill", Decimal(1000))  # 1180.00 each
            for actor in ("alice", "bob")
        ]
        wait_until_waiting_on_locks(pg, 2)
        blocker.commit()
        blocker.close()
        outcomes: list[Decimal | str] = []
        for future in futures:
            try:
                outcomes.append(future.result().total)
            except DocumentConflict as conflict:
                outcomes.append(str(conflict))

    assert Decimal("1180.00") in outcomes
    assert any(isinstance(o, str) and "would exceed invoice F001-00000001" in o for o in outcomes), outcomes


def test_two_overlapping_batches_issue_each_draft_once_without_deadlock(pg: Engine, tmp_path: Path) -> None:
    load_contract(pg, tmp_path, "ACME-1", start=EARLY_START)
    load_contract(pg, tmp_path, "OTHER-1", series="B002", credit_series="BC02", debit_series="BD02", start=EARLY_START)
    ids = [draft(pg, code, 10, OCTOBER.shift(-n)) for n in range(8) for code in ("ACME-1", "OTHER-1")]
    start = threading.Barrier(2)

    def batch(order: list[int]) -> Any:
        start.wait()
        return issue_many(pg, order, "finance", ISSUE_DAY, chunk=3)

    first, second = run_all(lambda: batch(ids), lambda: batch(ids[::-1]))

    issued = [d.number_text for d in first.issued + second.issued]
    assert sorted(issued) == [f"B002-{n:08d}" for n in range(1, 9)] + [f"F001-{n:08d}" for n in range(1, 9)]
    assert len(first.refused) + len(second.refused) == len(ids)
    assert all("already issued" in error for _, error in first.refused + second.refused)
