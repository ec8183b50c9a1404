"""Collection through Stripe: the real ``stripe`` library over HTTP against the local
Stripe-compatible server in ``tests/collection/stripe_server.py`` (fixtures ``server`` and
``gateway`` in ``conftest.py``), on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from decimal import Decimal

import pytest
import stripe
from click.testing import Result
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, update
from sqlmodel import select
from typer.testing import CliRunner

from billing.api.routes import stripe_webhooks as api_stripe
from billing.cli import app
from billing.collection import outbox as collection
from billing.collection.gateway import Gateway, StripeSettings
from billing.collection.webhooks import handle_webhook
from billing.storage.db import make_engine, reading, transaction
from billing.storage.models import (
    AuditEvent,
    Client,
    Contract,
    Document,
    DocumentLine,
    Payment,
    StripeEvent,
    StripeOutbox,
)
from tests.collection.conftest import NOW, SECRET
from tests.collection.stripe_server import StripeServer, sign, signed_event


def issue(
    engine: Engine,
    number: int,
    currency: str,
    lines: list[tuple[str, str]],
    tax_rate: str,
    *,
    kind: str = "invoice",
    period: str = "2026-10",
    corrects: int | None = None,
    queue: bool = True,
    withheld: str | None = None,
) -> int:
    """An issued document as the invoices module leaves it: inserted as a draft with its
    lines, then issued with its number in one UPDATE, and queued for Stripe alongside."""
    subtotal = sum((Decimal(amount) for _, amount in lines), Decimal(0))
    places = Decimal(1).scaleb(-collection.currency(currency).minor_units)
    tax = (subtotal * Decimal(tax_rate) / 100).quantize(places)
    series = "F001" if kind == "invoice" else "FC01"
    with transaction(engine) as session:
        if session.get(Client, "acme") is None:
            session.add(Client(id="acme", name="Acme Peru SAC", email="pagos@acme.pe", locale="es_PE"))
            session.add(Contract(id=1, code="ACME-CARE", client_id="acme"))
            session.flush()
        document = Document(
            kind=kind,
            contract_id=1,
            client_id="acme",
            period=period,
            series=series,
            currency=currency,
            subtotal=subtotal,
            tax=tax,
            total=subtotal + tax,
            tax_name="IGV",
            tax_rate=Decimal(tax_rate),
            corrects_id=corrects,
            reason="Service credit for October" if kind == "credit_note" else None,
            withholding={"name": "Detracción", "percent": "12", "amount": withheld} if withheld else None,
            withholding_amount=Decimal(withheld) if withheld else None,
        )
        session.add(document)
        session.flush()
        for position, (description, amount) in enumerate(lines, 1):
            session.add(
                DocumentLine(
                    document_id=document.id,
                    position=position,
                    charge=f"charge-{position}",
                    type="fixed",
                    description=description,
                    quantity=Decimal(1),
                    amount=Decimal(amount),
                )
            )
        session.flush()
        session.execute(
            update(Document)
            .where(Document.id == document.id)  # type: ignore[arg-type]
            .values(
                status="issued",
                number=number,
                number_text=f"{series}-{number:08d}",
                issue_date=date(2026, 11, 2),
                due_date=date(2026, 12, 2),
                issued_at=NOW,
            )
        )
        session.refresh(document)
        if queue:
            collection.enqueue(session, document)
        assert document.id is not None
        return document.id


def october_invoice(engine: Engine) -> int:
    """Peru, soles: the monthly fee, a service-level credit, IGV 18 %."""
    return issue(engine, 1, "PEN", [("Monthly platform fee", "12500.00"), ("SLA credit: ASA", "-625.50")], "18")


def stored(engine: Engine, document_id: int) -> tuple[Document, StripeOutbox, Client]:
    with reading(engine) as session:
        document = session.get(Document, document_id)
        row = session.exec(select(StripeOutbox).where(StripeOutbox.document_id == document_id)).one()
        client = session.get(Client, "acme")
        assert document is not None and client is not None
        return document, row, client


# -- pushing invoices ------------------------------------------------------------------------


def test_push_sends_customer_items_and_a_finalized_invoice_in_cents(
    db: Engine, server: StripeServer, gateway: Gateway
) -> None:
    document_id = october_invoice(db)  # 11,874.50 + IGV 2,137.41 = 14,011.91 PEN

    report = collection.push(db, gateway, NOW)

    assert [r["document"] for r in report.sent] == ["F001-00000001"] and report.failed == []
    [customer] = server.objects("customer")
    assert customer["name"] == "Acme Peru SAC" and customer["metadata"] == {"client_id": "acme"}
    [invoice] = server.objects("invoice")
    assert invoice["status"] == "open"
    assert invoice["currency"] == "pen" and invoice["customer"] == customer["id"]
    assert invoice["collection_method"] == "send_invoice" and invoice["days_until_due"] == 30
    assert invoice["auto_advance"] is False
    assert invoice["metadata"] == {"document_id": str(document_id), "number": "F001-00000001"}
    items = server.objects("invoiceitem")
    assert [(i["description"], i["amount"]) for i in items] == [
        ("Monthly platform fee", 1250000),
        ("SLA credit: ASA", -62550),
        ("IGV 18%", 213741),
    ]
    assert {i["invoice"] for i in items} == {invoice["id"]}
    assert invoice["total"] == invoice["amount_due"] == 1401191
    document, row, client = stored(db, document_id)
    assert document.stripe_invoice_id == invoice["id"] == row.stripe_id
    assert client.stripe_customer_id == customer["id"]
    assert (row.status, row.attempts, row.last_error) == ("sent", 1, None)


def test_stripe_collects_only_what_is_payable_to_the_issuer_when_the_client_withholds(
    db: Engine, server: StripeServer, gateway: Gateway
) -> None:
    # 14,011.91 PEN, of which 12 % (1,681.43) the client deposits at Banco de la Nación itself
    document_id = issue(
        db, 1, "PEN", [("Monthly platform fee", "12500.00"), ("SLA credit: ASA", "-625.50")], "18", withheld="1681.43"
    )

    collection.push(db, gateway, NOW)

    items = server.objects("invoiceitem")
    assert [(i["description"], i["amount"]) for i in items][-1] == (
        "Detracción: paid by the client to a third party",
        -168143,
    )
    [invoice] = server.objects("invoice")
    assert invoice["amount_due"] == 1401191 - 168143 == 1233048
    document, _, _ = stored(db, document_id)
    assert document.total == Decimal("14011.91")  # the legal document is unchanged


@pytest.mark.parametrize(
    ("currency", "fee", "expected"),
    [("JPY", "1250000", [1250000, -62500, 213750]), ("CLP", "9800000", [9800000, -62500, 1850125])],
)
def test_zero_decimal_currencies_go_in_whole_units(
    db: Engine, server: StripeServer, gateway: Gateway, currency: str, fee: str, expected: list[int]
) -> None:
    issue(
        db, 1, currency, [("Monthly platform fee", fee), ("SLA credit", "-62500")], "19" if currency == "CLP" else "18"
    )

    collection.push(db, gateway, NOW)

    assert [i["amount"] for i in server.objects("invoiceitem")] == expected
    [invoice] = server.objects("invoice")
    assert invoice["currency"] == currency.lower() and invoice["total"] == sum(expected)


def test_pushing_the_same_invoice_twice_creates_one_stripe_invoice(
    db: Engine, server: StripeServer, gateway: Gateway
) -> None:
    document_id = october_invoice(db)
    collection.push(db, gateway, NOW)
    with transaction(db) as session:
        document = session.get(Document, document_id)
        assert document is not None
        assert collection.enqueue(session, document) is False  # already queued: a no-op
        assert collection.enqueue_issued(session) == 0
        # as if the commit that marked the row sent had been lost: push it all again
        row = session.exec(select(StripeOutbox)).one()
        row.status = "pending"

    report = collection.push(db, gateway, NOW)
    server.forget_idempotency_keys()  # and again, long after Stripe forgot the keys
    with transaction(db) as session:
        session.exec(select(StripeOutbox)).one().status = "pending"
    again = collection.push(db, gateway, NOW)

    assert len(report.sent) == len(again.sent) == 1
    assert len(server.objects("customer")) == 1
    assert len(server.objects("invoice")) == 1
    assert len(server.objects("invoiceitem")) == 3
    document, row, _ = stored(db, document_id)
    assert document.stripe_invoice_id == server.objects("invoice")[0]["id"]


def test_a_crash_between_steps_is_retried_without_duplicates(
    db: Engine, server: StripeServer, gateway: Gateway
) -> None:
    document_id = october_invoice(db)
    server.fail_next("POST", r"/v1/customers", lose_response=True)  # created by Stripe, answer lost
    first = collection.push(db, gateway, NOW)
    _, row, client = stored(db, document_id)
    assert first.sent == [] and (row.status, row.attempts) == ("pending", 1) and row.last_error
    assert client.stripe_customer_id is None and len(server.objects("customer")) == 1

    server.fail_next("POST", r"/v1/invoices/[^/]+/finalize")  # Stripe unreachable at the last step
    second = collection.push(db, gateway, NOW)

    assert second.sent == []
    document, row, client = stored(db, document_id)
    [customer] = server.objects("customer")  # the keyed retry got the same customer back
    assert client.stripe_customer_id == customer["id"] and document.stripe_invoice_id is None
    assert server.objects("invoice")[0]["status"] == "draft"

    third = collection.push(db, gateway, NOW)

    assert [r["document"] for r in third.sent] == ["F001-00000001"]
    [invoice] = server.objects("invoice")
    assert invoice["status"] == "open" and invoice["total"] == 1401191
    assert [i["amount"] for i in server.objects("invoiceitem")] == [1250000, -62550, 213741]
    document, row, _ = stored(db, document_id)
    assert (row.status, row.attempts, row.last_error) == ("sent", 3, None)
    assert document.stripe_invoice_id == invoice["id"]


def test_a_retry_after_stripe_forgot_the_keys_adds_only_what_is_missing(
    db: Engine, server: StripeServer, gateway: Gateway
) -> None:
    october_invoice(db)
    server.fail_next("POST", r"/v1/invoiceitems", lose_response=True, after=1)  # crash after two items
    collection.push(db, gateway, NOW)
    assert len(server.objects("invoiceitem")) == 2
    server.forget_idempotency_keys()  # the retry comes more than 24 hours later

    report = collection.push(db, gateway, NOW)

    assert len(report.sent) == 1
    [invoice] = server.objects("invoice")
    assert invoice["status"] == "open" and invoice["total"] == 1401191
    assert [i["amount"] for i in server.objects("invoiceitem")] == [1250000, -62550, 213741]


def test_enqueue_issued_queues_documents_issued_before_stripe_was_set_up(
    db: Engine, server: StripeServer, gateway: Gateway
) -> None:
    issue(db, 1, "PEN", [("Fee", "100.00")], "18", period="2026-09", queue=False)
    issue(db, 2, "PEN", [("Fee", "200.00")], "18", period="2026-10", queue=False)
    with transaction(db) as session:
        assert collection.enqueue_issued(session) == 2
    with transaction(db) as session:
        assert collection.enqueue_issued(session) == 0

    report = collection.push(db, gateway, NOW, limit=1)

    assert [r["document"] for r in report.sent] == ["F001-00000001"]
    with reading(db) as session:
        assert collection.status(session)["counts"] == {"pending": 1, "sent": 1}


# -- credit notes -----------------------------------------------------------------------------


def test_a_credit_note_is_pushed_against_its_stripe_invoice(db: Engine, server: StripeServer, gateway: Gateway) -> None:
    invoice_id = issue(db, 1, "PEN", [("Monthly platform fee", "12500.00")], "18", queue=False)
    note_id = issue(db, 1, "PEN", [("Late repeat contacts", "500.00")], "18", kind="credit_note", corrects=invoice_id)

    waiting = collection.push(db, gateway, NOW)  # the invoice never reached Stripe: the note waits

    assert waiting.sent == [] and "has not reached Stripe" in waiting.failed[0]["error"]
    with transaction(db) as session:
        collection.enqueue_issued(session)
    collection.push(db, gateway, NOW)

    [invoice] = server.objects("invoice")
    [note] = server.objects("credit_note")
    assert note["invoice"] == invoice["id"]
    assert [(line["description"], line["unit_amount"]) for line in note["lines"]["data"]] == [
        ("Late repeat contacts", "50000"),
        ("IGV 18%", "9000"),
    ]
    assert note["total"] == 59000 and note["memo"] == "Service credit for October"
    assert note["metadata"] == {"document_id": str(note_id), "number": "FC01-00000001", "credits": "F001-00000001"}
    assert invoice["amount_due"] == 1475000 - 59000
    _, row, _ = stored(db, note_id)
    assert (row.status, row.stripe_id) == ("sent", note["id"])

    for forget in (False, True):  # pushed again after a lost commit, then after Stripe forgot the keys
        if forget:
            server.forget_idempotency_keys()
        with transaction(db) as session:
            session.exec(select(StripeOutbox).where(StripeOutbox.document_id == note_id)).one().status = "pending"
        assert len(collection.push(db, gateway, NOW).sent) == 1
    assert len(server.objects("credit_note")) == 1


def test_a_credit_note_on_a_paid_invoice_goes_to_the_customer_balance(
    db: Engine, server: StripeServer, gateway: Gateway
) -> None:
    invoice_id = issue(db, 1, "PEN", [("Monthly platform fee", "1000.00")], "18")
    collection.push(db, gateway, NOW)
    server.pay_invoice(server.objects("invoice")[0]["id"], paid_at=int(NOW.timestamp()))
    issue(db, 1, "PEN", [("Repeat contacts", "100.00")], "18", kind="credit_note", corrects=invoice_id)

    collection.push(db, gateway, NOW)

    [note] = server.objects("credit_note")
    assert (note["total"], note["credit_amount"]) == (11800, 11800)


# -- voids ------------------------------------------------------------------------------------


def void(engine: Engine, document_id: int, queue: bool = True) -> None:
    with transaction(engine) as session:
        session.execute(
            update(Document)
            .where(Document.id == document_id)  # type: ignore[arg-type]
            .values(status="void", voided_at=NOW, void_reason="wrong period")
        )
        document = session.get(Document, document_id)
        assert document is not None
        if queue:
            collection.enqueue(session, document, collection.VOID)


def test_voiding_a_sent_invoice_voids_it_in_stripe(db: Engine, server: StripeServer, gateway: Gateway) -> None:
    document_id = october_invoice(db)
    collection.push(db, gateway, NOW)
    void(db, document_id, queue=False)
    with transaction(db) as session:  # a void made by a path that did not queue it is found
        assert collection.enqueue_issued(session) == 1

    report = collection.push(db, gateway, NOW)

    assert [(r["operation"], r["status"]) for r in report.sent] == [("void", "sent")]
    [invoice] = server.objects("invoice")
    assert invoice["status"] == "void"
    with reading(db) as session:
        assert collection.status(session)["counts"] == {"sent": 2}


def test_an_invoice_voided_before_it_reached_stripe_is_never_sent(
    db: Engine, server: StripeServer, gateway: Gateway
) -> None:
    document_id = october_invoice(db)
    void(db, document_id)

    report = collection.push(db, gateway, NOW)

    assert report.sent == [] and report.failed == []
    assert [(r["operation"], r["status"]) for r in report.skipped] == [("push_invoice", "skipped"), ("void", "skipped")]
    assert server.objects("invoice") == [] and server.objects("customer") == []


# -- webhooks ---------------------------------------------------------------------------------


def paid_event(db: Engine, server: StripeServer, gateway: Gateway, kind: str = "invoice.paid") -> tuple[int, dict]:
    document_id = october_invoice(db)
    collection.push(db, gateway, NOW)
    stripe_id = stored(db, document_id)[0].stripe_invoice_id
    assert stripe_id is not None
    invoice = server.pay_invoice(stripe_id, paid_at=int(NOW.timestamp()) - 60)
    return document_id, server.event(kind, invoice, created=int(NOW.timestamp()))


def payments(db: Engine) -> list[Payment]:
    with reading(db) as session:
        return list(session.exec(select(Payment)))


def test_a_valid_invoice_paid_event_marks_the_document_paid_once(
    db: Engine, server: StripeServer, gateway: Gateway
) -> None:
    document_id, event = paid_event(db, server, gateway)
    payload, header = signed_event(event, SECRET, int(NOW.timestamp()) - 10)

    result = handle_webhook(db, payload, header, SECRET, NOW)

    assert (result.outcome, result.document_id) == ("paid", document_id)
    document = stored(db, document_id)[0]
    assert document.status == "paid" and document.paid_at == NOW - timedelta(seconds=60)
    [payment] = payments(db)
    assert (payment.amount, payment.currency, payment.reference) == (
        Decimal("14011.91"),
        "PEN",
        document.stripe_invoice_id,
    )
    with reading(db) as session:
        audit = session.exec(select(AuditEvent).where(AuditEvent.action == "payment.recorded")).one()
    assert audit.actor == "stripe-webhook" and audit.data["event"] == event["id"]

    assert handle_webhook(db, payload, header, SECRET, NOW).outcome == "replayed"
    twin = server.event("invoice.payment_succeeded", event["data"]["object"], created=int(NOW.timestamp()))
    assert handle_webhook(db, *signed_event(twin, SECRET, int(NOW.timestamp())), SECRET, NOW).outcome == "already_paid"
    assert len(payments(db)) == 1


def test_forged_and_stale_webhooks_are_refused(db: Engine, server: StripeServer, gateway: Gateway) -> None:
    document_id, event = paid_event(db, server, gateway)
    now = int(NOW.timestamp())
    payload, _ = signed_event(event, SECRET, now)
    tampered = json.loads(payload)
    tampered["data"]["object"]["amount_paid"] = 1

    refusals = [
        handle_webhook(db, *signed_event(event, "whsec_someone_else", now), SECRET, NOW),
        handle_webhook(db, json.dumps(tampered).encode(), sign(payload, SECRET, now), SECRET, NOW),
        handle_webhook(db, payload, sign(payload, SECRET, now - 301), SECRET, NOW),
        handle_webhook(db, payload, "", SECRET, NOW),
        handle_webhook(db, payload, "t=abc,v1=00", SECRET, NOW),
    ]

    assert [r.outcome for r in refusals] == ["refused"] * 5
    assert "tolerance" in (refusals[2].detail or "")
    assert stored(db, document_id)[0].status == "issued" and payments(db) == []
    with reading(db) as session:
        assert (
            session.exec(
                select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "payment.recorded")
            ).one()
            == 0
        )
    # inside the tolerance the same delivery is good
    assert handle_webhook(db, payload, sign(payload, SECRET, now - 299), SECRET, NOW).outcome == "paid"


def test_a_stale_delivery_with_a_fresh_timestamp_appended_is_refused(
    db: Engine, server: StripeServer, gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Signed ten minutes ago, replayed now with ``,t=<now>`` appended: the freshness check read
    the last ``t`` and the signature check the first, so it was answered 200 "paid"."""
    document_id, event = paid_event(db, server, gateway)
    app = FastAPI()
    app.state.engine = db
    app.include_router(api_stripe.router)
    monkeypatch.setenv("BILLING_STRIPE_WEBHOOK_SECRET", SECRET)
    now = int(time.time())
    payload, captured = signed_event(event, SECRET, now - 600)

    replayed = TestClient(app).post(
        "/webhooks/stripe", content=payload, headers={"Stripe-Signature": f"{captured},t={now}"}
    )

    assert replayed.status_code == 400 and "more than one timestamp" in replayed.json()["detail"]
    assert SECRET not in replayed.text and captured.split("v1=")[1] not in replayed.text
    assert stored(db, document_id)[0].status == "issued" and payments(db) == []
    with reading(db) as session:  # a refused delivery leaves no trace that would make Stripe's retry "replayed"
        assert session.exec(select(func.count()).select_from(StripeEvent)).one() == 0


def test_money_for_a_voided_invoice_is_flagged_not_applied(db: Engine, server: StripeServer, gateway: Gateway) -> None:
    document_id, event = paid_event(db, server, gateway)
    void(db, document_id, queue=False)

    result = handle_webhook(db, *signed_event(event, SECRET, int(NOW.timestamp())), SECRET, NOW)

    assert result.outcome == "not_payable" and payments(db) == []
    with reading(db) as session:
        flagged = session.exec(select(AuditEvent).where(AuditEvent.action == "payment.unapplied")).one()
    assert flagged.data["amount"] == "14011.91" and flagged.entity_id == str(document_id)


def test_events_we_do_not_act_on_are_acknowledged_and_remembered(db: Engine, server: StripeServer) -> None:
    event = server.event("customer.created", {"id": "cus_x", "object": "customer"}, created=int(NOW.timestamp()))
    payload, header = signed_event(event, SECRET, int(NOW.timestamp()))
    assert handle_webhook(db, payload, header, SECRET, NOW).outcome == "ignored"
    assert handle_webhook(db, payload, header, SECRET, NOW).outcome == "replayed"


# -- the test server itself follows Stripe's idempotency rules ------------------------------------


def test_the_local_server_replays_or_refuses_a_reused_idempotency_key(server: StripeServer) -> None:
    client = stripe.StripeClient(server.state.api_key, base_addresses={"api": server.url}, max_network_retries=0)
    options: stripe.RequestOptions = {"idempotency_key": "k-1"}
    first = client.v1.customers.create(params={"name": "Acme"}, options=options)
    again = client.v1.customers.create(params={"name": "Acme"}, options=options)
    assert again.id == first.id and len(server.objects("customer")) == 1
    with pytest.raises(stripe.IdempotencyError):
        client.v1.customers.create(params={"name": "Other"}, options=options)


# -- the webhook endpoint, the commands, concurrent pushers ---------------------------------------


def test_the_webhook_endpoint_answers_400_to_a_forgery_and_200_to_stripe(
    db: Engine, server: StripeServer, gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    document_id, event = paid_event(db, server, gateway)
    app = FastAPI()
    app.state.engine = db
    app.include_router(api_stripe.router)
    client = TestClient(app)
    payload, _ = signed_event(event, SECRET, 0)
    signed_now = {"Stripe-Signature": sign(payload, SECRET, int(time.time()))}

    monkeypatch.delenv("BILLING_STRIPE_WEBHOOK_SECRET", raising=False)
    unconfigured = client.post("/webhooks/stripe", content=payload, headers=signed_now)
    monkeypatch.setenv("BILLING_STRIPE_WEBHOOK_SECRET", SECRET)
    forged = client.post("/webhooks/stripe", content=payload, headers={"Stripe-Signature": sign(payload, "x", 1)})
    unsigned = client.post("/webhooks/stripe", content=payload)
    good = client.post("/webhooks/stripe", content=payload, headers=signed_now)
    replay = client.post("/webhooks/stripe", content=payload, headers=signed_now)

    assert (unconfigured.status_code, forged.status_code, unsigned.status_code) == (400, 400, 400)
    assert good.status_code == 200 and good.json()["outcome"] == "paid"
    assert replay.status_code == 200 and replay.json()["outcome"] == "replayed"
    assert stored(db, document_id)[0].status == "paid" and len(payments(db)) == 1


def test_the_stripe_commands(db_url: str, db: Engine, server: StripeServer, monkeypatch: pytest.MonkeyPatch) -> None:
    issue(db, 1, "PEN", [("Fee", "100.00")], "18", period="2026-09", queue=False)
    issue(db, 2, "PEN", [("Fee", "200.00")], "18", period="2026-10", queue=False)
    monkeypatch.setenv("BILLING_STRIPE_API_KEY", server.state.api_key)
    monkeypatch.setenv("BILLING_STRIPE_API_BASE", server.url)
    runner = CliRunner()

    def billing(*args: str) -> Result:
        return runner.invoke(app, ["--db", db_url, "stripe", *args])

    assert "2 document(s) queued" in billing("enqueue", "--issued").output
    assert "0 document(s) queued" in billing("enqueue", "--issued").output
    server.fail_next("POST", r"/v1/invoices/[^/]+/finalize")
    failed = billing("push", "--limit", "1")
    assert failed.exit_code == 1 and "pending F001-00000001" in failed.output
    waiting = json.loads(billing("status", "--json").output)
    assert waiting["counts"] == {"pending": 2}
    assert waiting["waiting"][0]["attempts"] == 1 and "injected failure" in waiting["waiting"][0]["last_error"]

    pushed = billing("push", "--json")

    assert pushed.exit_code == 0, pushed.output
    assert json.loads(pushed.output)["counts"] == {"sent": 2, "skipped": 0, "failed": 0}
    assert json.loads(billing("status", "--json").output) == {"counts": {"sent": 2}, "waiting": []}
    assert [i["total"] for i in server.objects("invoice")] == [11800, 23600]


def test_two_pushers_at_once_send_each_invoice_once(pg_only_url: str, server: StripeServer) -> None:
    engine = make_engine(pg_only_url)
    for month in range(1, 9):
        issue(engine, month, "PEN", [("Fee", f"{month}00.00")], "18", period=f"2026-{month:02d}")
    settings = StripeSettings(api_key=server.state.api_key, api_base=server.url, max_network_retries=0)

    with ThreadPoolExecutor(2) as pool:
        reports = list(pool.map(lambda _: collection.push(engine, Gateway(settings), NOW), range(2)))

    sent = [row["document"] for report in reports for row in report.sent]
    assert sorted(sent) == [f"F001-{n:08d}" for n in range(1, 9)]
    assert all(report.failed == [] for report in reports)
    assert len(server.objects("invoice")) == 8 and len(server.objects("customer")) == 1
    engine.dispose()


def test_deliveries_racing_each_other_record_one_payment(pg_only_url: str, server: StripeServer) -> None:
    engine = make_engine(pg_only_url)
    gateway = Gateway(StripeSettings(api_key=server.state.api_key, api_base=server.url, max_network_retries=0))
    document_id, paid = paid_event(engine, server, gateway)
    succeeded = server.event("invoice.payment_succeeded", paid["data"]["object"], created=int(NOW.timestamp()))
    deliveries = [signed_event(e, SECRET, int(NOW.timestamp())) for e in (paid, paid, succeeded, paid)]

    with ThreadPoolExecutor(4) as pool:
        outcomes = list(pool.map(lambda d: handle_webhook(engine, d[0], d[1], SECRET, NOW).outcome, deliveries))

    assert sorted(outcomes).count("paid") == 1 and "refused" not in outcomes
    assert len(payments(engine)) == 1 and stored(engine, document_id)[0].status == "paid"
    engine.dispose()


def test_a_wrong_api_key_never_reaches_the_outbox_the_output_or_a_repr(
    db_url: str, db: Engine, server: StripeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The local server repeats a wrong key whole in its 401 (Stripe shows its last
    characters): the error stored in the outbox and printed by the commands masks it."""
    issue(db, 1, "PEN", [("Fee", "100.00")], "18")
    wrong = "sk_test_51WrongKeyDoNotLeakMe0123456789"
    monkeypatch.setenv("BILLING_STRIPE_API_KEY", wrong)
    monkeypatch.setenv("BILLING_STRIPE_API_BASE", server.url)
    runner = CliRunner()

    pushed = runner.invoke(app, ["--db", db_url, "stripe", "push"])
    status = runner.invoke(app, ["--db", db_url, "stripe", "status", "--json"])

    assert pushed.exit_code == 1 and "AuthenticationError" in pushed.output
    assert "sk_test_***" in json.loads(status.output)["waiting"][0]["last_error"]
    with reading(db) as session:
        row = session.exec(select(StripeOutbox)).one()
    for text in (
        pushed.output,
        status.output,
        row.last_error or "",
        repr(StripeSettings(wrong, webhook_secret=SECRET)),
    ):
        assert "WrongKeyDoNotLeakMe" not in text and SECRET not in text
