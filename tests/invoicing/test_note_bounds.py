"""Notes are worth something and never credit more than a line billed: a note that rounds to
nothing in its currency is refused before it can spend a legal number, a credit line stays within
what its charge billed (plus issued debits, less other credits), and amounts stay within
``billing.core.limits``."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlmodel import select
from typer.testing import CliRunner

from billing.cli import app
from billing.invoicing.documents import DocumentConflict
from billing.invoicing.invoices import close_period, issue
from billing.invoicing.notes import NoteLine, create_credit_note, create_note
from billing.measurement.contracts import load_contracts
from billing.storage.db import reading
from billing.storage.models import Document, SeriesCounter
from tests.invoicing.invoice_helpers import OCTOBER, draft, load_contract

ISSUE_DAY = date(2026, 11, 3)
CONTRACT = """
contract: {code}
client: {{id: {client}, name: "Client {code}", locale: en_US}}
currency: {currency}
timezone: UTC
start: 2026-01-01
invoicing: {{series: {series}, credit_note_series: C{series}, debit_note_series: D{series}, payment_terms_days: 30}}
charges:
  - {{id: platform, type: fixed, description: "Platform", amount: "1000"}}
"""


def documents(engine: Engine) -> list[tuple[str, str, Decimal]]:
    with reading(engine) as session:
        return [(d.kind, d.status, d.total) for d in session.exec(select(Document).order_by(Document.id)).all()]


def counters(engine: Engine) -> dict[str, int]:
    with reading(engine) as session:
        return {c.series: c.last_number for c in session.exec(select(SeriesCounter)).all()}


def issued_invoice(db: Engine, tmp_path: Path) -> int:
    """ACME-1 October: platform 1000.00 + resolutions 120 x 2.50 = 300.00; IGV 18%: 1534.00."""
    load_contract(db, tmp_path)
    document_id = draft(db, "ACME-1", 120)
    issue(db, document_id, "finance", ISSUE_DAY)
    return document_id


@pytest.mark.parametrize(
    ("code", "amount", "shown"), [("PEN", "0.001", "0.00"), ("JPY", "0.4", "0"), ("KWD", "0.0004", "0.000")]
)
def test_a_note_worth_nothing_in_its_currency_is_refused(
    db: Engine, tmp_path: Path, code: str, amount: str, shown: str
) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(CONTRACT.format(code=f"X-{code}", client=code.lower(), currency=code, series=f"S{code}"))
    load_contracts(db, [path])
    closed = close_period(db, OCTOBER, "finance", datetime(2026, 11, 9, tzinfo=UTC))
    invoice_id = closed.outcomes[0].document_id
    assert invoice_id is not None
    issue(db, invoice_id, "finance", ISSUE_DAY)
    before = documents(db), counters(db)

    for kind in ("credit_note", "debit_note"):
        with pytest.raises(ValueError, match=f"{amount} rounds to {shown} {code}"):
            create_note(db, invoice_id, kind, [NoteLine("adjustment", Decimal(amount))], "rounding", "finance")
    with pytest.raises(ValueError, match="rounds to"):  # one worthless line among good ones
        create_credit_note(
            db,
            invoice_id,
            "finance",
            "x",
            lines=[NoteLine("platform", Decimal(10)), NoteLine("platform", Decimal(amount))],
        )

    assert (documents(db), counters(db)) == before


def test_a_note_made_worthless_after_creation_takes_no_number(db: Engine, tmp_path: Path) -> None:
    invoice_id = issued_invoice(db, tmp_path)
    note = create_credit_note(db, invoice_id, "finance", "late answers", amount=Decimal(10))
    with db.begin() as conn:  # a draft is editable, by direct SQL too
        conn.execute(text("UPDATE document SET subtotal = 0, tax = 0, total = 0 WHERE id = :id"), {"id": note.id})

    with pytest.raises(DocumentConflict, match="corrects nothing does not take a number"):
        issue(db, note.id, "finance", ISSUE_DAY)  # type: ignore[arg-type]

    assert "FC01" not in counters(db)


def test_a_credit_line_never_exceeds_what_its_charge_billed(db: Engine, tmp_path: Path) -> None:
    invoice_id = issued_invoice(db, tmp_path)
    before = documents(db)

    with pytest.raises(DocumentConflict, match=r"on 'resolutions' would exceed .* 300\.00 PEN left"):
        create_credit_note(db, invoice_id, "finance", "x", lines=[NoteLine("resolutions", Decimal(100000))])
    with pytest.raises(DocumentConflict, match=r"300\.00 PEN left"):  # two lines on one charge add up
        create_credit_note(
            db,
            invoice_id,
            "finance",
            "x",
            lines=[NoteLine("resolutions", Decimal(200)), NoteLine("resolutions", Decimal(101))],
        )
    assert documents(db) == before

    first = create_credit_note(db, invoice_id, "finance", "x", lines=[NoteLine("resolutions", Decimal(200))])
    with pytest.raises(DocumentConflict, match=r"100\.00 PEN left .*already credited or pending 200\.00"):
        create_credit_note(db, invoice_id, "finance", "y", lines=[NoteLine("resolutions", Decimal("100.01"))])
    assert first.id is not None
    issue(db, first.id, "finance", ISSUE_DAY)
    last = create_credit_note(db, invoice_id, "finance", "y", lines=[NoteLine("resolutions", Decimal(100))])
    assert last.total == Decimal("118.00")


def test_an_issued_debit_raises_what_a_charge_can_take_back(db: Engine, tmp_path: Path) -> None:
    invoice_id = issued_invoice(db, tmp_path)
    debit = create_note(db, invoice_id, "debit_note", [NoteLine("resolutions", Decimal(50))], "missed", "finance")
    with pytest.raises(DocumentConflict, match=r"300\.00 PEN left"):  # a draft debit bills nothing yet
        create_credit_note(db, invoice_id, "finance", "x", lines=[NoteLine("resolutions", Decimal(350))])
    issue(db, debit.id, "finance", ISSUE_DAY)  # type: ignore[arg-type]
    credit = create_credit_note(db, invoice_id, "finance", "x", lines=[NoteLine("resolutions", Decimal(350))])
    assert credit.subtotal == Decimal(350)


def test_the_line_bound_is_checked_again_at_issue(db: Engine, tmp_path: Path) -> None:
    invoice_id = issued_invoice(db, tmp_path)
    note = create_credit_note(db, invoice_id, "finance", "x", lines=[NoteLine("resolutions", Decimal(100))])
    stored = 500 * 10_000 if db.dialect.name == "sqlite" else 500  # SQLite keeps ten-thousandths
    with db.begin() as conn:
        conn.execute(text("UPDATE document_line SET amount = :a WHERE document_id = :id"), {"a": stored, "id": note.id})

    with pytest.raises(DocumentConflict, match="on 'resolutions' would exceed"):
        issue(db, note.id, "finance", ISSUE_DAY)  # type: ignore[arg-type]
    assert "FC01" not in counters(db)


@pytest.mark.parametrize("amount", ["1e400", "1000000000001", "NaN", "-5", "0"])
def test_note_amounts_stay_within_the_limits(amount: str) -> None:
    with pytest.raises(ValueError, match=r"line adjustment: the amount|not a finite number"):
        NoteLine("adjustment", Decimal(amount))


def test_the_cli_refuses_worthless_and_excessive_credits_in_one_line(db_url: str, db: Engine, tmp_path: Path) -> None:
    invoice_id = issued_invoice(db, tmp_path)
    runner = CliRunner()
    for args, reason in (
        (["--amount", "0.001"], "0.001 rounds to 0.00 PEN"),
        (["--line", "resolutions:100000"], "would exceed what invoice F001-00000001 billed"),
        (["--amount", "1e400"], "must be at most 1,000,000,000,000"),
        (["--amount", "abc"], "not a number"),
        (["--line", "nope:5"], "has no charge 'nope'"),
    ):
        result = runner.invoke(app, ["--db", db_url, "credit-notes", "create", str(invoice_id), "--reason", "r", *args])
        assert result.exit_code == 1, result.output
        assert result.stderr.count("\n") == 1 and reason in result.stderr, result.stderr
    assert documents(db) == [("invoice", "issued", Decimal("1534.00"))]
