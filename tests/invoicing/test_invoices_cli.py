"""The invoice commands end to end on the golden month: close, list, show, issue, credit, void."""

from __future__ import annotations

import json
from typing import Any

from typer.testing import CliRunner

from billing.cli import app
from billing.measurement.contracts import load_contracts
from billing.storage.db import get_engine
from tests.conftest import GOLDEN
from tests.rating.test_rating_db import golden_rows, insert_interactions

runner = CliRunner()


def billing(db_url: str, *args: str) -> Any:
    return runner.invoke(app, ["--db", db_url, "--actor", "ana@finance", *args])


def json_of(db_url: str, *args: str) -> Any:
    result = billing(db_url, *args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_the_golden_month_from_close_to_credit_note(db_url: str) -> None:
    engine = get_engine(db_url)
    load_contracts(engine, [GOLDEN / "contract.yaml"])
    insert_interactions(engine, golden_rows())
    expected = json.loads((GOLDEN / "expected-rate-2026-10.json").read_text())

    closed = json_of(db_url, "close", "--period", "2026-10")
    assert (closed["created"], closed["invoices"][0]["total"]) == (1, "110.80")
    draft_id = closed["invoices"][0]["document_id"]

    shown = json_of(db_url, "invoices", "show", str(draft_id))
    assert [(line["charge"], line["type"], line["amount"]) for line in shown["lines"]] == [
        (line["charge"], line["type"], line["amount"]) for line in expected["lines"]
    ]
    assert (shown["status"], shown["subtotal"], shown["tax"], shown["total"]) == ("draft", "103.55", "7.25", "110.80")
    assert shown["service_levels"][0]["met"] is False and shown["service_levels"][0]["credit"] == "-5.45"
    assert shown["lines"][1]["details"]  # the tiers behind the usage amount

    issued = json_of(db_url, "invoices", "issue", "--period", "2026-10", "--all", "--date", "2026-11-03")
    assert [(d["number"], d["issue_date"], d["due_date"]) for d in issued["issued"]] == [
        ("G-00000001", "2026-11-03", "2026-12-03")
    ]
    assert json_of(db_url, "close", "--period", "2026-10")["skipped"] == 1

    note = json_of(db_url, "credit-notes", "create", "G-00000001", "--line", "resolutions:9.00", "--reason", "repeats")
    assert (note["kind"], note["status"], note["total"]) == ("credit_note", "draft", "9.63")
    credited = json_of(db_url, "credit-notes", "issue", str(note["id"]), "--date", "2026-11-10")
    assert credited["issued"][0]["number"] == "GC-00000001"

    listed = json_of(db_url, "invoices", "list", "--period", "2026-10")
    assert [(d["kind"], d["number"], d["status"]) for d in listed["data"]] == [
        ("invoice", "G-00000001", "issued"),
        ("credit_note", "GC-00000001", "issued"),
    ]
    readable = billing(db_url, "invoices", "show", "G-00000001")
    assert readable.exit_code == 0
    assert "G-00000001" in readable.stdout and "110.80" in readable.stdout and "GC-00000001" in readable.stdout


def test_refusals_are_clear_and_exit_non_zero(db_url: str) -> None:
    load_contracts(get_engine(db_url), [GOLDEN / "contract.yaml"])
    draft_id = str(json_of(db_url, "close", "--period", "2026-10")["invoices"][0]["document_id"])

    not_issued = billing(db_url, "credit-notes", "create", draft_id, "--amount", "5", "--reason", "early")
    assert not_issued.exit_code == 1 and "only an issued invoice can be corrected" in not_issued.stderr
    assert billing(db_url, "invoices", "issue", draft_id, "--date", "2026-11-03").exit_code == 0
    twice = billing(db_url, "invoices", "issue", draft_id)
    assert twice.exit_code == 1 and "already issued as G-00000001" in twice.stderr
    too_much = billing(db_url, "credit-notes", "create", "G-00000001", "--amount", "500", "--reason", "oops")
    assert too_much.exit_code == 1 and "would exceed invoice G-00000001" in too_much.stderr
    missing = billing(db_url, "invoices", "show", "F999-00000001")
    assert missing.exit_code == 1 and "no document 'F999-00000001'" in missing.stderr
    usage = billing(db_url, "invoices", "issue")
    assert usage.exit_code == 2 and "--period YYYY-MM --all" in usage.stderr
    both = billing(db_url, "credit-notes", "create", "G-00000001", "--reason", "x")
    assert both.exit_code == 2 and "--amount X or one or more --line" in both.stderr
    bad_line = billing(db_url, "credit-notes", "create", "G-00000001", "--line", "platform", "--reason", "x")
    assert bad_line.exit_code == 1 and "charge:amount" in bad_line.stderr
    no_reason = billing(db_url, "invoices", "void", "G-00000001", "--reason", " ")
    assert no_reason.exit_code == 1 and "reason is required" in no_reason.stderr

    voided = json_of(db_url, "invoices", "void", "G-00000001", "--reason", "wrong tax id")
    assert (voided["status"], voided["number"]) == ("void", "G-00000001")
    again = billing(db_url, "invoices", "void", "G-00000001", "--reason", "again")
    assert again.exit_code == 1 and "already void" in again.stderr
