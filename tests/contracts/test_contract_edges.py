"""Contract files written carelessly or with intent to harm: every problem is reported with
file, line and field, nothing raises, and no value the engine cannot store or print safely
gets through (issue 13, findings 4 and 11)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from billing.cli import app
from billing.contracts.language import load_terms_text
from billing.storage.db import migrate
from tests.conftest import GOLDEN

BASE = (GOLDEN / "contract.yaml").read_text()


def problems_of(text: str) -> list[tuple[str, int | None, str]]:
    terms, problems = load_terms_text(text, "edge.yaml")
    assert (terms is None) == bool(problems)
    return [(p.code, p.line, p.field) for p in problems]


def with_line(old: str, new: str) -> str:
    assert old in BASE
    return BASE.replace(old, new, 1)


def test_the_base_is_valid() -> None:
    assert problems_of(BASE) == []


def test_a_date_that_is_not_on_the_calendar_is_a_problem_on_its_line() -> None:
    text = with_line("start: 2026-10-01", "start: 2026-02-30")
    assert problems_of(text) == [("date", 6, "start")]
    _, problems = load_terms_text(text, "edge.yaml")
    assert "2026-02-30" in problems[0].message


@pytest.mark.parametrize("day", ["1900-01-01", "2999-01-01"])
def test_dates_outside_the_engines_range_are_refused(day: str) -> None:
    assert problems_of(with_line("start: 2026-10-01", f"start: {day}")) == [("date", 6, "start")]


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ("contract: GOLD-1", "contract: " + "C" * 5000, "contract"),
        ("{id: gold-client,", "{id: ../../etc/passwd,", "client.id"),
        ("series: G,", 'series: "F0\\"1\\r\\n",', "invoicing.series"),
        ("{id: platform,", "{id: 'plat form',", "charges[0].id"),
        ("channels: [voice]", "channels: ['voice\\x00']", "service_levels.levels[0].channels"),
        ('name: "Gold Client LLC"', 'name: "Gold\\nClient"', "client.name"),
    ],
)
def test_identifiers_outside_their_domain_are_refused(old: str, new: str, field: str) -> None:
    found = problems_of(with_line(old, new))
    assert [(code, f) for code, _, f in found] == [("invalid_text", field)]


@pytest.mark.parametrize("code", ["XXX", "XAU", "XTS", "usd", "EURO"])
def test_codes_that_are_not_money_are_refused(code: str) -> None:
    found = problems_of(with_line("currency: USD", f"currency: {code}"))
    assert [c for c, _, _ in found] in (["unknown_currency"], ["invalid_text"])


@pytest.mark.parametrize(
    "amount", ['"99999999999999999999999.99"', '"1e400"', "1e400", ".inf", ".nan", '"0.0000001"', '"' + "9" * 60 + '"']
)
def test_amounts_that_do_not_fit_the_columns_are_refused(amount: str) -> None:
    found = problems_of(with_line('amount: "100.00"', f"amount: {amount}"))
    assert len(found) == 1
    code, line, field = found[0]
    assert code in ("range", "number") and line == 11 and field == "charges[0].amount"


def test_a_duplicate_key_is_an_error_not_a_silent_last_wins() -> None:
    text = BASE + "charges:\n  - {id: other, type: fixed, amount: '1'}\n"
    assert problems_of(text) == [("duplicate_key", 25, "charges")]


def test_a_duplicate_key_inside_a_flow_mapping_is_found_too() -> None:
    text = with_line(
        '{id: platform, type: fixed, amount: "100.00"}', '{id: platform, type: fixed, amount: "1", amount: "2"}'
    )
    assert problems_of(text) == [("duplicate_key", 11, "amount")]


def test_an_alias_bomb_is_refused_before_it_expands() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}]" for i in range(1, 9)]
    assert problems_of(BASE + "\n".join(lines) + "\n") == [("too_large", None, "")]


def test_a_nul_character_is_a_yaml_problem() -> None:
    assert problems_of(BASE.replace("Sales tax", "Sales\x00tax")) == [("yaml", 7, "")]


def test_debit_notes_need_their_own_series() -> None:
    text = with_line("credit_note_series: GC,", "credit_note_series: GC, debit_note_series: G,")
    assert problems_of(text) == [("series", 8, "invoicing.debit_note_series")]


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ('target: "80"', 'target: "180"', "service_levels.levels[0].target"),
        ('allocation_percent: "50"', 'allocation_percent: "101"', "service_levels.levels[0].allocation_percent"),
        ("repeat_window_days: 7", "repeat_window_days: 100000", "resolution.repeat_window_days"),
        ("threshold_seconds: 20", "threshold_seconds: 999999", "service_levels.levels[0].threshold_seconds"),
    ],
)
def test_rates_and_durations_have_sane_bounds(old: str, new: str, field: str) -> None:
    assert [(c, f) for c, _, f in problems_of(with_line(old, new))] == [("range", field)]


def test_the_cli_reports_bad_files_in_one_line_each_and_stores_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/c.db"
    migrate(url)
    bad = tmp_path / "bad.yaml"
    bad.write_text(with_line("start: 2026-10-01", "start: 2026-02-30").replace("contract: GOLD-1", "contract: ../x"))
    latin = tmp_path / "latin.yaml"
    latin.write_bytes(BASE.replace("Gold Client", "Se\xf1or").encode("latin-1"))
    result = CliRunner().invoke(app, ["--db", url, "contracts", "load", str(bad), str(latin)])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert "bad.yaml:2: contract: a contract code is made of letters" in result.output
    assert "bad.yaml:6: start: must be a calendar date YYYY-MM-DD, got '2026-02-30'" in result.output
    assert "latin.yaml: cannot read the file" in result.output
    listed = CliRunner().invoke(app, ["--db", url, "contracts", "list", "--json"])
    assert '"count": 0' in listed.output


# -- fuzz: whatever the file holds, the loader answers with terms or problems ------------------

_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.text(max_size=30),
    st.sampled_from(["1e400", ".inf", "2026-02-30", "99999999999999999999999.99", "-0", "0x1F", "~"]),
)
_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)),
    max_leaves=12,
)
_KEYS = ["contract", "client", "currency", "timezone", "start", "end", "effective_from", "tax", "invoicing"]
_KEYS += ["resolution", "charges", "service_levels", "rounding", "reconciliation"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(key=st.sampled_from(_KEYS), value=_values)
def test_any_value_under_any_key_gives_problems_not_exceptions(key: str, value: object) -> None:
    import yaml

    document = yaml.safe_load(BASE)
    document[key] = value
    text = yaml.safe_dump(document, allow_unicode=True)
    terms, problems = load_terms_text(text, "fuzz.yaml")
    assert (terms is None) == bool(problems)


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_any_edit_of_the_text_gives_problems_not_exceptions(data: st.DataObject) -> None:
    start = data.draw(st.integers(min_value=0, max_value=len(BASE)))
    end = data.draw(st.integers(min_value=start, max_value=min(len(BASE), start + 40)))
    insert = data.draw(
        st.text(max_size=40) | st.sampled_from(["\x00", "&a [*a]", "{{", "- -", "\t", "!!python/object:os.system"])
    )
    text = BASE[:start] + insert + BASE[end:]
    terms, problems = load_terms_text(text, "fuzz.yaml")
    assert (terms is None) == bool(problems)
