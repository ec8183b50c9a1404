"""The finance console without a browser: who may open it, forms that only its own pages can
post, actions done once per Idempotency-Key and audited as the person's token, and refusals
shown as pages."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import select

from billing.api import create_app
from billing.storage.db import reading
from billing.storage.models import AuditEvent, Document
from tests.api.api_world import World, bearer, build


def signed_in(db: Engine, token: str, home: str = "/console") -> tuple[TestClient, str]:
    browser = TestClient(create_app(db))
    page = browser.post(f"{home}/login", data={"token": token})
    assert page.status_code == 200, page.text[:300]
    return browser, csrf_of(page.text)


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert found
    return found.group(1)


def test_only_a_finance_session_opens_the_console(db: Engine, tmp_path: Path) -> None:
    world = build(db, tmp_path)
    anonymous = TestClient(create_app(db))
    first = anonymous.get("/console/receivables", follow_redirects=False)
    assert first.status_code == 303 and first.headers["location"] == "/console/login?next=%2Fconsole%2Freceivables"
    by_bearer = anonymous.get("/console", headers=bearer(world.finance_token), follow_redirects=False)
    by_link = anonymous.get(f"/console?token={world.finance_token}", follow_redirects=False)
    assert by_bearer.status_code == by_link.status_code == 303  # a token is no way in: the sign-in page

    refused = anonymous.post("/console/login", data={"token": world.andes_token})
    assert refused.status_code == 401 and "not a valid finance token" in refused.text

    client, _ = signed_in(db, world.andes_token, "/portal")
    page = client.get("/console")
    assert page.status_code == 403 and page.headers["content-type"].startswith("text/html")
    assert "No puede abrir esta página" in page.text and "finance tokens" not in page.text  # in its language

    finance, _ = signed_in(db, world.finance_token)
    assert finance.get("/console").status_code == 200
    assert finance.get("/portal", follow_redirects=False).status_code == 403  # and the portal is for clients


def test_issuing_twice_with_one_key_issues_once_and_the_audit_names_the_person(db: Engine, tmp_path: Path) -> None:
    world = build(db, tmp_path)
    finance, csrf = signed_in(db, world.finance_token)
    form = {"csrf": csrf, "idempotency_key": "issue-nov-1"}
    url = f"/console/documents/{world.andes_draft}/issue"
    first = finance.post(url, data=form, follow_redirects=False)
    again = finance.post(url, data=form, follow_redirects=False)
    assert first.status_code == again.status_code == 303
    assert (
        first.headers["location"] == again.headers["location"] == f"/console/documents/{world.andes_draft}?done=issued"
    )
    page = finance.get(first.headers["location"])
    assert "The document was issued." in page.text and "F001-00000003" in page.text

    other_key = finance.post(url, data={**form, "idempotency_key": "issue-nov-2"})
    assert other_key.status_code == 409 and "Not done" in other_key.text  # a second issue is refused by the service
    reused = finance.post(f"/console/documents/{world.andes_invoice}/void", data={**form, "reason": "x"})
    assert reused.status_code == 422 and "already used for a different request" in reused.text

    with reading(db) as session:
        document = session.get(Document, world.andes_draft)
        trail = session.exec(
            select(AuditEvent).where(AuditEvent.entity == "document", AuditEvent.entity_id == str(world.andes_draft))
        ).all()
    assert document is not None and document.number_text == "F001-00000003"
    assert [(e.action, e.actor) for e in trail] == [("invoice.issued", "console:finance")]


def test_a_form_without_the_sessions_csrf_token_or_from_another_site_is_refused(db: Engine, tmp_path: Path) -> None:
    world = build(db, tmp_path)
    finance, csrf = signed_in(db, world.finance_token)
    url = f"/console/documents/{world.andes_draft}/issue"
    missing = finance.post(url, data={"idempotency_key": "k1"})
    forged = finance.post(url, data={"idempotency_key": "k2", "csrf": "0" * 64})
    foreign = finance.post(
        url, data={"idempotency_key": "k3", "csrf": csrf}, headers={"Origin": "https://evil.example"}
    )
    cross = finance.post(url, data={"idempotency_key": "k4", "csrf": csrf}, headers={"Sec-Fetch-Site": "cross-site"})
    other_session, other_csrf = signed_in(db, world.finance_token)
    stolen = finance.post(url, data={"idempotency_key": "k5", "csrf": other_csrf})
    huge = finance.post(
        url, content=b"csrf=" + b"a" * 40_000, headers={"content-type": "application/x-www-form-urlencoded"}
    )
    no_key = finance.post(url, data={"csrf": csrf})
    assert [r.status_code for r in (missing, forged, foreign, cross, stolen)] == [403] * 5
    assert huge.status_code == 413 and no_key.status_code == 422
    assert all(r.headers["content-type"].startswith("text/html") for r in (missing, foreign, huge, no_key))
    with reading(db) as session:
        assert session.get(Document, world.andes_draft).status == "draft"  # type: ignore[union-attr]
    assert other_session.get("/console").status_code == 200


def test_a_credit_note_from_the_review_page_is_drafted_for_review(db: Engine, tmp_path: Path) -> None:
    world: World = build(db, tmp_path)
    finance, csrf = signed_in(db, world.finance_token)
    review = finance.get(f"/console/documents/{world.andes_invoice}")
    assert "Against the previous month" in review.text  # October against September
    assert "data-difference><strong>PEN\xa0500.00" in review.text  # 15,000.00 - 14,500.00
    created = finance.post(
        f"/console/documents/{world.andes_invoice}/notes",
        data={"csrf": csrf, "idempotency_key": "cn-1", "kind": "credit_note", "amount": "100.00", "reason": "SLA"},
        follow_redirects=False,
    )
    assert created.status_code == 303
    note_id = int(created.headers["location"].split("/")[-1].split("?")[0])
    with reading(db) as session:
        note = session.get(Document, note_id)
    assert note is not None and note.status == "draft" and note.total == Decimal("118.00")  # 100.00 + IGV 18 %
    bad = finance.post(
        f"/console/documents/{world.andes_invoice}/notes",
        data={"csrf": csrf, "idempotency_key": "cn-2", "kind": "credit_note", "amount": "lots", "reason": "SLA"},
    )
    assert bad.status_code == 422 and "is not a number" in bad.text


def test_clients_search_receivables_and_the_audit_trail(db: Engine, tmp_path: Path) -> None:
    world = build(db, tmp_path)
    finance, _ = signed_in(db, world.finance_token)
    found = finance.get("/console/clients", params={"q": "iberia"})
    assert "Iberia Retail S.L." in found.text and "Andes Seguros" not in found.text
    assert "IBERIA-1" in finance.get("/console/clients", params={"q": "IBERIA-1"}).text
    owed = finance.get("/console/receivables", params={"as_of": "2026-11-30"})
    assert owed.status_code == 200 and "F001-00000002" in owed.text and "F001-00000001" not in owed.text  # paid
    assert finance.get("/console/receivables", params={"as_of": "soon"}).status_code == 422
    trail = finance.get(f"/console/documents/{world.andes_invoice}/audit")
    assert trail.status_code == 200 and "Audit trail" in trail.text


def test_the_pricing_comparison_names_each_bad_upload_and_why_nothing_could_be_priced(
    db: Engine, tmp_path: Path
) -> None:
    from tests.api.api_world import ANDES

    world = build(db, tmp_path)
    finance, csrf = signed_in(db, world.finance_token)
    form = {"csrf": csrf, "contract": "ANDES-1", "from": "2026-10", "to": "2026-10"}
    assert "Pricing comparison" in finance.get("/console/simulate").text
    broken = finance.post(
        "/console/simulate",
        data=form,
        files=[
            ("terms", ("cheaper.yaml", b"contract: [", "application/yaml")),
            ("terms", ("latin1.yaml", b"\xe9t\xe9")),
        ],
    )
    assert broken.status_code == 422 and "cheaper.yaml" in broken.text and "latin1.yaml" in broken.text
    nothing = finance.post("/console/simulate", data=form)
    assert nothing.status_code == 422 and "upload at least one contract file" in nothing.text
    dearer = ANDES.replace('amount: "12500.00"', 'amount: "13000.00"').encode()
    unmeasured = finance.post("/console/simulate", data=form, files=[("terms", ("dearer.yaml", dearer))])
    assert unmeasured.status_code == 422 and "no month of 2026-10 to 2026-10 can be priced" in unmeasured.text
    foreign = finance.post("/console/simulate", data={**form, "csrf": "x"}, files=[("terms", ("dearer.yaml", dearer))])
    assert foreign.status_code == 403
