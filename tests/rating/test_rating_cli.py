"""``billing rate``: the rate JSON, a readable table, and clear errors."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from billing.cli import app
from billing.measurement.contracts import load_contracts
from billing.storage.db import get_engine
from tests.conftest import GOLDEN
from tests.rating.test_rating_db import golden_rows, insert_interactions

runner = CliRunner()


def test_rate_prints_the_preview_as_json_and_as_a_table(db_url: str):
    engine = get_engine(db_url)
    load_contracts(engine, [GOLDEN / "contract.yaml"])
    insert_interactions(engine, golden_rows())
    result = runner.invoke(app, ["--db", db_url, "rate", "GOLD-1", "--period", "2026-10", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["contract"], data["period"], data["currency"], data["total"]) == ("GOLD-1", "2026-10", "USD", "110.80")
    assert [line["type"] for line in data["lines"]] == ["fixed", "usage", "service_credit"]
    table = runner.invoke(app, ["--db", db_url, "rate", "GOLD-1", "--period", "2026-10"])
    assert table.exit_code == 0
    assert "110.80" in table.stdout and "missed" in table.stdout


def test_rate_errors_are_clear_and_exit_non_zero(db_url: str):
    load_contracts(get_engine(db_url), [GOLDEN / "contract.yaml"])
    unknown = runner.invoke(app, ["--db", db_url, "rate", "NOPE", "--period", "2026-10", "--json"])
    assert unknown.exit_code == 1 and "no contract" in unknown.stderr and "NOPE" in unknown.stderr
    outside = runner.invoke(app, ["--db", db_url, "rate", "GOLD-1", "--period", "2026-09"])
    assert outside.exit_code == 1 and "does not cover 2026-09" in outside.stderr
    bad = runner.invoke(app, ["--db", db_url, "rate", "GOLD-1", "--period", "October"])
    assert bad.exit_code == 2 and "YYYY-MM" in bad.stderr
