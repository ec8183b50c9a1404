"""One bad contract never stops the month: whatever makes a contract impossible to draft (terms
that no longer validate, a measurement or a rating that fails, an amount no document may hold,
a draft that cannot be written), that contract is skipped with a reason code and a message,
and every other contract gets its draft."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlmodel import select
from typer.testing import CliRunner

import billing.rating.service as rating_service
from billing.cli import app
from billing.invoicing import closing
from billing.invoicing.invoices import close_period
from billing.storage.db import reading
from billing.storage.models import Document
from tests.invoicing.invoice_helpers import OCTOBER, load_contract

NOW = datetime(2026, 11, 9, 9, 0, tzinfo=UTC)  # October is closable from 11-08 (7-day grace)
CODES = ("ACME-1", "ACME-2", "ACME-3")


@pytest.fixture
def three(db: Engine, tmp_path: Path) -> Engine:
    for code in CODES:
        load_contract(db, tmp_path, code)
    return db


def drafted(engine: Engine) -> dict[int, Decimal]:
    with reading(engine) as session:
        return {d.contract_id: d.total for d in session.exec(select(Document)).all()}


def rewrite_terms(engine: Engine, code: str, old: str, new: str) -> None:
    """Change a stored contract version's text by direct SQL."""
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE contract_version SET source_text = REPLACE(source_text, :old, :new)"
                " WHERE contract_id = (SELECT id FROM contract WHERE code = :code)"
            ),
            {"old": old, "new": new, "code": code},
        )


def outcomes(result: Any) -> list[tuple[str, str, str | None]]:
    return [(o.contract, o.action, o.reason) for o in result.outcomes]


def test_terms_that_no_longer_validate_skip_their_contract_only(three: Engine) -> None:
    rewrite_terms(three, "ACME-2", "currency: PEN", "currency: [PEN")

    result = close_period(three, OCTOBER, "finance", NOW)

    assert outcomes(result) == [
        ("ACME-1", "created", None),
        ("ACME-2", "skipped", "terms_invalid"),
        ("ACME-3", "created", None),
    ]
    assert "ACME-2" in result.failures[0].message and "no longer validates" in result.failures[0].message
    assert result.partial and drafted(three) == {1: Decimal("1180.00"), 3: Decimal("1180.00")}
    body = result.as_json()
    assert (body["created"], body["skipped"], body["partial"]) == (2, 1, True)
    assert [(s["contract"], s["reason"]) for s in body["skipped_contracts"]] == [("ACME-2", "terms_invalid")]


@pytest.mark.parametrize("amount", ["99999999999999999999999.99", "1e400"])
def test_an_amount_beyond_any_document_skips_its_contract_only(three: Engine, amount: str) -> None:
    """The contract language is to refuse such amounts at load time; stored before that (or
    written by direct SQL), the close still isolates them."""
    rewrite_terms(three, "ACME-3", 'amount: "1000.00"', f'amount: "{amount}"')

    result = close_period(three, OCTOBER, "finance", NOW)

    (failure,) = result.failures
    assert failure.contract == "ACME-3" and failure.reason in ("terms_invalid", "not_rated", "out_of_range")
    assert drafted(three) == {1: Decimal("1180.00"), 2: Decimal("1180.00")}


def test_a_rating_that_fails_skips_its_contract_only(three: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    real_rate = rating_service.rate

    def rate(period: Any, history: Any) -> Any:
        invoice = real_rate(period, history)
        if invoice.contract == "ACME-1":
            raise ArithmeticError("no context holds this figure")
        return invoice

    monkeypatch.setattr(rating_service, "rate", rate)
    result = close_period(three, OCTOBER, "finance", NOW)

    assert outcomes(result)[0] == ("ACME-1", "skipped", "not_rated")
    assert result.failures[0].message == "ArithmeticError: no context holds this figure"
    assert drafted(three) == {2: Decimal("1180.00"), 3: Decimal("1180.00")}


def test_a_measurement_that_fails_skips_its_contract_only(three: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """A failed statement inside the read (here raised for ACME-2's requests) is isolated by
    splitting the batch, each part in a savepoint, so the others are still measured."""
    real_measure = rating_service.measure
    calls: list[list[str]] = []

    def measure(session: Any, requests: Any, **kwargs: Any) -> Any:
        codes = sorted({r.contract for r in requests})
        calls.append(codes)
        if "ACME-2" in codes:
            session.execute(text("SELECT no_such_column FROM document"))  # fails in the database
        return real_measure(session, requests, **kwargs)

    monkeypatch.setattr(rating_service, "measure", measure)
    result = close_period(three, OCTOBER, "finance", NOW)

    assert outcomes(result) == [
        ("ACME-1", "created", None),
        ("ACME-2", "skipped", "not_measured"),
        ("ACME-3", "created", None),
    ]
    assert calls[0] == list(CODES) and len(calls) <= 5  # one batch, then halves, not one call each


def test_an_invoice_no_document_may_hold_skips_its_contract_only(
    three: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_rate = rating_service.rate

    def rate(period: Any, history: Any) -> Any:
        invoice = real_rate(period, history)
        if invoice.contract == "ACME-2":
            return replace(invoice, total=Decimal("1000000000000000"))
        return invoice

    monkeypatch.setattr(rating_service, "rate", rate)
    result = close_period(three, OCTOBER, "finance", NOW)

    assert outcomes(result)[1] == ("ACME-2", "skipped", "out_of_range")
    assert "total must be at most 100,000,000,000,000" in result.failures[0].message
    assert drafted(three) == {1: Decimal("1180.00"), 3: Decimal("1180.00")}


def test_a_draft_that_cannot_be_written_skips_its_contract_only(three: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    real_store = closing.store_chunk

    def store_chunk(session: Any, rated: Any, *args: Any) -> Any:
        if any(item.terms.code == "ACME-3" for item, _ in rated):
            session.execute(text("INSERT INTO document_line (id) VALUES (NULL)"))  # a NOT NULL violation
        return real_store(session, rated, *args)

    monkeypatch.setattr(closing, "store_chunk", store_chunk)
    result = close_period(three, OCTOBER, "finance", NOW)

    assert outcomes(result)[2] == ("ACME-3", "skipped", "not_stored")
    assert drafted(three) == {1: Decimal("1180.00"), 2: Decimal("1180.00")}


def test_the_cli_lists_the_skipped_and_exits_3(db_url: str, three: Engine) -> None:
    rewrite_terms(three, "ACME-2", "currency: PEN", "currency: [PEN")
    runner = CliRunner()

    as_json = runner.invoke(app, ["--db", db_url, "close", "--period", "2026-10", "--json"])
    shown = runner.invoke(app, ["--db", db_url, "close", "--period", "2026-10"])

    assert (as_json.exit_code, shown.exit_code) == (3, 3)
    body = json.loads(as_json.stdout)
    assert body["partial"] is True and [s["contract"] for s in body["skipped_contracts"]] == ["ACME-2"]
    assert as_json.stderr.count("\n") == 1 and as_json.stderr.startswith("error: ACME-2 skipped (terms_invalid): ")
    assert "2 unchanged, 0 skipped (already issued), 0 not closable yet, 1 could not be drafted" in shown.stdout
    assert "Traceback" not in shown.output
