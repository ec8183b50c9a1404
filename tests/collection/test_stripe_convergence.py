"""A document always ends where Stripe is (issue 13, item 3): an invoice paid in Stripe
before the push recorded it is marked paid, by the push reading Stripe's status and by the
webhook event kept until the push records the invoice. Real ``stripe`` library against the
local Stripe server, on SQLite and PostgreSQL."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import Engine, text, update
from sqlmodel import select

from billing.collection import outbox as collection
from billing.collection.gateway import Gateway, StripeSettings
from billing.collection.webhooks import handle_webhook
from billing.storage.db import make_engine, reading, transaction
from billing.storage.models import AuditEvent, Document, StripeEvent
from tests.collection.conftest import NOW, SECRET
from tests.collection.stripe_server import StripeServer, signed_event
from tests.collection.test_stripe import october_invoice, payments, stored

T = int(NOW.timestamp())


def paid_before_the_push_recorded_it(db: Engine, server: StripeServer, gateway: Gateway) -> tuple[int, dict]:
    """Push with the finalize answer lost (Stripe finalized it), then the client pays it:
    Stripe says paid, our document has no Stripe id yet. Returns the document and Stripe's
    ``invoice.paid`` event."""
    document_id = october_invoice(db)
    server.fail_next("POST", r"/v1/invoices/[^/]+/finalize", lose_response=True)
    lost = collection.push(db, gateway, NOW)
    assert lost.sent == [] and len(lost.failed) == 1
    [invoice] = server.objects("invoice")
    assert invoice["status"] == "open" and stored(db, document_id)[0].stripe_invoice_id is None
    paid = server.pay_invoice(invoice["id"], paid_at=T - 60)
    return document_id, server.event("invoice.paid", paid, created=T)


def event_status(db: Engine, event_id: str) -> str | None:
    with reading(db) as session:
        event = session.get(StripeEvent, event_id)
        return event.status if event else None


def test_paid_before_finalized_converges_through_the_waiting_event_and_the_push(
    db: Engine, server: StripeServer, gateway: Gateway
) -> None:
    """The exact sequence: lost finalize, paid in Stripe, ``invoice.paid`` delivered, push,
    re-delivery. On main the event was answered "ignored", the document stayed issued and
    the re-delivery "replayed"."""
    document_id, event = paid_before_the_push_recorded_it(db, server, gateway)
    payload, header = signed_event(event, SECRET, T)

    first = handle_webhook(db, payload, header, SECRET, NOW)
    again = handle_webhook(db, payload, header, SECRET, NOW)  # Stripe retries before the push

    assert (first.outcome, first.document_id) == ("waiting", document_id)
    assert again.outcome == "waiting" and event_status(db, event["id"]) == "waiting"
    assert stored(db, document_id)[0].status == "issued" and payments(db) == []

    report = collection.push(db, gateway, NOW)

    assert [(r["document"], r["document_status"]) for r in report.sent] == [("F001-00000001", "paid")]
    document, row, _ = stored(db, document_id)
    [invoice] = server.objects("invoice")
    assert (document.status, document.stripe_invoice_id, row.status) == ("paid", invoice["id"], "sent")
    assert document.paid_at == NOW - timedelta(seconds=60)
    [payment] = payments(db)
    assert (payment.amount, payment.currency, payment.reference) == (Decimal("14011.91"), "PEN", invoice["id"])
    assert event_status(db, event["id"]) == "processed"
    with reading(db) as session:
        recorded = session.exec(select(AuditEvent).where(AuditEvent.action == "payment.recorded")).one()
    assert recorded.data["event"] == event["id"] and recorded.data["waited"] is True

    redelivered = handle_webhook(db, *signed_event(event, SECRET, T + 30), SECRET, NOW)
    twin = server.event("invoice.payment_succeeded", event["data"]["object"], created=T)
    succeeded = handle_webhook(db, *signed_event(twin, SECRET, T), SECRET, NOW)

    assert (redelivered.outcome, succeeded.outcome) == ("replayed", "already_paid")
    assert len(payments(db)) == 1 and stored(db, document_id)[0].status == "paid"


def test_the_push_records_what_stripe_says_even_when_no_event_arrives(
    db: Engine, server: StripeServer, gateway: Gateway
) -> None:
    document_id, _ = paid_before_the_push_recorded_it(db, server, gateway)  # the event is lost

    collection.push(db, gateway, NOW)

    document = stored(db, document_id)[0]
    assert document.status == "paid" and document.paid_at == NOW - timedelta(seconds=60)
    [payment] = payments(db)
    assert payment.amount == Decimal("14011.91") and payment.reference == document.stripe_invoice_id
    with reading(db) as session:
        recorded = session.exec(select(AuditEvent).where(AuditEvent.action == "payment.recorded")).one()
    assert recorded.data["stripe_status"] == "paid" and recorded.actor == "stripe"

    # the event delivered late finds the document paid
    late = server.event("invoice.paid", server.objects("invoice")[0], created=T)
    assert handle_webhook(db, *signed_event(late, SECRET, T), SECRET, NOW).outcome == "already_paid"
    assert len(payments(db)) == 1


def test_an_invoice_that_is_not_ours_is_ignored_not_kept(db: Engine, server: StripeServer, gateway: Gateway) -> None:
    october_invoice(db)
    collection.push(db, gateway, NOW)
    foreign = {"id": "in_dashboard", "object": "invoice", "amount_paid": 500, "metadata": {}}
    forged_name = {**foreign, "id": "in_other", "metadata": {"document_id": "1", "number": "F001-99999999"}}
    outcomes = []
    for invoice in (foreign, forged_name):
        event = server.event("invoice.paid", invoice, created=T)
        outcomes.append(handle_webhook(db, *signed_event(event, SECRET, T), SECRET, NOW).outcome)
        assert event_status(db, event["id"]) == "processed"
    assert outcomes == ["ignored", "ignored"] and payments(db) == []


def test_a_webhook_waits_for_a_push_that_is_recording_the_invoice(pg_only_url: str, server: StripeServer) -> None:
    """The push holds the document's row lock while it records the Stripe id: the webhook
    about that invoice waits for it and then applies the payment, instead of deciding "not
    ours yet" from a row about to change (and keeping an event no push would see)."""
    engine = make_engine(pg_only_url)
    gateway = Gateway(StripeSettings(api_key=server.state.api_key, api_base=server.url, max_network_retries=0))
    document_id, event = paid_before_the_push_recorded_it(engine, server, gateway)
    payload, header = signed_event(event, SECRET, T)

    with ThreadPoolExecutor(1) as pool, transaction(engine) as session:  # the push, before its commit
        document = session.get(Document, document_id, with_for_update=True)
        assert document is not None
        delivery = pool.submit(handle_webhook, engine, payload, header, SECRET, NOW)
        waited = _wait_for_a_lock_wait(engine)
        assert waited and not delivery.done()
        document.stripe_invoice_id = event["data"]["object"]["id"]
    result = delivery.result(timeout=30)

    assert result.outcome == "paid" and stored(engine, document_id)[0].status == "paid"
    assert len(payments(engine)) == 1
    engine.dispose()


def _wait_for_a_lock_wait(engine: Engine) -> bool:
    """Whether another connection is (within 10 s) blocked on a row lock in this database."""
    query = text(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            if conn.execute(query).scalar_one():
                return True
        time.sleep(0.02)
    return False


def document_of(engine: Engine, document_id: int) -> Document:
    with reading(engine) as session:
        document = session.get(Document, document_id)
    assert document is not None
    return document


def void(engine: Engine, document_id: int) -> None:
    """Void the document and queue its void, as the invoicing service does."""
    with transaction(engine) as session:
        session.execute(
            update(Document)
            .where(Document.id == document_id)  # type: ignore[arg-type]
            .values(status="void", voided_at=NOW, void_reason="wrong period")
        )
        document = session.get(Document, document_id)
        assert document is not None
        collection.enqueue(session, document, collection.VOID)


def test_an_invoice_a_lost_push_left_open_in_stripe_is_voided_there_with_its_document(
    db: Engine, server: StripeServer, gateway: Gateway
) -> None:
    """Voided before the push recorded it: the push used to skip it (nothing recorded, so
    nothing to void) and the finalized invoice stayed open, payable, in Stripe."""
    document_id = october_invoice(db)
    server.fail_next("POST", r"/v1/invoices/[^/]+/finalize", lose_response=True)
    collection.push(db, gateway, NOW)
    void(db, document_id)

    report = collection.push(db, gateway, NOW)

    assert report.failed == [] and [r["operation"] for r in report.sent] == ["push_invoice", "void"]
    [invoice] = server.objects("invoice")
    assert invoice["status"] == "void" and document_of(db, document_id).stripe_invoice_id == invoice["id"]


def test_a_draft_a_lost_push_left_is_deleted_when_its_document_is_voided(
    db: Engine, server: StripeServer, gateway: Gateway
) -> None:
    october_invoice(db)
    server.fail_next("POST", r"/v1/invoices/[^/]+/finalize")  # the draft stays a draft
    collection.push(db, gateway, NOW)
    void(db, 1)

    report = collection.push(db, gateway, NOW)

    assert report.failed == [] and server.objects("invoice") == []


def test_money_paid_on_an_invoice_whose_document_was_voided_first_is_flagged(
    db: Engine, server: StripeServer, gateway: Gateway
) -> None:
    document_id, event = paid_before_the_push_recorded_it(db, server, gateway)
    assert handle_webhook(db, *signed_event(event, SECRET, T), SECRET, NOW).outcome == "waiting"
    void(db, document_id)

    report = collection.push(db, gateway, NOW)

    assert report.failed == [] and payments(db) == []
    document = document_of(db, document_id)
    assert document.status == "void" and document.stripe_invoice_id == event["data"]["object"]["id"]
    assert server.objects("invoice")[0]["status"] == "paid"  # Stripe cannot void it: a person refunds
    with reading(db) as session:
        flagged = session.exec(select(AuditEvent).where(AuditEvent.action == "payment.unapplied")).all()
    assert [(f.data["amount"], f.data.get("event")) for f in flagged] == [("14011.91", event["id"])]
    assert event_status(db, event["id"]) == "processed"
