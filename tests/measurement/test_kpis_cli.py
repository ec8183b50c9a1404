"""``billing outcomes``, ``billing workforce`` and ``billing kpis`` from the command line."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from billing.cli import app
from billing.measurement.contracts import load_contracts
from billing.storage.db import get_engine
from tests.conftest import GOLDEN
from tests.outcome_helpers import HEADER, csv_file

runner = CliRunner()


def billing(db_url: str, *args: str):
    return runner.invoke(app, ["--db", db_url, *args])


def test_import_prints_its_summary_and_kpis_match_the_golden_file(db_url: str):
    load_contracts(get_engine(db_url), [GOLDEN / "contract.yaml"])
    imported = billing(db_url, "outcomes", "import", str(GOLDEN / "interactions.csv"))
    assert imported.exit_code == 0, imported.output
    summary = json.loads(imported.stdout)
    assert (summary["imported"], summary["duplicates"], summary["rejected"], summary["errors"]) == (10, 1, 0, [])
    shown = billing(db_url, "kpis", "GOLD-1", "--period", "2026-10", "--json")
    assert shown.exit_code == 0, shown.output
    data = json.loads(shown.stdout)
    expected = json.loads((GOLDEN / "expected-kpis-2026-10.json").read_text())
    assert (data["contract"], data["period"]) == ("GOLD-1", "2026-10")
    assert {k: data["kpis"][k] for k in expected["kpis"]} == expected["kpis"]
    table = billing(db_url, "kpis", "GOLD-1", "--period", "2026-10")
    assert table.exit_code == 0 and "62.50" in table.stdout and "335.71" in table.stdout


def test_kpis_options_filter_and_change_the_formula(db_url: str):
    load_contracts(get_engine(db_url), [GOLDEN / "contract.yaml"])
    billing(db_url, "outcomes", "import", str(GOLDEN / "interactions.csv"))

    def kpis(*options: str) -> dict:
        result = billing(db_url, "kpis", "GOLD-1", "--period", "2026-10", "--json", *options)
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)["kpis"]

    assert kpis("--channel", "voice")["service_level"] == "60.00"
    assert kpis("--formula", "answered_only")["service_level"] == "71.43"
    # Within 5 s: i3 answered after 5 s, i6 abandoned after 3 s: 1 / (7 + 2 - 1).
    assert kpis("--threshold", "5")["service_level"] == "12.50"
    assert kpis("--handled-by", "ai")["offered"] == 2
    assert kpis("--channel", "chat", "--channel", "email")["offered"] == 3
    bad = billing(db_url, "kpis", "GOLD-1", "--period", "2026-10", "--formula", "fastest")
    assert bad.exit_code == 2 and "unknown formula" in bad.stderr
    unknown = billing(db_url, "kpis", "NOPE", "--period", "2026-10")
    assert unknown.exit_code == 1 and "NOPE" in unknown.stderr


def test_a_file_with_bad_rows_exits_non_zero_and_names_every_row(db_url: str, tmp_path):
    load_contracts(get_engine(db_url), [GOLDEN / "contract.yaml"])
    path = csv_file(
        tmp_path,
        """
        z1,GOLD-1,voice,c1,2026-10-05T10:00:00-04:00,10,false,300,human,true,false,5,,90
        z2,GOLD-1,voice,c1,yesterday,10,false,300,human,true,false,6,,90
        z3,GOLD-9,voice,c1,2026-10-05T10:00:00-04:00,10,false,300,human,true,false,,,
    """,
    )
    result = billing(db_url, "outcomes", "import", str(path))
    assert result.exit_code == 1
    summary = json.loads(result.stdout)
    assert (summary["imported"], summary["rejected"]) == (1, 2)
    assert f"{path}:3: started_at:" in result.stderr and f"{path}:3: csat:" in result.stderr
    assert f"{path}:4: contract: unknown contract 'GOLD-9'" in result.stderr
    listed = billing(db_url, "outcomes", "rejected", "--json")
    assert [(r["row"], len(r["errors"])) for r in json.loads(listed.stdout)["data"]] == [(3, 2), (4, 1)]
    fixed = tmp_path / "fixed.csv"
    exported = billing(db_url, "outcomes", "rejected", "--batch", str(summary["batch"]), "--export", str(fixed))
    assert exported.exit_code == 0 and fixed.read_text().splitlines()[0] == HEADER


def test_a_file_missing_required_columns_is_refused(db_url: str, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("interaction_id,contract\nx,GOLD-1\n")
    result = billing(db_url, "outcomes", "import", str(path))
    assert result.exit_code == 2 and "lacks required column(s) channel, started_at" in result.stderr


def test_workforce_and_client_kpi_imports(db_url: str, tmp_path):
    load_contracts(get_engine(db_url), [GOLDEN / "contract.yaml"])
    hours = tmp_path / "hours.csv"
    hours.write_text("contract,date,agent_id,productive_hours\nGOLD-1,2026-10-02,a1,7.5\nGOLD-1,2026-10-03,a1,-1\n")
    result = billing(db_url, "workforce", "import", str(hours))
    assert result.exit_code == 1 and json.loads(result.stdout)["imported"] == 1
    assert f"{hours}:3: productive_hours:" in result.stderr
    shown = json.loads(billing(db_url, "kpis", "GOLD-1", "--period", "2026-10", "--json").stdout)
    assert shown["kpis"]["productive_hours"] == "7.50"
    figures = tmp_path / "client.csv"
    figures.write_text("contract,period,metric,value\nGOLD-1,2026-10,service_level,64.1\n")
    result = billing(db_url, "kpis", "import-client", str(figures))
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["imported"] == 1


def test_rows_for_a_contract_loaded_later_are_retried_from_the_kept_copy(db_url: str, tmp_path):
    path = csv_file(
        tmp_path,
        """
        w1,GOLD-1,voice,c1,2026-10-05T10:00:00-04:00,10,false,300,human,true,false,5,,90
    """,
    )
    first = billing(db_url, "outcomes", "import", str(path))
    assert first.exit_code == 1 and "unknown contract 'GOLD-1'" in first.stderr
    batch = json.loads(first.stdout)["batch"]
    load_contracts(get_engine(db_url), [GOLDEN / "contract.yaml"])
    retried = billing(db_url, "outcomes", "retry", "--batch", str(batch))
    assert retried.exit_code == 0, retried.output
    assert json.loads(retried.stdout)["imported"] == 1
    listed = billing(db_url, "outcomes", "rejected", "--all", "--json")
    assert [r["status"] for r in json.loads(listed.stdout)["data"]] == ["resolved"]
    shown = json.loads(billing(db_url, "kpis", "GOLD-1", "--period", "2026-10", "--json").stdout)
    assert shown["kpis"]["offered"] == 1


def test_an_import_that_outwaits_another_writer_says_so_and_how_to_go_on(db_url: str, monkeypatch):
    """SQLite has one writer at a time; an import that waited past its timeout says what is
    kept and that running it again brings the rest (chunks commit as they go)."""
    from sqlalchemy.exc import OperationalError

    from billing.measurement import ingest

    def locked(engine, path, progress=None):
        raise OperationalError("BEGIN IMMEDIATE", {}, Exception("database is locked"))

    monkeypatch.setattr(ingest, "import_interactions", locked)
    result = billing(db_url, "outcomes", "import", str(GOLDEN / "interactions.csv"))
    assert result.exit_code == 1
    assert "busy with another writer" in result.output and "running the same command again" in result.output
