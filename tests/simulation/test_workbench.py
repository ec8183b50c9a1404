"""The pricing workbench, pure: the small case of ``small_case`` worked by hand (margins, each
break-even, the four sensitivities), the costs file and profile languages, a prospect priced
twice with one seed, and the report in both languages."""

from __future__ import annotations

import json
from decimal import Decimal as D
from pathlib import Path

import pytest
from typer.testing import CliRunner

from billing.cli import app
from billing.core.periods import Period
from billing.simulation.costs_file import load_costs_text
from billing.simulation.generator import generate
from billing.simulation.profile import load_profile_text
from billing.simulation.prospect import simulate_prospect
from billing.simulation.report import report_html
from billing.simulation.run import simulate
from billing.simulation.serialize import simulation_json
from billing.simulation.service import read_alternatives, read_profile
from tests.conftest import CONTRACTS
from tests.simulation.small_case import OCT, scenarios

WORKBENCH = CONTRACTS / "workbench"


def small() -> dict:
    return simulation_json(simulate("SIM-1", scenarios(), [OCT], sweep=True))


def test_margins_by_hand() -> None:
    data = small()

    # cost: 320 h / 160 x 3,000.00 + 1,000 AI contacts x 0.20 + 800 AI resolutions x 0.10 + 500.00
    #     = 6,000 + 200 + 80 + 500 = 6,780.00, the same in every scenario
    rows = {s["name"]: s for s in data["scenarios"]}
    current, per_resolution, fte = rows["current"], rows["per-resolution"], rows["fte-bonus"]
    # current: 2 FTE x 4,000.00 + 800 x 1.00 = 8,800.00; 10 % tax -> 9,680.00
    assert (current["revenue"], current["total"], current["cost"]) == ("8800.00", "9680.00", "6780.00")
    assert (current["margin"], current["margin_percent"]) == ("2020.00", "22.95")  # 2,020 / 8,800
    # per resolution: 2,400 x 3.00 + 800 x 1.00 = 8,000.00 (answer speed 82 % >= 80: no credit)
    assert (per_resolution["revenue"], per_resolution["margin"], per_resolution["margin_percent"]) == (
        "8000.00",
        "1220.00",
        "15.25",
    )
    assert (per_resolution["at_risk"], per_resolution["credits_paid"]) == ("800.00", "0.00")  # 10 % of 8,000
    # fewer FTE dollars: 2 x 3,500.00 + 800 x 1.50 = 8,200.00
    assert (fte["revenue"], fte["margin"], fte["revenue_difference"]) == ("8200.00", "1420.00", "-600.00")
    # the client: 8,800 / 3,200 resolutions, 8,800 / 4,000 contacts (before tax)
    assert (current["client_per_resolution"], current["client_per_contact"]) == ("2.7500", "2.2000")


def test_each_break_even_by_hand() -> None:
    found = {(b["scenario"], b["kind"], b["charge"]): b for b in small()["break_even"]}

    assert set(found) == {
        ("per-resolution", "price", "human-resolutions"),
        ("per-resolution", "price", "ai-resolutions"),
        ("per-resolution", "volume", None),
        ("fte-bonus", "price", "ai-resolutions"),
        ("fte-bonus", "fte_rate", "agents"),
        ("fte-bonus", "volume", None),
    }
    # 2,400 p + 800 >= 8,800: p = 3.333..., the next cent 3.34 earns 8,816.00
    human = found[("per-resolution", "price", "human-resolutions")]
    assert (human["value"], human["revenue"], human["difference"]) == ("3.34", "8816.00", "16.00")
    # 7,200 + 800 p >= 8,800: p = 2.00 exactly
    assert found[("per-resolution", "price", "ai-resolutions")]["value"] == "2.00"
    # 8,000 x V / 4,000 >= 8,800: V = 4,400 contacts a month (2,640 + 880 resolutions)
    assert found[("per-resolution", "volume", None)]["value"] == "4400"
    # 2 r + 1,200 >= 8,800: r = 3,800.00
    assert found[("fte-bonus", "fte_rate", "agents")]["value"] == "3800.00"
    # 7,000 + 800 p >= 8,800: p = 2.25
    assert found[("fte-bonus", "price", "ai-resolutions")]["value"] == "2.25"
    # 7,000 + 1.50 x round(800 x V / 4,000) >= 8,800 needs 1,200 AI resolutions, which the
    # rounding of 800 x V / 4,000 gives from 1,199.5, that is V = 5,998 (5,997 gives 1,199)
    volume = found[("fte-bonus", "volume", None)]
    assert (volume["in_file"], volume["value"], volume["revenue"]) == ("4000", "5998", "8800.00")


def test_the_four_sensitivities_by_hand() -> None:
    cases = {(c["kind"], c["step"]): (c["revenue"], c["margin"]) for c in small()["sensitivity"]}
    order = ("current", "per-resolution", "fte-bonus")

    def row(kind: str, step: str) -> tuple[list[str], list[str]]:
        revenue, margin = cases[(kind, step)]
        return [revenue[n] for n in order], [margin[n] for n in order]

    # volume +10 %: 880 AI and 2,640 human resolutions, 352 h: cost 6,600 + 220 + 88 + 500 = 7,408
    assert row("volume", "+10") == (["8880.00", "8800.00", "8320.00"], ["1472.00", "1392.00", "912.00"])
    # resolution rate +5 points: 150 human and 50 AI more (of 3,000 and 1,000 answered); cost 6,785
    assert row("resolution_rate", "+5") == (["8850.00", "8500.00", "8275.00"], ["2065.00", "1715.00", "1490.00"])
    # AI share +10 points: 300 voice contacts go to AI at the AI's rates (80 % resolved): 1,040
    # AI and 2,160 human resolutions, 288 h; cost 5,400 + 260 + 104 + 500 = 6,264
    assert row("ai_share", "+10") == (["9040.00", "7520.00", "8560.00"], ["2776.00", "1256.00", "2296.00"])
    # service level -5 points: voice 77 % < 80: the per-resolution terms pay 50 % of 800 at risk
    assert row("service_level", "-5") == (["8800.00", "7600.00", "8200.00"], ["2020.00", "820.00", "1420.00"])
    # ... and +5 points changes nothing: the level was met already
    assert row("service_level", "+5") == (["8800.00", "8000.00", "8200.00"], ["2020.00", "1220.00", "1420.00"])
    # volume and resolutions are no longer the same case
    assert row("volume", "+10") != row("resolution_rate", "+5")
    assert row("volume", "-10")[0] == ["8720.00", "7200.00", "8080.00"]
    assert row("resolution_rate", "-5")[0] == ["8750.00", "7500.00", "8125.00"]
    assert row("ai_share", "-10")[0] == ["8720.00", "8160.00", "8080.00"]


def test_tiers_move_in_proportion_each_rounded_and_are_stated_in_words() -> None:
    files = [CONTRACTS / "alternatives" / "banco-andino-per-resolution.yaml"]
    (alternative,) = read_alternatives(files)
    base = scenarios()[0]
    scenario = base.__class__("alt", "file", dict.fromkeys(base.outcomes, alternative.terms), base.outcomes)
    from billing.simulation.break_even import price_break_even

    charge = alternative.terms.charge("ai-resolutions")
    found = price_break_even(scenario, charge, [OCT], D("252000.00"))  # type: ignore[arg-type]
    # 2,400 human resolutions x 14.00 = 33,600 < the 250,000 floor: only the AI price can move
    # 250,000 + 800 p >= 252,000 -> p = 2.50: the tiers 2.50 / 2.10 / 1.80 stay as they are
    assert found.value == D("2.50") and [t.unit_price for t in found.tiers] == [D("2.50"), D("2.10"), D("1.80")]
    found = price_break_even(scenario, charge, [OCT], D("252400.00"))  # type: ignore[arg-type]
    # p = 3.00: x1.2, 2.10 -> 2.52, 1.80 -> 2.16
    assert found.value == D("3.00") and [t.unit_price for t in found.tiers] == [D("3.00"), D("2.52"), D("2.16")]
    result = simulate("SIM-1", [scenarios()[0], scenario], [OCT], sweep=True)
    html = report_html(result, "en_US")
    assert "Every tier moves in proportion" in html and "up to 10,000 at" in html


def test_the_costs_file_is_checked_with_file_line_and_field() -> None:
    costs, problems = load_costs_text((WORKBENCH / "costs.yaml").read_text(), "costs.yaml")
    assert problems == [] and costs is not None
    model = costs.for_contract("BANDINO-2026")
    assert model is not None and model.agents is not None
    # the contract's own agents and fixed cost, the default's AI cost
    assert (model.agents.per_productive_hour, model.fixed_monthly) == (D("38.00"), D("35000.00"))
    assert model.ai is not None and model.ai.per_contact == D("0.45")
    bad = 'currency: QQQ\ndefault:\n  agents: {per_fte_month: "-1", per_productive_hour: "3"}\n  ai: {per_call: 1}\n'
    costs, problems = load_costs_text(bad, "bad.yaml")
    assert costs is None
    assert [(p.code, p.line, p.field) for p in problems] == [
        ("unknown_currency", 1, "currency"),
        ("negative", 3, "default.agents.per_fte_month"),
        ("agents", 3, "default.agents"),
        ("unknown_field", 4, "default.ai.per_call"),
    ]


def test_the_profile_is_checked_with_file_line_and_field() -> None:
    profile = read_profile(WORKBENCH / "prospect-profile.yaml")
    assert (profile.name, profile.start, [c.name for c in profile.channels]) == (
        "MODAS-NORTE",
        Period(2027, 1),
        ["voice", "chat", "email", "messaging"],
    )
    bad = 'prospect: P-1\nstart: 2027-13\nchannels:\n  voice: {offered: -5, fcr: "120", ai_share: {sd: 2}}\n'
    found, problems = load_profile_text(bad, "bad.yaml")
    assert found is None
    assert sorted((p.code, p.line, p.field) for p in problems) == [
        ("missing", 4, "channels.voice.aht_seconds"),
        ("missing", 4, "channels.voice.ai_share.mean"),
        ("negative", 4, "channels.voice.offered"),
        ("period", 2, "start"),
        ("range", 4, "channels.voice.fcr"),
    ]


def test_a_prospect_gives_the_same_figures_on_two_runs_with_one_seed() -> None:
    profile = read_profile(WORKBENCH / "prospect-profile.yaml")
    files = [CONTRACTS / "tienda-iberica.yaml", CONTRACTS / "alternatives" / "tienda-iberica-graduated.yaml"]
    terms = [(a.name, a.source, a.terms) for a in read_alternatives(files, reserved=())]

    first = simulation_json(simulate_prospect(profile, terms, 6, 7, sweep=True))
    again = simulation_json(simulate_prospect(profile, terms, 6, 7, sweep=True))
    other = simulation_json(simulate_prospect(profile, terms, 6, 8))

    assert first == again
    assert first["periods"] == ["2027-01", "2027-02", "2027-03", "2027-04", "2027-05", "2027-06"]
    assert [s["name"] for s in first["scenarios"]] == ["tienda-iberica", "tienda-iberica-graduated"]
    assert first["scenarios"][0]["revenue"] != other["scenarios"][0]["revenue"]
    months = generate(profile, 6, 7, (20,))
    offered = [sum(c.offered for c in o.cells) for o in months.values()]
    # 14,000 a month growing 2 % with noise, March x1.10 and April x1.15
    assert 13_000 < offered[0] < 15_000 and offered[3] > offered[1] * 1.1
    assert all(o.productive_hours > 0 for o in months.values())


def test_prospect_command_prints_the_same_json_twice(tmp_path: Path) -> None:
    command = ["simulate", "--profile", str(WORKBENCH / "prospect-profile.yaml")]
    command += ["--terms", str(CONTRACTS / "tienda-iberica.yaml")]
    command += ["--terms", str(CONTRACTS / "alternatives" / "tienda-iberica-graduated.yaml")]
    command += ["--months", "3", "--seed", "7", "--costs", str(WORKBENCH / "prospect-costs.yaml"), "--json"]
    command += ["--html", str(tmp_path / "prospect.html"), "--locale", "es_ES"]

    first, second = CliRunner().invoke(app, command), CliRunner().invoke(app, command)

    assert first.exit_code == 0, first.output
    assert first.stdout == second.stdout
    data = json.loads(first.stdout)
    assert data["kind"] == "prospect" and data["origin"] == {
        "profile": str(WORKBENCH / "prospect-profile.yaml"),
        "seed": "7",
        "months": "3",
    }
    assert all(s["margin"] is not None for s in data["scenarios"])
    html = (tmp_path / "prospect.html").read_text()
    assert '<html lang="es">' in html and "Ingresos (antes de impuestos)" in html


def test_a_prospect_without_months_or_terms_is_a_usage_error() -> None:
    profile = str(WORKBENCH / "prospect-profile.yaml")
    ran = CliRunner().invoke(app, ["simulate", "--profile", profile, "--months", "2"])
    assert ran.exit_code == 2 and "--terms" in ran.output
    ran = CliRunner().invoke(app, ["simulate", "--profile", profile, "--terms", profile, "--months", "2"])
    assert ran.exit_code == 1 and "prospect-profile.yaml" in ran.output  # not a contract: refused by file


@pytest.mark.parametrize(("locale", "words"), [("en_US", "Break-evens"), ("es_PE", "Puntos de equilibrio")])
def test_the_report_speaks_the_readers_language(locale: str, words: str) -> None:
    html = report_html(simulate("SIM-1", scenarios(), [OCT], sweep=True), locale)

    assert words in html and html.count("<svg") == 3  # monthly, revenue and margin by volume (no credit)
    assert "<script" not in html and "https://" not in html
    # amounts in the reader's conventions: 8,800.00 (en_US) or 8,800.00 with S/... for PEN only
    assert ("before tax" in html) == (locale == "en_US")
