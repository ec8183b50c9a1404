"""Month end in a real browser (Playwright driving Debian's chromium against uvicorn on
loopback), every request to anything but loopback blocked: a finance user signs in to the
console, closes July, reviews the draft and issues it; the client signs in to the portal,
switches to English, lists by service period, opens the invoice and downloads its PDF; the
API docs render offline. Screenshots of each step go to ``tests/artifacts/<database>/``.

Needs ``apt-get install -y chromium`` (Playwright's own browser download is not used).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from billing.storage.db import reading
from billing.storage.models import AuditEvent, Document
from tests.api.api_world import build
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
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
NBSP = "\xa0"

sync_api = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium: apt-get install -y chromium")


@pytest.fixture
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        yield chromium
        chromium.close()


class Offline:
    """A browser context whose every request to a host other than loopback is aborted (and
    remembered, so the test can say none was needed)."""

    def __init__(self, browser: Any, **options: Any) -> None:
        self.blocked: list[str] = []
        self.context = browser.new_context(**options)
        self.context.route("**/*", self._route)

    def _route(self, route: Any) -> None:
        host = urlsplit(route.request.url).hostname or ""
        if host in ("127.0.0.1", "localhost", "::1"):
            route.continue_()
        else:
            self.blocked.append(route.request.url)
            route.abort()


def shot(page: Any, folder: Path, name: str) -> None:
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def test_month_end_from_the_console_to_the_clients_portal(db: Engine, tmp_path: Path, browser: Any) -> None:
    world = build(db, tmp_path)
    folder = ARTIFACTS / db.dialect.name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    with serving(db) as base:
        finance = Offline(browser, locale="es-PE", viewport={"width": 1200, "height": 900})
        page = finance.context.new_page()
        page.goto(f"{base}/console")  # no session: the sign-in page, in the browser's language
        assert page.url.startswith(f"{base}/console/login?next=") and page.locator("h1").inner_text() == (
            "Consola de finanzas"
        )
        shot(page, folder, "01-console-sign-in")
        page.locator("#token").fill(world.finance_token)
        page.get_by_role("button", name="Iniciar sesión").click()
        page.wait_for_url(f"{base}/console")
        assert world.finance_token not in page.url
        page.goto(f"{base}/console?period=2026-07")
        assert page.locator("h1").inner_text() == "Periodos: Julio 2026"
        rows = page.locator("tr[data-contract]")
        assert rows.count() == 2 and page.locator("tr[data-contract='ANDES-1'] [data-state]").inner_text() == "Cerrable"
        shot(page, folder, "02-console-periods-july")

        page.locator("[data-action=close]").click()
        page.wait_for_url(re.compile(r".*/console\?period=2026-07&done=closed"))
        assert page.locator("[data-done]").is_visible()
        assert page.locator("tr[data-contract='ANDES-1'] [data-state]").inner_text() == "Borrador listo"
        shot(page, folder, "03-console-july-closed")

        page.locator("tr[data-contract='ANDES-1'] a").click()
        page.wait_for_url(re.compile(r".*/console/documents/\d+$"))
        assert page.locator("[data-status]").inner_text() == "Borrador"
        assert "Cuota mensual de S/" in page.locator("table.lines").inner_text()
        assert page.locator("[data-total]").inner_text() == f"S/{NBSP}14,750.00"  # 12,500.00 + IGV 18 %
        shot(page, folder, "04-console-draft-review")

        page.locator("[data-action=issue]").click()
        page.wait_for_url(re.compile(r".*/console/documents/\d+\?done=issued"))
        assert page.locator("[data-status]").inner_text() == "Emitida"
        title = page.locator("h1").inner_text()
        assert title.startswith("Factura F001-00000003"), title
        shot(page, folder, "05-console-issued")
        page.get_by_role("link", name="Registro de auditoría").click()
        assert [page.locator("[data-actor]").nth(i).inner_text() for i in range(2)] == ["console:finance"] * 2
        shot(page, folder, "06-console-audit-trail")
        finance.context.close()

        client = Offline(browser, locale="es-PE", viewport={"width": 1200, "height": 900}, accept_downloads=True)
        page = client.context.new_page()
        page.goto(f"{base}/portal")
        assert page.locator("h1").inner_text() == "Portal de clientes"
        shot(page, folder, "07-portal-sign-in")
        page.locator("#token").fill(world.andes_token)
        page.get_by_role("button", name="Iniciar sesión").click()
        page.wait_for_url(f"{base}/portal")
        assert page.locator("h1").inner_text() == "Estado de cuenta"
        shot(page, folder, "08-portal-statement-es")

        page.locator("[data-language=en]").click()
        page.wait_for_load_state()
        assert page.locator("h1").inner_text() == "Statement of account"
        assert page.locator("html").get_attribute("lang") == "en"
        page.locator("select[name=basis]").select_option("service")
        page.get_by_role("button", name="Show").click()
        page.wait_for_url(re.compile(r".*basis=service.*"))
        assert "By service period" in page.locator("[data-range]").inner_text()
        shot(page, folder, "09-portal-statement-en-by-service-period")

        page.get_by_role("link", name="F001-00000003").first.click()
        page.wait_for_url(re.compile(r".*/portal/documents/\d+$"))
        assert page.locator("[data-number]").inner_text() == "F001-00000003"
        assert "Monthly fee of PEN" in page.locator("table.lines").inner_text()
        shot(page, folder, "10-portal-invoice-en")
        with page.expect_download() as download:
            page.get_by_role("link", name="Download PDF").click()
        saved = folder / "F001-00000003.pdf"
        download.value.save_as(saved)
        assert saved.read_bytes().startswith(b"%PDF") and download.value.suggested_filename == "F001-00000003.pdf"
        if shutil.which("pdftoppm"):
            subprocess.run(
                ["pdftoppm", "-png", "-r", "70", "-f", "1", "-l", "1", str(saved), str(folder / "11-pdf")], check=True
            )

        page.set_viewport_size({"width": 390, "height": 844})  # a phone
        page.reload()
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        shot(page, folder, "12-portal-invoice-phone")
        page.goto(f"{base}/portal")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        shot(page, folder, "13-portal-statement-phone")
        assert page.goto(f"{base}/console").status == 403  # a client's session never opens the console
        page.set_viewport_size({"width": 1200, "height": 900})

        page.goto(f"{base}/docs")
        page.locator(".swagger-ui .info .title").wait_for()
        assert "BPO billing API" in page.locator(".swagger-ui .info .title").inner_text()
        assert page.locator(".opblock").count() > 10
        shot(page, folder, "14-api-docs-offline")
        assert client.blocked == [] and finance.blocked == []
        client.context.close()

    with reading(db) as session:
        issued = session.exec(select(Document).where(Document.number_text == "F001-00000003")).one()
        trail = session.exec(
            select(AuditEvent).where(AuditEvent.entity == "document", AuditEvent.entity_id == str(issued.id))
        ).all()
    assert issued.period == "2026-07" and issued.total == Decimal("14750.00")
    assert sorted(e.action for e in trail) == ["invoice.drafted", "invoice.issued"]
    assert {e.actor for e in trail} == {"console:finance"}
