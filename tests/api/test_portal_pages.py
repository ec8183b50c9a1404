"""The portal as a client reads it: the months it shows by default, by document date or by
service period, documents flagged overdue or partly paid, the language (the client's, the
reader's choice, remembered), and errors as pages in that language."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi import HTTPException
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from billing.api import create_app
from billing.api.pages import accepted, locale_for
from billing.api.routes.portal import closed_range
from billing.core.periods import Period
from billing.statements.store import load_statement
from billing.storage.db import reading
from tests.api.api_world import build

DEC_3 = datetime(2026, 12, 3, 12, tzinfo=UTC)


def test_the_statement_shows_the_last_twelve_closed_months_and_never_a_month_to_come() -> None:
    assert closed_range(None, None, DEC_3) == (Period(2025, 12), Period(2026, 11))
    assert closed_range("2026-10", "2027-05", DEC_3) == (Period(2026, 10), Period(2026, 12))
    assert closed_range(None, "2026-06", DEC_3) == (Period(2025, 7), Period(2026, 6))
    with pytest.raises(HTTPException):
        closed_range("2027-01", None, DEC_3)


def test_by_service_period_a_month_holds_its_invoice_whenever_it_was_issued(db: Engine, tmp_path: Path) -> None:
    build(db, tmp_path)  # September's invoice (17,110.00) was issued on 3 October and paid on 2 November
    september = Period(2026, 9)
    with reading(db) as session:
        issued = load_statement(session, "andes", september, september, date(2026, 11, 30))
        service = load_statement(session, "andes", september, september, date(2026, 11, 30), basis="service")
        before = load_statement(session, "andes", Period(2026, 10), Period(2026, 10), date(2026, 11, 30), "service")
    assert issued.documents == () and issued.accounts == ()
    [account] = service.accounts
    assert [e.reference for e in account.entries] == ["F001-00000001", "F001-00000001"]
    assert account.charges == Decimal("17110.00") and account.closing == Decimal("0.00")
    assert service.closing_on == date(2026, 11, 30)  # the payment came after September: dated the statement's day
    [october] = before.accounts  # September is brought forward: charged and paid, nothing owed
    assert october.opening == Decimal("0.00") and october.closing == Decimal("17110.00")  # 17,700.00 - 590.00


def test_the_portal_flags_a_partly_paid_invoice_and_speaks_the_clients_language(db: Engine, tmp_path: Path) -> None:
    world = build(db, tmp_path)
    browser = TestClient(create_app(db), headers={"Accept-Language": "en-US,en;q=0.9"})
    page = browser.get(f"/portal?token={world.andes_token}&from=2026-09&to=2026-11")
    assert page.status_code == 200 and '<html lang="es">' in page.text  # the client's locale before the browser's
    assert 'data-flag="partly-paid">· Pagado en parte' in page.text  # October: 17,700.00 less a 590.00 credit note
    assert page.text.count('data-flag="partly-paid"') == 1
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page.text)
    assert csrf

    forged = browser.post("/portal/language", data={"language": "en", "next": "/portal"})
    assert forged.status_code == 403 and '<html lang="es">' in forged.text
    switched = browser.post(
        "/portal/language",
        data={"language": "en", "next": "/portal?from=2026-09&to=2026-11", "csrf": csrf.group(1)},
        follow_redirects=False,
    )
    assert switched.status_code == 303 and switched.headers["location"] == "/portal?from=2026-09&to=2026-11"
    document = browser.get(f"/portal/documents/{world.andes_invoice}")  # remembered by the session
    assert '<html lang="en">' in document.text and "Partly paid" in document.text and "Lines" in document.text
    unknown = browser.post("/portal/language", data={"language": "fr", "next": "/portal", "csrf": csrf.group(1)})
    assert unknown.status_code == 422


def test_errors_and_invalid_parameters_are_pages_in_the_readers_language(db: Engine, tmp_path: Path) -> None:
    world = build(db, tmp_path)
    browser = TestClient(create_app(db))
    browser.get(f"/portal?token={world.andes_token}")
    for url in (
        "/portal?from=2026-13",
        "/portal?from=2026-11&to=2026-01",
        "/portal?basis=whenever",
        f"/portal/documents/{world.iberia_invoice}",
        "/portal/documents/x",
        "/portal/nowhere",
    ):
        page = browser.get(url)
        assert page.status_code in (404, 422), url
        assert page.headers["content-type"].startswith("text/html") and '<html lang="es">' in page.text, url
        assert "Volver a la página de inicio" in page.text and '{"detail"' not in page.text, url
    api = browser.get("/v1/clients/x")  # the API still answers JSON
    assert api.headers["content-type"] == "application/json"


@pytest.mark.parametrize(
    ("chosen", "client", "header", "locale"),
    [
        (None, "es_PE", "en-US", "es_PE"),
        ("en", "es_PE", None, "en_US"),
        ("en", "en_GB", None, "en_GB"),
        ("es", "en_US", "es-MX,es;q=0.8", "es_MX"),
        ("es", "en_US", None, "es_US"),
        (None, None, "es-ES,es;q=0.9,en;q=0.5", "es_ES"),
        (None, None, "fr-FR", "en_US"),
        (None, None, "x" * 600, "en_US"),
    ],
)
def test_the_readers_locale(chosen: str | None, client: str | None, header: str | None, locale: str) -> None:
    assert locale_for(chosen, client, header) == locale


def test_accept_language_picks_one_of_our_languages() -> None:
    assert accepted("de-DE,es-PE;q=0.7,en;q=0.3") == "es_PE"
    assert accepted("*") is None and accepted(None) is None
