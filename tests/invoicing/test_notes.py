"""Credit and debit notes: their own series, lines and tax, and never more credit than invoiced."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import col, select

from billing.core.money import RoundingMode
from billing.invoicing.documents import DocumentConflict, lines_of
from billing.invoicing.invoices import issue, void
from billing.invoicing.notes import NoteLine, create_credit_note, create_note, note_totals
from billing.storage.db import reading, transaction
from billing.storage.models import AuditEvent, Document, SeriesCounter
from tests.invoicing.invoice_helpers import draft, load_contract

ISSUE_DAY = date(2026, 11, 3)


def issued_invoice(db: Engine, tmp_path: Path, resolutions: int = 120) -> int:
    """ACME-1 October: 1000.00 + 120 x 2.50 = 1300.00, IGV 234.00, total 1534.00."""
    load_contract(db, tmp_path)
    document_id = draft(db, "ACME-1", resolutions)
    issue(db, document_id, "finance", ISSUE_DAY)
    return document_id


def test_note_totals_round_each_line_once_then_tax_the_subtotal() -> None:
    totals = note_totals([Decimal("10.005"), Decimal("0.125")], Decimal(18), 2, RoundingMode.HALF_EVEN)
    assert totals.amounts == (Decimal("10.00"), Decimal("0.12"))
    assert (totals.subtotal, totals.tax, totals.total) == (Decimal("10.12"), Decimal("1.82"), Decimal("11.94"))
    yen = note_totals([Decimal("1000.5")], Decimal(10), 0, RoundingMode.HALF_UP)
    assert (yen.subtotal, yen.tax, yen.total) == (Decimal("1001"), Decimal("100"), Decimal("1101"))


def test_a_credit_note_against_one_charge_is_taxed_at_the_invoice_rate(db: Engine, tmp_path: Path) -> None:
    invoice_id = issued_invoice(db, tmp_path)

    note = create_credit_note(
        db, invoice_id, "finance", "12 resolutions were repeat contacts", lines=[NoteLine("resolutions", Decimal(30))]
    )

    assert (note.kind, note.status, note.corrects_id, note.series, note.number_text) == (
        "credit_note",
        "draft",
        invoice_id,
        "FC01",
        None,
    )
    assert (note.subtotal, note.tax, note.total) == (Decimal(30), Decimal("5.40"), Decimal("35.40"))
    with reading(db) as session:
        (line,) = lines_of(session, note.id)  # type: ignore[arg-type]
    assert (line.charge, line.type, line.description, line.amount) == ("resolutions", "usage", "Resoluciones", 30)
    assert line.details["corrects"] == "F001-00000001" and line.details["corrects_line"] == 2

    issued = issue(db, note.id, "finance", ISSUE_DAY)  # type: ignore[arg-type]
    assert (issued.status, issued.number_text, issued.due_date) == ("issued", "FC01-00000001", date(2026, 12, 3))


def test_credit_notes_together_never_exceed_the_invoice_total(db: Engine, tmp_path: Path) -> None:
    invoice_id = issued_invoice(db, tmp_path)  # total 1534.00 = 1300.00 + 18%
    first = create_credit_note(db, invoice_id, "finance", "goodwill", amount=Decimal(1000))  # 1180.00
    issue(db, first.id, "finance", ISSUE_DAY)  # type: ignore[arg-type]

    with pytest.raises(DocumentConflict, match="would exceed invoice F001-00000001"):
        create_credit_note(db, invoice_id, "finance", "more goodwill", amount=Decimal("300.01"))  # 354.01
    rest = create_credit_note(db, invoice_id, "finance", "the rest", amount=Decimal(300))  # 354.00
    issue(db, rest.id, "finance", ISSUE_DAY)  # type: ignore[arg-type]
    assert rest.total + first.total == Decimal("1534.00")


def test_drafts_count_when_creating_and_issued_notes_when_issuing(db: Engine, tmp_path: Path) -> None:
    invoice_id = issued_invoice(db, tmp_path)
    pending = create_credit_note(db, invoice_id, "finance", "proposal", amount=Decimal(1000))

    with pytest.raises(DocumentConflict, match="already credited or pending"):
        create_credit_note(db, invoice_id, "finance", "second proposal", amount=Decimal(1000))
    void(db, pending.id, "superseded", "finance")  # type: ignore[arg-type]
    second = create_credit_note(db, invoice_id, "finance", "second proposal", amount=Decimal(1000))
    issued = issue(db, second.id, "finance", ISSUE_DAY)  # type: ignore[arg-type]
    assert issued.number_text == "FC01-00000001"


def test_notes_correct_only_issued_invoices_with_their_own_charges(db: Engine, tmp_path: Path) -> None:
    load_contract(db, tmp_path)
    draft_id = draft(db, "ACME-1", 10)

    with pytest.raises(DocumentConflict, match="only an issued invoice can be corrected"):
        create_credit_note(db, draft_id, "finance", "early", amount=Decimal(10))
    issue(db, draft_id, "finance", ISSUE_DAY)
    with pytest.raises(ValueError, match="no charge 'agents'"):
        create_credit_note(db, draft_id, "finance", "typo", lines=[NoteLine("agents", Decimal(10))])
    with pytest.raises(ValueError, match="must be positive"):
        NoteLine("platform", Decimal(-5))
    with pytest.raises(ValueError, match="reason"):
        create_credit_note(db, draft_id, "finance", "", amount=Decimal(10))


def test_an_invoice_with_open_notes_cannot_be_voided_and_a_voided_invoice_cannot_be_credited(
    db: Engine, tmp_path: Path
) -> None:
    invoice_id = issued_invoice(db, tmp_path)
    note = create_credit_note(db, invoice_id, "finance", "goodwill", amount=Decimal(10))

    with pytest.raises(DocumentConflict, match="void them first"):
        void(db, invoice_id, "wrong", "finance")
    void(db, note.id, "not needed", "finance")  # type: ignore[arg-type]
    void(db, invoice_id, "wrong", "finance")
    with pytest.raises(DocumentConflict, match="is void"):
        create_credit_note(db, invoice_id, "finance", "late", amount=Decimal(10))


def test_a_debit_note_uses_the_debit_series_and_has_no_ceiling(db: Engine, tmp_path: Path) -> None:
    invoice_id = issued_invoice(db, tmp_path)

    note = create_note(
        db,
        invoice_id,
        "debit_note",
        [NoteLine("resolutions", Decimal(2000), "Late interactions")],
        "late data",
        "recon",
    )
    issued = issue(db, note.id, "finance", ISSUE_DAY)  # type: ignore[arg-type]

    assert (issued.kind, issued.number_text, issued.total) == ("debit_note", "FD01-00000001", Decimal("2360.00"))
    with pytest.raises(ValueError, match="a note is one of"):
        create_note(db, invoice_id, "invoice", [NoteLine("platform", Decimal(1))], "x", "recon")


def test_issuing_rechecks_the_ceiling_under_the_invoice_lock(db: Engine, tmp_path: Path) -> None:
    invoice_id = issued_invoice(db, tmp_path)  # total 1534.00
    first = create_credit_note(db, invoice_id, "finance", "goodwill", amount=Decimal(1000))  # 1180.00
    issue(db, first.id, "finance", ISSUE_DAY)  # type: ignore[arg-type]
    # A draft written around the service (a script, an old client) that no longer fits.
    with transaction(db) as session:
        stray = Document(
            **{
                **first.model_dump(
                    exclude={"id", "number", "number_text", "issue_date", "due_date", "issued_at", "status"}
                )
            },
            status="draft",
        )
        stray.subtotal, stray.tax, stray.total = Decimal(400), Decimal(72), Decimal(472)
        session.add(stray)
        session.flush()
        stray_id = stray.id

    with pytest.raises(DocumentConflict, match=r"would credit more than invoice F001-00000001 has left \(354.00"):
        issue(db, stray_id, "finance", ISSUE_DAY)  # type: ignore[arg-type]
    with reading(db) as session:
        assert session.get(SeriesCounter, "FC01").last_number == 1  # type: ignore[union-attr]


def test_every_step_of_a_note_is_audited(db: Engine, tmp_path: Path) -> None:
    invoice_id = issued_invoice(db, tmp_path)
    note = create_credit_note(db, invoice_id, "ana", "goodwill", amount=Decimal(10))
    issue(db, note.id, "luis", ISSUE_DAY)  # type: ignore[arg-type]
    void(db, note.id, "sent twice", "ana")  # type: ignore[arg-type]

    with reading(db) as session:
        events = session.exec(
            select(AuditEvent).where(AuditEvent.entity_id == str(note.id)).order_by(col(AuditEvent.id))
        ).all()
    assert [(e.action, e.actor) for e in events] == [
        ("credit_note.created", "ana"),
        ("credit_note.issued", "luis"),
        ("credit_note.voided", "ana"),
    ]
    assert events[0].data == {"invoice": "F001-00000001", "total": "11.80", "reason": "goodwill"}
    assert events[1].data["number"] == "FC01-00000001"
    assert events[2].data["reason"] == "sent twice"
