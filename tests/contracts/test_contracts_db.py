"""Storing contracts: all-or-nothing, idempotent, amendments as effective-dated versions."""

from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlmodel import Session, select
from typer.testing import CliRunner

from billing.cli import app
from billing.contracts.store import active_contracts, terms_in_force
from billing.core.periods import Period
from billing.core.problems import ProblemsError
from billing.measurement.contracts import load_contracts
from billing.storage.models import AuditEvent, Client, Contract, ContractVersion
from tests.conftest import CONTRACTS, GOLDEN, load_example_entities

BASE = CONTRACTS / "banco-andino.yaml"
AMENDMENT = CONTRACTS / "banco-andino-2026-11.yaml"


@pytest.fixture(autouse=True)
def _entities(request: pytest.FixtureRequest) -> None:
    """The example contracts name their issuers: load those first."""
    if "db" in request.fixturenames:
        load_example_entities(request.getfixturevalue("db"))


def count(engine, model) -> int:
    with Session(engine) as s:
        return s.exec(select(func.count()).select_from(model)).one()


def test_examples_load_and_versions_govern_their_periods(db):
    outcomes = load_contracts(db, sorted(CONTRACTS.glob("*.yaml")))
    assert sorted((o.code, o.action) for o in outcomes) == [
        ("BANDINO-2026", "amended"),
        ("BANDINO-2026", "created"),
        ("NWH-2026", "created"),
        ("TIBERICA-2026", "created"),
    ]
    with Session(db) as s:
        october = terms_in_force(s, "BANDINO-2026", Period(2026, 10)).terms
        november = terms_in_force(s, "BANDINO-2026", Period(2026, 11)).terms
        assert october.charge("ai-resolutions").pricing.tiers[0].unit_price == Decimal("2.50")
        assert november.charge("ai-resolutions").pricing.tiers[0].unit_price == Decimal("2.30")
        assert [lv.id for lv in november.service_levels.levels][-1] == "quality"
        # NWH starts 2026-07-15: active in July, not in June.
        assert "NWH-2026" in {c.terms.code for c in active_contracts(s, Period(2026, 7))}
        assert "NWH-2026" not in {c.terms.code for c in active_contracts(s, Period(2026, 6))}


def test_loading_the_same_files_twice_is_a_no_op(db):
    load_contracts(db, [BASE, AMENDMENT])
    again = load_contracts(db, [AMENDMENT, BASE])
    assert [o.action for o in again] == ["unchanged", "unchanged"]
    assert count(db, ContractVersion) == 2 and count(db, Contract) == 1 and count(db, Client) == 1


def test_an_invalid_file_stores_nothing_not_even_the_valid_ones(db, tmp_path: Path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(GOLDEN.joinpath("contract.yaml").read_text().replace("currency: USD", "currency: ZZZ"))
    events = count(db, AuditEvent)  # the entities' loads
    with pytest.raises(ProblemsError) as caught:
        load_contracts(db, [BASE, bad])
    assert [p.code for p in caught.value.problems] == ["unknown_currency"]
    assert count(db, Contract) == 0 and count(db, ContractVersion) == 0 and count(db, AuditEvent) == events


def test_a_code_loaded_again_with_other_terms_is_refused(db, tmp_path: Path):
    load_contracts(db, [GOLDEN / "contract.yaml"])
    changed = tmp_path / "gold.yaml"
    changed.write_text(GOLDEN.joinpath("contract.yaml").read_text().replace('"100.00"', '"120.00"'))
    with pytest.raises(ProblemsError) as caught:
        load_contracts(db, [changed])
    assert [p.code for p in caught.value.problems] == ["contract_redefined"]
    assert count(db, ContractVersion) == 1


def test_overlapping_amendment_and_amendment_without_base(db, tmp_path: Path):
    with pytest.raises(ProblemsError) as caught:
        load_contracts(db, [AMENDMENT])
    assert [p.code for p in caught.value.problems] == ["amendment_without_base"]
    load_contracts(db, [BASE, AMENDMENT])
    other = tmp_path / "other-amendment.yaml"
    other.write_text(AMENDMENT.read_text().replace('unit_price: "2.30"', 'unit_price: "2.20"'))
    with pytest.raises(ProblemsError) as caught:
        load_contracts(db, [other])
    assert [p.code for p in caught.value.problems] == ["amendment_overlap"]


def test_an_amendment_cannot_change_the_currency(db, tmp_path: Path):
    load_contracts(db, [BASE])
    other = tmp_path / "usd.yaml"
    other.write_text(AMENDMENT.read_text().replace("currency: PEN", "currency: USD"))
    with pytest.raises(ProblemsError) as caught:
        load_contracts(db, [other])
    assert [(p.code, p.field) for p in caught.value.problems] == [("amendment_changes_identity", "currency")]


def test_cli_load_reports_each_problem_and_exits_non_zero(db_url, tmp_path: Path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        GOLDEN.joinpath("contract.yaml")
        .read_text()
        .replace("America/New_York", "Nowhere/City")
        .replace('rate: "7"', 'rate: "seven"')
    )
    result = CliRunner().invoke(app, ["--db", db_url, "contracts", "load", str(bad)])
    assert result.exit_code == 1
    assert "bad.yaml:5: timezone: unknown time zone 'Nowhere/City'" in result.output
    assert "bad.yaml:7: tax.rate: must be a number" in result.output
    ok = CliRunner().invoke(app, ["--db", db_url, "contracts", "load", str(GOLDEN / "contract.yaml")])
    assert ok.exit_code == 0, ok.output
    shown = CliRunner().invoke(app, ["--db", db_url, "contracts", "show", "GOLD-1", "--at", "2026-10", "--json"])
    assert '"currency": "USD"' in shown.output and '"minor_units": 2' in shown.output
