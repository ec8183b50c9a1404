"""Every line traceable (issue 15, item 2), on the demo database: for every usage line of every
demo invoice, the contacts ``billing trace`` counts add up exactly to the line's quantity, and
every service-credit line's sample gives its measured value."""

from __future__ import annotations

import csv
import json

from sqlalchemy import select
from sqlmodel import Session
from typer.testing import CliRunner

from billing.cli import app
from billing.invoicing.tracing import line_trace, page, summary
from billing.storage.models import Document, DocumentLine


def _lines(engine, types: tuple[str, ...]) -> list[tuple[str, int, str]]:
    with Session(engine) as s:
        rows = s.execute(
            select(Document.number_text, DocumentLine.position, DocumentLine.quantity)
            .join(DocumentLine, DocumentLine.document_id == Document.id)
            .where(Document.kind == "invoice", DocumentLine.type.in_(types))
            .order_by(Document.id, DocumentLine.position)
        ).all()
    return [(number, position, str(quantity)) for number, position, quantity in rows]


def test_every_usage_line_of_every_demo_invoice_counts_exactly_its_quantity(demo_url, demo):
    usage = _lines(demo, ("usage",))
    assert len(usage) >= 6  # three months of BANDINO and TIBERICA at least
    for number, position, _quantity in usage:
        result = CliRunner().invoke(app, ["--db", demo_url, "trace", number, "--line", str(position), "--json"])
        assert result.exit_code == 0, result.output
        data = json.loads(result.stdout)
        counted = [c for c in data["data"] if c["counted"]]
        assert data["agrees"] is True, (number, position, data["quantity"], data["measured"])
        if data["metric"] in ("resolutions", "contacts"):
            assert len(counted) == int(data["quantity"]) == data["counted"]
        assert len(data["data"]) == data["contacts"]
        assert all(c["reason"] is None for c in counted)
        assert all(c["reason"] for c in data["data"] if not c["counted"])
        repeats = [c for c in data["data"] if c["reason"] == "repeat_within_window"]
        assert all(c["next_contact"]["started_at"] > c["started_at"] for c in repeats)


def test_every_service_credit_line_of_the_demo_gives_its_measured_value_from_its_sample(demo):
    credits = _lines(demo, ("service_credit",))
    assert credits, "the demo misses some service levels"
    with Session(demo) as session:
        for number, position, _ in credits:
            found = summary(session, line_trace(session, number, position))
            assert found["agrees"] is True, (number, position, found)


def test_a_usage_line_counted_by_hand_from_its_contacts(demo_url, demo, tmp_path):
    """BANDINO's October AI resolutions: counted = AI contacts, answered, resolved, not escalated,
    whose customer did not come back within 7 days (as of the invoice's data)."""
    [(number, position, quantity)] = [line for line in _lines(demo, ("usage",)) if line[0] == "F001-00000003"]
    out = tmp_path / "contacts.csv"
    result = CliRunner().invoke(app, ["--db", demo_url, "trace", number, "--line", str(position), "--csv", str(out)])
    assert result.exit_code == 0, result.output
    with out.open() as handle:
        rows = list(csv.DictReader(handle))
    by_hand = [
        r
        for r in rows
        if r["handled_by"] == "ai"
        and r["reason"] not in ("abandoned", "not_resolved", "escalated", "repeat_within_window")
    ]
    assert len(by_hand) == int(quantity.split(".")[0]) == sum(1 for r in rows if r["counted"] == "true")
    assert {r["reason"] for r in rows if r["handled_by"] == "human"} == {"filtered_out"}
    assert all(r["next_interaction_id"] for r in rows if r["reason"] == "repeat_within_window")


def test_pages_of_contacts_join_into_the_whole_line(demo):
    with Session(demo) as session:
        trace = line_trace(session, "F001-00000003", 2)
        whole, after = [], None
        while True:
            rows, cursor = page(session, trace, after, 7000)
            whole += rows
            if cursor is None:
                break
            from billing.measurement.trace import parse_cursor

            after = parse_cursor(cursor)
        assert len(whole) == summary(session, trace)["contacts"]
        assert len({c["interaction_id"] for c in whole}) == len(whole)


def test_a_line_without_contacts_behind_it_is_refused_with_the_reason(demo_url):
    result = CliRunner().invoke(app, ["--db", demo_url, "trace", "F001-00000003", "--line", "1"])
    assert result.exit_code == 1 and "not counted from contacts" in result.stderr
    missing = CliRunner().invoke(app, ["--db", demo_url, "trace", "F001-00000003", "--line", "99"])
    assert missing.exit_code == 1 and "has no line 99" in missing.stderr
