"""The portal in a real browser: Playwright driving Debian's chromium (headless) against
uvicorn on loopback. A client opens the portal with its token, reads its statement in its
own language, opens an invoice, downloads the PDF, and cannot open another client's invoice.

Needs ``apt-get install -y chromium`` (Playwright's own browser download is not used).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.api.api_world import World, build
from tests.api.live_server import serving

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
NBSP = "\xa0"

sync_api = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium: apt-get install -y chromium")


@pytest.fixture
def browser() -> Iterator[object]:
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        yield chromium
        chromium.close()


def test_client_reads_its_statement_opens_an_invoice_and_downloads_the_pdf(
    db: Engine, tmp_path: Path, browser: object
) -> None:
    world: World = build(db, tmp_path)
    with serving(db) as base:
        context = browser.new_context(accept_downloads=True)  # type: ignore[attr-defined]
        page = context.new_page()
        page.goto(f"{base}/portal?token={world.andes_token}&from=2026-09&to=2026-11")
        assert "token=" not in page.url and page.url.endswith("/portal?from=2026-09&to=2026-11")
        cookie = next(c for c in context.cookies() if c["name"] == "billing_session")
        assert cookie["httpOnly"] and cookie["sameSite"] == "Lax" and world.andes_token not in cookie["value"]

        assert page.locator("h1").inner_text() == "Estado de cuenta"
        assert page.locator("[data-closing]").inner_text() == f"S/{NBSP}17,110.00"
        assert page.locator("html").get_attribute("lang") == "es"
        assert page.locator("svg.chart polyline").count() >= 1  # the KPI trend
        assert "Setiembre 2026" in page.locator("body").inner_text()

        page.get_by_role("link", name="F001-00000002").first.click()
        page.wait_for_url(f"**/portal/documents/{world.andes_invoice}")
        assert page.locator("[data-total]").inner_text() == f"S/{NBSP}17,700.00"
        assert page.locator("[data-number]").inner_text() == "F001-00000002"
        assert "Cómo se calculó" in page.locator("table.lines").inner_text()

        with page.expect_download() as download_info:
            page.get_by_role("link", name="Descargar PDF").click()
        saved = tmp_path / "invoice.pdf"
        download_info.value.save_as(saved)
        assert saved.read_bytes().startswith(b"%PDF")
        assert download_info.value.suggested_filename == "F001-00000002.pdf"

        other = page.goto(f"{base}/portal/documents/{world.iberia_invoice}")
        assert other is not None and other.status == 404
        other_pdf = page.request.get(f"{base}/portal/documents/{world.iberia_invoice}/pdf")
        assert other_pdf.status == 404
        context.close()


def test_a_spanish_client_sees_euros_the_spanish_way(db: Engine, tmp_path: Path, browser: object) -> None:
    world = build(db, tmp_path)
    with serving(db) as base:
        page = browser.new_page()  # type: ignore[attr-defined]
        page.goto(f"{base}/portal?token={world.iberia_token}&from=2026-10&to=2026-11")
        assert page.locator("[data-closing]").inner_text() == f"1.210,00{NBSP}€"
        assert "Octubre 2026" in page.locator("body").inner_text()
        revoked = page.goto(f"{base}/portal?token={world.revoked_token}")
        assert revoked is not None and revoked.status == 401
        page.close()
