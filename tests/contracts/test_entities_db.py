"""Billing entities stored and resolved as a contract's issuer; contracts checked without
storing; versions replaced before their first use, immutable after it (in the database too)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select
from typer.testing import CliRunner

from billing.cli import app
from billing.contracts.entities import IssuerUnknown, load_entities, resolve_issuer
from billing.contracts.store import terms_in_force
from billing.core.periods import Period
from billing.core.problems import ProblemsError
from billing.invoicing.invoices import issue
from billing.measurement.contracts import check_contracts, load_contracts
from billing.storage.models import AuditEvent, BillingEntity, ContractVersion
from tests.conftest import CONTRACTS, ENTITIES, load_example_entities
from tests.invoicing.invoice_helpers import OCTOBER, draft, load_contract

runner = CliRunner()


def _terms(db: Engine, code: str):
    with Session(db) as session:
        return terms_in_force(session, code, OCTOBER).terms


def test_entities_load_once_update_when_changed_and_are_audited(db: Engine, tmp_path: Path):
    files = sorted(ENTITIES.glob("*.yaml"))
    first = load_entities(db, files, actor="finance")
    assert sorted((o.code, o.action) for o in first) == [(c, "created") for c in ("ANDES-ES", "ANDES-PE", "ANDES-US")]
    assert {o.action for o in load_entities(db, files)} == {"unchanged"}
    moved = tmp_path / "andes-peru.yaml"
    moved.write_text((ENTITIES / "andes-peru.yaml").read_text().replace("piso 7", "piso 9"))
    (tmp_path / "andes-contact-logo.png").write_bytes((ENTITIES / "andes-contact-logo.png").read_bytes())
    assert [o.action for o in load_entities(db, [moved])] == ["updated"]
    with Session(db) as session:
        row = session.get(BillingEntity, "ANDES-PE")
        assert row is not None and row.address["lines"] == ["Av. José Larco 1301, piso 9"]
        assert row.logo is not None and row.logo_type == "image/png"
        actions = session.exec(select(AuditEvent.action).where(AuditEvent.entity_id == "ANDES-PE")).all()
        assert actions == ["entity.created", "entity.updated"]


def test_a_contract_must_name_a_loaded_issuer(db: Engine):
    with pytest.raises(ProblemsError) as refused:
        load_contracts(db, [CONTRACTS / "northwind-health.yaml"])
    assert [p.code for p in refused.value.problems] == ["unknown_issuer"]
    assert "ANDES-US" in str(refused.value.problems[0])
    load_example_entities(db)
    assert [o.action for o in load_contracts(db, [CONTRACTS / "northwind-health.yaml"])] == ["created"]


def test_the_issuer_is_the_named_entity_or_the_only_one(db: Engine, tmp_path: Path):
    load_contract(db, tmp_path)  # names no issuer
    terms = _terms(db, "ACME-1")
    with Session(db) as session:
        assert resolve_issuer(session, terms) is None  # no entity at all: issued without an issuer block
    load_entities(db, [ENTITIES / "andes-peru.yaml"])
    with Session(db) as session:
        row = resolve_issuer(session, terms)
        assert row is not None and row.code == "ANDES-PE"
    load_entities(db, [ENTITIES / "andes-spain.yaml"])
    with Session(db) as session, pytest.raises(IssuerUnknown, match="names no issuer and 2 entities"):
        resolve_issuer(session, terms)


def test_check_reports_what_load_would_and_stores_nothing(db: Engine, db_url: str, tmp_path: Path):
    load_example_entities(db)
    base = CONTRACTS / "banco-andino.yaml"
    outcomes = check_contracts(db, [base])
    assert [(o.code, o.action) for o in outcomes] == [("BANDINO-2026", "created")]
    assert check_contracts(None, [base])[0].action == "valid"
    with Session(db) as session:
        assert session.exec(select(ContractVersion)).all() == []
    bad = tmp_path / "bad.yaml"
    bad.write_text(base.read_text().replace('"20100047218"', '"20100047219"'))
    checked = runner.invoke(app, ["--db", db_url, "contracts", "check", str(bad)])
    loaded = runner.invoke(app, ["--db", db_url, "contracts", "load", str(bad)])
    assert checked.exit_code == loaded.exit_code == 1
    assert checked.stderr == loaded.stderr
    assert "bad.yaml:10: client.tax_id: '20100047219' is not a valid RUC" in checked.stderr
    ok = runner.invoke(app, ["--db", db_url, "contracts", "check", str(base)])
    assert ok.exit_code == 0 and "would be created" in ok.stdout and "nothing was stored" in ok.stdout
    assert runner.invoke(app, ["--db", db_url, "contracts", "list", "--json"]).stdout.count('"contract"') == 0


def test_check_without_a_database_validates_the_files_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("BILLING_DATABASE_URL", raising=False)
    result = runner.invoke(app, ["contracts", "check", str(CONTRACTS / "banco-andino.yaml")])
    assert result.exit_code == 0, result.output
    assert "valid" in result.stdout and "checked alone (no database)" in result.stdout
    assert not (tmp_path / "billing.db").exists()


def test_a_version_is_replaced_before_its_first_use_and_immutable_after(db: Engine, tmp_path: Path):
    load_contract(db, tmp_path)
    path = tmp_path / "ACME-1.yaml"
    original = path.read_text()
    first_draft = draft(db, "ACME-1", 100)
    path.write_text(original.replace('amount: "1000.00"', 'amount: "1200.00"'))
    with pytest.raises(ProblemsError) as redefined:
        load_contracts(db, [path])
    assert [p.code for p in redefined.value.problems] == ["contract_redefined"]
    (replaced,) = load_contracts(db, [path], actor="finance", replace=True)
    assert (replaced.action, replaced.drafts) == ("replaced", 1)
    assert _terms(db, "ACME-1").charge("platform").amount == 1200  # type: ignore[union-attr]
    with Session(db) as session:
        event = session.exec(select(AuditEvent).where(AuditEvent.action == "contract.replaced")).one()
        assert event.actor == "finance" and event.data["drafts_to_refresh"] == 1
    issue(db, first_draft, "test", date(2026, 11, 3))
    path.write_text(original.replace('amount: "1000.00"', 'amount: "1300.00"'))
    with pytest.raises(ProblemsError) as in_use:
        load_contracts(db, [path], replace=True)
    assert [p.code for p in in_use.value.problems] == ["version_in_use"]
    assert "F001-00000001 (issued)" in str(in_use.value.problems[0])
    with db.begin() as conn, pytest.raises(IntegrityError, match="numbered document uses is immutable"):
        conn.execute(text("UPDATE contract_version SET source_text = 'x'"))


def test_a_replacement_keeps_the_identity_and_frames_the_amendments(db: Engine, tmp_path: Path):
    load_example_entities(db)
    base, amendment = CONTRACTS / "banco-andino.yaml", CONTRACTS / "banco-andino-2026-11.yaml"
    load_contracts(db, [base, amendment])
    changed = tmp_path / "base.yaml"
    changed.write_text(base.read_text().replace("currency: PEN", "currency: USD"))
    with pytest.raises(ProblemsError) as identity:
        load_contracts(db, [changed], replace=True)
    assert [p.code for p in identity.value.problems] == ["replace_changes_identity"]
    changed.write_text(base.read_text().replace("start: 2026-01-01", "start: 2026-11-01"))
    with pytest.raises(ProblemsError) as late:
        load_contracts(db, [changed], replace=True)
    assert [p.code for p in late.value.problems] == ["amendment_before_start"]
    fixed = tmp_path / "amendment.yaml"
    fixed.write_text(amendment.read_text().replace('unit_price: "2.30"', 'unit_price: "2.25"'))
    assert [o.action for o in load_contracts(db, [fixed], replace=True)] == ["replaced"]
    with Session(db) as session:
        november = terms_in_force(session, "BANDINO-2026", Period(2026, 11)).terms
    assert str(november.charge("ai-resolutions").pricing.tiers[0].unit_price) == "2.25"  # type: ignore[union-attr]


def test_the_entity_commands(db_url: str, tmp_path: Path):
    files = [str(p) for p in sorted(ENTITIES.glob("*.yaml"))]
    loaded = runner.invoke(app, ["--db", db_url, "entities", "load", *files])
    assert loaded.exit_code == 0, loaded.output
    assert loaded.stdout.count(": created") == 3
    listed = runner.invoke(app, ["--db", db_url, "entities", "list", "--json"])
    assert [e["code"] for e in json.loads(listed.stdout)["data"]] == ["ANDES-ES", "ANDES-PE", "ANDES-US"]
    shown = runner.invoke(app, ["--db", db_url, "entities", "show", "ANDES-US"])
    data = json.loads(shown.stdout)
    assert (data["tax_id"], data["logo"]["type"], data["bank_accounts"][0]["routing"]) == (
        "471234567",
        "image/png",
        "021000021",
    )
    missing = runner.invoke(app, ["--db", db_url, "entities", "show", "NOPE"])
    assert missing.exit_code == 1 and "no billing entity 'NOPE'" in missing.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text((ENTITIES / "andes-usa.yaml").read_text().replace('"021000021"', '"021000022"'))
    refused = runner.invoke(app, ["--db", db_url, "entities", "load", str(bad)])
    assert (
        refused.exit_code == 1
        and "bank_accounts[0].routing" in refused.stderr
        and "nothing was stored" in (refused.stderr)
    )


def test_replace_says_which_drafts_to_refresh(db: Engine, db_url: str, tmp_path: Path):
    load_contract(db, tmp_path)
    draft(db, "ACME-1", 100)
    path = tmp_path / "ACME-1.yaml"
    path.write_text(path.read_text().replace('amount: "1000.00"', 'amount: "1100.00"'))
    replaced = runner.invoke(app, ["--db", db_url, "contracts", "load", "--replace", str(path)])
    assert replaced.exit_code == 0, replaced.output
    assert "ACME-1 effective 2026-01-01: replaced (1 draft(s) to refresh with `billing close`)" in replaced.stdout
