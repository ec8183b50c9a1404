"""Receivables with hand-worked numbers: a month of payments (full, partial, withheld, late)
and the ageing they leave; payments refused when they cannot be right; withholding on drafts
and notes.

Two contracts, 1000.00 a month plus 2.50 per resolution, IGV 18 %, 30 days to pay, and a
detraccion of 12 % above S/ 700. Invoices are issued on the 3rd of the month after, so each
is due 30 days later:

| invoice | period | resolutions | total | withholding | due |
|---|---|---|---|---|---|
| ACME-1 F001-1 | 2026-07 | 0 | 1,180.00 | 141.60 | 2026-09-02 |
| ACME-1 F001-2 | 2026-08 | 400 | 2,360.00 | 283.20 | 2026-10-03 |
| ACME-1 F001-3 | 2026-09 | 200 | 1,770.00 | 212.40 | 2026-11-02 |
| ACME-1 F001-4 | 2026-10 | 100 | 1,475.00 | 177.00 | 2026-12-03 |
| ACME-2 F002-1 | 2026-06 | 0 | 1,180.00 | 141.60 | 2026-08-02 |
| ACME-2 F002-2 | 2026-07 | 40 | 1,298.00 | 155.76 | 2026-09-02 |

November's money: F001-1 paid in full, late, on the 10th (1,038.40 + 141.60 withheld);
F001-2 paid in part on the 5th (1,000.00); for F001-3 only the detraccion was deposited on the
20th (212.40); F002-2 credited 100.00 + IGV = 118.00 on the 12th; F002-1 is paid on 2 December,
after the report's day. As of 2026-11-30:

- ACME-1: F001-2 owes 2,360.00 - 1,000.00 = 1,360.00, 58 days late (31-60); F001-3 owes
  1,770.00 - 212.40 = 1,557.60, 28 days late (1-30); F001-4 owes 1,475.00, not yet due.
  Total 4,392.60.
- ACME-2: F002-1 owes 1,180.00, 120 days late (over 90); F002-2 owes 1,298.00 - 118.00 =
  1,180.00, 89 days late (61-90). Total 2,360.00.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session
from typer.testing import CliRunner

from billing.cli import app
from billing.core.periods import Period
from billing.invoicing.invoices import issue, store_drafts, void
from billing.invoicing.notes import ADJUSTMENT, NoteLine, create_note
from billing.invoicing.payments import PaymentRefused, record_payment
from billing.invoicing.receivables import receivables
from billing.measurement.contracts import load_contracts
from billing.storage.models import Document
from tests.invoicing.invoice_helpers import in_force, rated

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)
CONTRACT = """
contract: {code}
client: {{id: {client}, name: "Cliente {code}", locale: es_PE, tax_id: "20100047218", tax_scheme: pe_ruc}}
currency: PEN
timezone: America/Lima
start: 2026-01-01
tax: {{name: IGV, rate: "18"}}
invoicing:
  series: {series}
  credit_note_series: FC{series}
  payment_terms_days: 30
  withholding: {{name: "Detracción", percent: "12", applies_above: "700.00", account: "00-741-123456",
                legend: "Operación sujeta al SPOT"}}
charges:
  - {{id: platform, type: fixed, description: "Plataforma", amount: "1000.00"}}
  - {{id: resolutions, type: usage, description: "Resoluciones", metric: resolutions,
     pricing: {{model: flat, unit_price: "2.50"}}}}
"""
runner = CliRunner()


def _invoice(db: Engine, code: str, month: int, resolutions: int) -> int:
    period = Period(2026, month)
    result = store_drafts(db, period, [(in_force(db, code, period), rated(code, resolutions, period))], "t", NOW)
    document_id = result.outcomes[0].document_id
    assert document_id is not None
    return issue(db, document_id, "finance", date(2026, month + 1, 3), NOW).id or 0


def _pay(db: Engine, document: int, amount: str, on: date, withheld: str = "0", reference: str | None = None):
    at = datetime(on.year, on.month, on.day, 12, tzinfo=UTC)
    return record_payment(db, document, Decimal(amount), at, reference, "transfer", "finance", Decimal(withheld))


@pytest.fixture
def month(db: Engine, tmp_path: Path) -> dict[str, int]:
    for code, series in (("ACME-1", "F001"), ("ACME-2", "F002")):
        path = tmp_path / f"{code}.yaml"
        path.write_text(CONTRACT.format(code=code, client=code.lower(), series=series))
        load_contracts(db, [path])
    docs = {
        "F001-1": _invoice(db, "ACME-1", 7, 0),
        "F001-2": _invoice(db, "ACME-1", 8, 400),
        "F001-3": _invoice(db, "ACME-1", 9, 200),
        "F001-4": _invoice(db, "ACME-1", 10, 100),
        "F002-1": _invoice(db, "ACME-2", 6, 0),
        "F002-2": _invoice(db, "ACME-2", 7, 40),
    }
    _pay(db, docs["F001-2"], "1000.00", date(2026, 11, 5))
    _pay(db, docs["F001-1"], "1038.40", date(2026, 11, 10), withheld="141.60", reference="BCP-7781")
    note = create_note(db, docs["F002-2"], "credit_note", [NoteLine(ADJUSTMENT, Decimal(100))], "Ajuste", "finance")
    issue(db, note.id or 0, "finance", date(2026, 11, 12), NOW)
    _pay(db, docs["F001-3"], "0", date(2026, 11, 20), withheld="212.40", reference="BN-DETR-0091")
    return docs


def test_withholding_is_stated_on_each_invoice_above_the_threshold(db: Engine, month: dict[str, int]):
    with Session(db) as session:
        shown = {}
        for key, document_id in month.items():
            document = session.get(Document, document_id)
            assert document is not None and document.withholding is not None
            shown[key] = (document.total, document.withholding_amount, document.withholding["account"])
    assert shown["F001-2"] == (Decimal("2360.00"), Decimal("283.20"), "00-741-123456")
    assert shown["F002-2"][:2] == (Decimal("1298.00"), Decimal("155.76"))


def test_a_month_of_payments_gives_the_ageing_worked_by_hand(db: Engine, month: dict[str, int]):
    with Session(db) as session:
        report = receivables(session, date(2026, 11, 30)).as_json()
    acme1, acme2 = report["clients"]
    assert {k: acme1[k] for k in ("not_due", "days_1_30", "days_31_60", "days_61_90", "over_90", "total")} == {
        "not_due": "1475.00",
        "days_1_30": "1557.60",
        "days_31_60": "1360.00",
        "days_61_90": "0.00",
        "over_90": "0.00",
        "total": "4392.60",
    }
    assert [(d["number"], d["balance"], d["days_past_due"], d["bucket"]) for d in acme1["documents"]] == [
        ("F001-00000002", "1360.00", 58, "days_31_60"),
        ("F001-00000003", "1557.60", 28, "days_1_30"),
        ("F001-00000004", "1475.00", 0, "not_due"),
    ]
    assert acme1["documents"][1]["withheld"] == "212.40" and acme1["overdue"] == "2917.60"
    assert [(d["number"], d["balance"], d["bucket"]) for d in acme2["documents"]] == [
        ("F002-00000001", "1180.00", "over_90"),
        ("F002-00000002", "1180.00", "days_61_90"),
    ]
    assert acme2["documents"][1]["credited"] == "118.00" and acme2["total"] == "2360.00"
    assert report["totals"] == [
        {
            "currency": "PEN",
            "not_due": "1475.00",
            "days_1_30": "1557.60",
            "days_31_60": "1360.00",
            "days_61_90": "1180.00",
            "over_90": "1180.00",
            "total": "6752.60",
        }
    ]


def test_the_ageing_is_as_of_its_day(db: Engine, month: dict[str, int]):
    _pay(db, month["F002-1"], "1180.00", date(2026, 12, 2))
    with Session(db) as session:
        before = receivables(session, date(2026, 11, 30), "acme-2").as_json()
        after = receivables(session, date(2026, 12, 2), "acme-2").as_json()
        october = receivables(session, date(2026, 10, 31)).as_json()
    assert before["clients"][0]["over_90"] == "1180.00"
    # F002-1 is paid; F002-2 has moved on to 91 days late
    assert [(d["number"], d["days_past_due"], d["bucket"]) for d in after["clients"][0]["documents"]] == [
        ("F002-00000002", 91, "over_90")
    ]
    # on 31 October: no November money, no credit note, and F001-4 not issued yet
    numbers = [d["number"] for c in october["clients"] for d in c["documents"]]
    assert "F001-00000004" not in numbers and "F001-00000001" in numbers
    assert october["totals"][0]["total"] == "7788.00"  # 1180 + 2360 + 1770 + 1180 + 1298


def test_payments_that_cannot_be_right_are_refused(db: Engine, month: dict[str, int]):
    with pytest.raises(PaymentRefused, match=r"1360\.01 is more than the 1360\.00 still owed on F001-00000002"):
        _pay(db, month["F001-2"], "1360.01", date(2026, 11, 28))
    with pytest.raises(PaymentRefused, match=r"more than the Detracción left on F001-00000003: 0\.00 of 212\.40"):
        _pay(db, month["F001-3"], "100.00", date(2026, 11, 28), withheld="0.01")
    with pytest.raises(PaymentRefused, match="F001-00000001 is paid"):
        _pay(db, month["F001-1"], "1.00", date(2026, 11, 28))
    with pytest.raises(PaymentRefused, match="already recorded"):
        _pay(db, month["F001-4"], "1.00", date(2026, 11, 28), reference="BCP-7781")
    with pytest.raises(ValueError, match="issued on 2026-11-03: a payment of it is not received before"):
        _pay(db, month["F001-4"], "1.00", date(2026, 11, 1))
    with pytest.raises(ValueError, match="at most 2 decimals"):
        _pay(db, month["F001-4"], "1.001", date(2026, 11, 28))
    credit = create_note(db, month["F001-4"], "credit_note", [NoteLine(ADJUSTMENT, Decimal(10))], "x", "finance")
    with pytest.raises(PaymentRefused, match="is a credit note"):
        _pay(db, credit.id or 0, "1.00", date(2026, 11, 28))
    void(db, credit.id or 0, "not needed", "finance")
    november = Period(2026, 11)
    drafted = store_drafts(db, november, [(in_force(db, "ACME-1", november), rated("ACME-1", 1, november))], "t", NOW)
    with pytest.raises(PaymentRefused, match="a draft is not owed"):
        _pay(db, drafted.outcomes[0].document_id or 0, "1.00", date(2026, 11, 28))
    void(db, month["F001-4"], "wrong month", "finance", NOW)
    with pytest.raises(PaymentRefused, match="a void document is not owed"):
        _pay(db, month["F001-4"], "1.00", date(2026, 11, 28))


def test_the_rest_of_a_partial_payment_settles_the_document_by_its_number(db: Engine, month: dict[str, int]):
    payment, document = _pay(db, "F001-00000002", "1076.80", date(2026, 11, 29), withheld="283.20")  # type: ignore[arg-type]
    assert (payment.amount, payment.withheld, document.status) == (Decimal("1076.80"), Decimal("283.20"), "paid")


def test_the_commands_record_list_and_age(db_url: str, db: Engine, month: dict[str, int]):
    recorded = runner.invoke(
        app,
        ["--db", db_url, "payments", "record", "F001-00000004", "--amount", "500", "--date", "2026-11-29",
         "--reference", "BCP-9001", "--json"],
    )  # fmt: skip
    assert recorded.exit_code == 0, recorded.output
    assert json.loads(recorded.stdout)["document_status"] == "issued"
    twice = runner.invoke(
        app, ["--db", db_url, "payments", "record", "F001-00000004", "--amount", "5", "--date", "2026-11-29",
              "--reference", "BCP-9001"],
    )  # fmt: skip
    assert twice.exit_code == 1 and "already recorded" in twice.stderr and "Traceback" not in twice.output
    listed = json.loads(runner.invoke(app, ["--db", db_url, "payments", "list", "--client", "acme-1", "--json"]).stdout)
    assert [p["reference"] for p in listed["data"]] == ["F001-00000002/1", "BCP-7781", "BN-DETR-0091", "BCP-9001"]
    aged = runner.invoke(app, ["--db", db_url, "receivables", "--as-of", "2026-11-30", "--csv"])
    assert aged.exit_code == 0, aged.output
    rows = list(csv.DictReader(io.StringIO(aged.stdout)))
    assert [(r["number"], r["balance"], r["bucket"]) for r in rows] == [
        ("F001-00000002", "1360.00", "days_31_60"),
        ("F001-00000003", "1557.60", "days_1_30"),
        ("F001-00000004", "975.00", "not_due"),
        ("F002-00000001", "1180.00", "over_90"),
        ("F002-00000002", "1180.00", "days_61_90"),
    ]
    table = runner.invoke(app, ["--db", db_url, "receivables", "--as-of", "2026-11-30"])
    assert table.exit_code == 0 and "F001-00000003: balance 1557.60 PEN of 1770.00, due 2026-11-02 (28 days late)" in (
        table.stdout
    )
