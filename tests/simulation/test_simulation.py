"""Pricing simulation from the database (both engines): the current scenario equals
``rate_contract``, alternatives come from files, months that have not ended or hold no data
are left out, and every difference from an issued invoice is explained by cause. The pure
workbench (margins, break-evens, sensitivities, prospects) is tests/simulation/test_workbench.py."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal as D
from pathlib import Path
from textwrap import dedent

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from billing.cli import app
from billing.core.periods import Period
from billing.core.problems import ProblemsError
from billing.measurement.contracts import load_contracts
from billing.rating.service import rate_contract
from billing.simulation.service import read_alternatives, read_costs, simulate_contract
from billing.storage.db import reading
from tests.reconciliation.test_reconciliation import close_and_issue, contact, interactions

SEP, OCT, NOV, DEC = Period(2026, 9), Period(2026, 10), Period(2026, 11), Period(2026, 12)
#: After every month of the story has ended in Lima.
LATER = datetime(2027, 1, 15, tzinfo=UTC)


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

    result = simulate_contract(db, "RECON-1", read_alternatives([alternative]), SEP, NOV, now=LATER, sweep=True)

    with reading(db) as session:
        rated = [rate_contract(session, "RECON-1", p) for p in (Period(2026, 9), OCT, NOV)]
    current, alt = result.scenarios
    assert [m.invoice.as_json() for m in current.months] == [r.as_json() for r in rated]  # type: ignore[union-attr]
    assert [m.total for m in current.months] == [D("114.95"), D("131.45"), D("114.95")]
    # September 100 + 5 x 3.00 = 115.00, credit 5.75 -> 109.25 + VAT; October earns it back
    assert [m.subtotal for m in alt.months] == [D("109.25"), D("126.75"), D("109.00")]
    price, volume = result.break_even
    # the current terms earned 104.50 + 119.50 + 104.50 = 328.50 before tax (1.50 from November);
    # at 1.90: September 109.50 less a credit of 5.48 = 104.02, October 113.30 + 5.48 earned
    # back = 118.78, November 105.70: 328.50
    assert (price.kind, price.value, price.revenue, price.difference) == ("price", D("1.90"), D("328.50"), D(0))
    assert volume.kind == "volume" and volume.revenue is not None and volume.revenue >= result.current.revenue


def test_simulate_command_writes_a_self_contained_report(db_url: str, db: Engine, tmp_path: Path) -> None:
    load_story(db, tmp_path)
    alternative = tmp_path / "alt.yaml"
    alternative.write_text(dedent(DB_CONTRACT).replace('"2.00"', '"2.50"'))
    report = tmp_path / "report.html"

    command = ["simulate", "RECON-1", "--terms", str(alternative), "--from", "2026-09", "--to", "2026-11"]
    command += ["--today", "2027-01-15"]
    ran = CliRunner().invoke(app, ["--db", db_url, *command, "--sweep", "--html", str(report), "--json"])

    assert ran.exit_code == 0, ran.output
    data = json.loads(ran.output)
    assert [s["name"] for s in data["scenarios"]] == ["current", "alt"]
    assert [(c["kind"], c["step"]) for c in data["sensitivity"]] == [
        ("volume", "-10"),
        ("volume", "+10"),
        ("resolution_rate", "-5"),
        ("resolution_rate", "+5"),
        ("ai_share", "-10"),
        ("ai_share", "+10"),
        ("service_level", "-5"),
        ("service_level", "+5"),
    ]
    html = report.read_text()
    assert html.count("<svg") == 3 and "<script" not in html  # monthly, volume, credits (no costs)
    assert '<html lang="en">' in html and "Revenue (before tax)" in html
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


def test_months_not_ended_or_without_data_are_left_out_and_listed(db: Engine, tmp_path: Path) -> None:
    load_story(db, tmp_path)  # data in September to November, none in December
    alternative = tmp_path / "alt.yaml"
    alternative.write_text(dedent(DB_CONTRACT).replace('"2.00"', '"2.50"'))
    alternatives = read_alternatives([alternative])
    # 2026-11-30 23:00 in Lima is 2026-12-01 04:00 UTC: November has not ended there yet
    before_the_end = datetime(2026, 12, 1, 4, 0, tzinfo=UTC)

    result = simulate_contract(db, "RECON-1", alternatives, OCT, DEC, now=before_the_end)

    assert result.periods == (OCT,)
    assert [(m.period, m.reason, m.included) for m in result.left_out] == [
        (NOV, "not_ended", False),
        (DEC, "not_ended", False),
    ]
    later = simulate_contract(db, "RECON-1", alternatives, OCT, DEC, now=LATER)
    assert later.periods == (OCT, NOV)
    assert [(m.period, m.reason) for m in later.left_out] == [(DEC, "no_data")]
    # asked to, December is priced as a month (the platform fee alone) and flagged
    flagged = simulate_contract(db, "RECON-1", alternatives, OCT, DEC, now=LATER, include_partial=True)
    assert flagged.periods == (OCT, NOV, DEC)
    # October 100 + 7 x 2.00 + September's credit of 5.50 earned back; November 100 + 3 x 1.50
    assert [m.subtotal for m in flagged.current.months] == [D("119.50"), D("104.50"), D("100.00")]
    assert [(m.period, m.included) for m in flagged.left_out] == [(DEC, True)]
    with pytest.raises(ValueError, match="no month of 2026-12 to 2026-12 can be priced"):
        simulate_contract(db, "RECON-1", alternatives, DEC, DEC, now=LATER)


def test_every_difference_from_the_issued_invoice_is_explained(db: Engine, tmp_path: Path) -> None:
    """October invoiced 5 resolutions (100 + 5 x 2.00); then one of them turns out to be a repeat
    contact, and two late resolutions arrive; a November amendment does not touch October."""
    path = tmp_path / "recon.yaml"
    path.write_text(dedent(DB_CONTRACT))
    load_contracts(db, [path])
    interactions(db, tmp_path, "october", [contact(f"i{n}", f"c{n}", f"10-{25 + n}") for n in range(1, 6)])
    close_and_issue(db)
    interactions(
        db,
        tmp_path,
        "late",
        [
            contact("again-c3", "c3", "10-31", resolved=False),  # c3's resolution of 10-28 was a repeat
            contact("late-1", "c10", "10-28"),
            contact("late-2", "c11", "10-29"),
        ],
    )

    result = simulate_contract(db, "RECON-1", [], OCT, OCT, now=LATER)

    (check,) = result.invoices
    # issued: 100 + 5 x 2.00 = 110.00 + VAT 11.00 = 121.00
    assert (check.issued_subtotal, check.issued_total) == (D("110.00"), D("121.00"))
    # one repeat contact: -2.00 (-2.20 after tax); two late resolutions (and the repeat's own
    # contact, unresolved): +4.00 (+4.40); the terms did not change
    assert [(s.cause, s.subtotal, s.total) for s in check.steps] == [
        ("repeat_contacts", D("-2.00"), D("-2.20")),
        ("late_data", D("4.00"), D("4.40")),
    ]
    assert (check.simulated_subtotal, check.simulated_total) == (D("112.00"), D("123.20"))
    assert check.issued_total + sum(s.total for s in check.steps) == check.simulated_total
    assert result.current.months[0].total == check.simulated_total


def test_costs_give_margins_and_a_costs_file_in_another_currency_is_refused(db: Engine, tmp_path: Path) -> None:
    load_story(db, tmp_path)
    costs = tmp_path / "costs.yaml"
    costs.write_text('currency: USD\ndefault: {fixed_monthly: "60.00"}\n')

    result = simulate_contract(db, "RECON-1", [], OCT, NOV, now=LATER, costs=read_costs(costs))

    # October 119.50 (with September's credit earned back), November (amended, 1.50) 104.50
    assert [m.margin for m in result.current.months] == [D("59.50"), D("44.50")]
    assert result.current.margin_percent is not None and round(result.current.margin_percent, 2) == D("46.43")
    costs.write_text('currency: EUR\ndefault: {fixed_monthly: "60.00"}\n')
    with pytest.raises(ProblemsError, match="the costs are in EUR, RECON-1 bills in USD"):
        simulate_contract(db, "RECON-1", [], OCT, NOV, now=LATER, costs=read_costs(costs))
