"""Pricing simulation: the same measured months priced under other terms. Pure worked months
first, then from the database (both engines): the current scenario equals ``rate_contract``,
alternatives come from files, and the report is one self-contained HTML file."""

from __future__ import annotations

import json
from decimal import Decimal as D
from pathlib import Path
from textwrap import dedent

from sqlalchemy import Engine
from typer.testing import CliRunner

from billing.cli import app
from billing.core.periods import Period
from billing.measurement.contracts import load_contracts
from billing.rating.service import rate_contract
from billing.simulation.break_even import with_price
from billing.simulation.replay import replay
from billing.simulation.results import Scenario
from billing.simulation.run import simulate
from billing.simulation.sensitivity import scale_outcomes
from billing.simulation.service import read_alternatives, simulate_contract
from billing.storage.db import reading
from tests.rating.rating_cases import cell, contract, measured
from tests.reconciliation.test_reconciliation import contact, interactions

OCT, NOV = Period(2026, 10), Period(2026, 11)

FTE_TERMS = """
    contract: SIM-1
    client: {id: sim, name: "Sim S.A.", locale: en_US}
    currency: USD
    timezone: America/Lima
    start: 2026-01-01
    invoicing: {series: S001, credit_note_series: SC01}
    charges:
      - {id: agents, type: fte, rate: "4000.00", headcount: [{from: 2026-01-01, fte: 2}]}
"""

PER_RESOLUTION = """
    contract: SIM-1-ALT
    client: {id: sim, name: "Sim S.A.", locale: en_US}
    currency: USD
    timezone: America/Lima
    start: 2026-01-01
    invoicing: {series: S001, credit_note_series: SC01}
    charges:
      - {id: resolutions, type: usage, metric: resolutions, pricing: {model: flat, unit_price: "2.00"}}
    service_levels:
      at_risk_percent: "10"
      levels:
        - {id: answer-speed, metric: service_level, threshold_seconds: 20, target: "80", allocation_percent: "50"}
"""


def months(resolutions: dict[Period, int], within_percent: int = 90) -> dict[Period, object]:
    """Measured months with ``resolutions`` each, answered 4000, ``within_percent`` in 20 s."""
    return {
        p: measured("SIM-1", str(p), cell(offered=4000, within=40 * within_percent, resolutions=n))
        for p, n in resolutions.items()
    }


def scenarios(outcomes, alternative: str = PER_RESOLUTION) -> list[Scenario]:
    current, alt = contract(FTE_TERMS), contract(alternative)
    return [
        Scenario("current", "inline", dict.fromkeys(outcomes, current), outcomes),
        Scenario("per-resolution", "inline", dict.fromkeys(outcomes, alt), outcomes),
    ]


def test_each_scenario_prices_the_same_months() -> None:
    outcomes = months({OCT: 3000, NOV: 3500})

    result = simulate("SIM-1", scenarios(outcomes), [OCT, NOV]).as_json()

    current, alt = result["scenarios"]
    assert [m["total"] for m in current["months"]] == ["8000.00", "8000.00"]
    assert [m["total"] for m in alt["months"]] == ["6000.00", "7000.00"]
    assert [m["difference"] for m in alt["months"]] == ["-2000.00", "-1000.00"]
    assert (current["total"], alt["total"], alt["difference"]) == ("16000.00", "13000.00", "-3000.00")
    assert current["price_per_resolution"] == "2.4615"  # 16000 / 6500
    assert alt["price_per_contact"] == "1.6250"  # 13000 / 8000
    assert alt["credits"] == {}


def test_credits_per_level_when_a_level_is_missed() -> None:
    outcomes = months({OCT: 3000}, within_percent=70)  # 70% in 20 s against 80: missed

    result = simulate("SIM-1", scenarios(outcomes), [OCT]).as_json()

    alt = result["scenarios"][1]
    # 6000.00 at risk 10% = 600.00, credit 50% = 300.00
    assert alt["months"][0]["credits"] == {"answer-speed": "-300.00"}
    assert alt["total"] == "5700.00" and alt["credits"] == {"answer-speed": "-300.00"}


def test_break_even_price_earns_what_the_current_terms_earned() -> None:
    outcomes = months({OCT: 3000, NOV: 3500}, within_percent=70)  # the alternative pays credits too

    result = simulate("SIM-1", scenarios(outcomes), [OCT, NOV], sweep=True)

    (found,) = result.break_even
    assert found.charge == "resolutions" and found.current_price == D("2.00")
    assert found.price is not None and found.difference is not None
    assert D(0) <= found.difference <= D("0.01")
    # 16000 / (6500 x 0.95): the credits take 5% of the charges each month
    assert abs(found.price - D(16000) / (D(6500) * D("0.95"))) < D("0.000001")
    repriced = replay(with_price(scenarios(outcomes)[1], "resolutions", found.price), [OCT, NOV])
    assert repriced.total == found.total and abs(repriced.total - D("16000.00")) <= D("0.01")


def test_sensitivity_moves_volume_and_resolutions() -> None:
    outcomes = months({OCT: 3000})

    result = simulate("SIM-1", scenarios(outcomes), [OCT], sensitivity_percent=D(10))

    cases = {case.name: case.totals for case in result.sensitivity}
    assert cases["resolutions +10%"] == {"current": D("8000.00"), "per-resolution": D("6600.00")}
    assert cases["resolutions -10%"]["per-resolution"] == D("5400.00")
    assert cases["volume +10%"]["per-resolution"] == D("6600.00")
    scaled = scale_outcomes(outcomes, "volume", D("1.1"))[OCT].cells[0]
    assert (scaled.offered, scaled.answered_within, scaled.resolutions) == (4400, (3960,), 3300)


# -- from the database ------------------------------------------------------------------------

DB_CONTRACT = """
    contract: RECON-1
    client: {id: recon, name: "Recon S.A.", locale: en_US}
    currency: USD
    timezone: America/Lima
    start: 2026-01-01
    tax: {name: VAT, rate: "10"}
    invoicing: {series: R001, credit_note_series: RC01}
    charges:
      - {id: platform, type: fixed, amount: "100.00"}
      - {id: resolutions, type: usage, metric: resolutions, pricing: {model: flat, unit_price: "2.00"}}
    service_levels:
      at_risk_percent: "10"
      earnback_months: 1
      levels:
        - {id: answer-speed, metric: service_level, threshold_seconds: 20, target: "80", allocation_percent: "50"}
"""


def load_story(db: Engine, tmp_path: Path) -> None:
    base = tmp_path / "recon.yaml"
    base.write_text(dedent(DB_CONTRACT))
    amendment = tmp_path / "recon-nov.yaml"
    amendment.write_text(
        dedent(DB_CONTRACT)
        .replace('unit_price: "2.00"', 'unit_price: "1.50"')
        .replace("start: 2026-01-01", "start: 2026-01-01\neffective_from: 2026-11-01")
    )
    load_contracts(db, [base, amendment])
    rows = [contact(f"s{n}", f"s{n}", f"09-{10 + n}", wait=60 if n < 3 else 5) for n in range(1, 6)]  # missed
    rows += [contact(f"o{n}", f"o{n}", f"10-{10 + n}") for n in range(1, 8)]  # met: September's credit back
    rows += [contact(f"n{n}", f"n{n}", f"11-{10 + n}") for n in range(1, 4)]
    interactions(db, tmp_path, "story", rows)


def test_the_current_scenario_is_what_rating_gives(db: Engine, tmp_path: Path) -> None:
    load_story(db, tmp_path)
    alternative = tmp_path / "per-resolution.yaml"
    alternative.write_text(dedent(DB_CONTRACT).replace("RECON-1", "RECON-ALT").replace('"2.00"', '"3.00"'))

    result = simulate_contract(db, "RECON-1", read_alternatives([alternative]), Period(2026, 9), NOV, sweep=True)

    with reading(db) as session:
        rated = [rate_contract(session, "RECON-1", p) for p in (Period(2026, 9), OCT, NOV)]
    current, alt = result.scenarios
    assert [m.invoice.as_json() for m in current.months] == [r.as_json() for r in rated]  # type: ignore[union-attr]
    assert [m.total for m in current.months] == [D("114.95"), D("131.45"), D("114.95")]
    # September 100 + 5 x 3.00 = 115.00, credit 5.75 -> 109.25 + VAT; October earns it back
    assert [m.subtotal for m in alt.months] == [D("109.25"), D("126.75"), D("109.00")]
    (break_even,) = result.break_even
    assert break_even.difference is not None and D(0) <= break_even.difference <= D("0.01")


def test_simulate_command_writes_a_self_contained_report(db_url: str, db: Engine, tmp_path: Path) -> None:
    load_story(db, tmp_path)
    alternative = tmp_path / "alt.yaml"
    alternative.write_text(dedent(DB_CONTRACT).replace('"2.00"', '"2.50"'))
    report = tmp_path / "report.html"

    command = ["simulate", "RECON-1", "--terms", str(alternative), "--from", "2026-09", "--to", "2026-11"]
    ran = CliRunner().invoke(app, ["--db", db_url, *command, "--sweep", "--html", str(report), "--json"])

    assert ran.exit_code == 0, ran.output
    data = json.loads(ran.output)
    assert [s["name"] for s in data["scenarios"]] == ["current", "alt"]
    assert [c["case"] for c in data["sensitivity"]["cases"]] == [
        "volume -10%",
        "volume +10%",
        "resolutions -10%",
        "resolutions +10%",
    ]
    html = report.read_text()
    assert html.count("<svg") == 2 and "<script" not in html
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "") and "https://" not in html


def test_an_invalid_alternative_is_refused_with_its_file_and_field(db_url: str, db: Engine, tmp_path: Path) -> None:
    load_story(db, tmp_path)
    bad = tmp_path / "bad.yaml"
    bad.write_text(dedent(DB_CONTRACT).replace("currency: USD", "currency: QQQ"))

    ran = CliRunner().invoke(
        app, ["--db", db_url, "simulate", "RECON-1", "--terms", str(bad), "--from", "2026-10", "--to", "2026-10"]
    )

    assert ran.exit_code != 0
    assert "bad.yaml" in ran.output and "currency" in ran.output


def test_every_alternative_example_is_a_valid_contract() -> None:
    from tests.conftest import CONTRACTS

    files = sorted((CONTRACTS / "alternatives").glob("*.yaml"))
    found = read_alternatives(files)
    assert {a.terms.code for a in found} == {"BANDINO-2026-PR", "BANDINO-2026-RISK20", "TIBERICA-2026-GRAD"}
