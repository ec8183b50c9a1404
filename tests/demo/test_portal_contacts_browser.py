"""'See contacts' in a real browser (issue 15, item 2): a client opens its October invoice in
the portal, follows the link on the AI-resolutions line, and reads the contacts behind it:
as many counted as the line's quantity, each one not counted with its reason; the month-so-far
card stands at the top of its statement. Playwright drives Debian's chromium (headless)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from billing.access.tokens import create_token
from billing.storage.db import transaction
from tests.api.live_server import serving

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run"]

sync_api = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium: apt-get install -y chromium")


@pytest.fixture
def browser() -> Iterator[object]:
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        yield chromium
        chromium.close()


def test_a_client_follows_see_contacts_to_the_contacts_behind_its_line(demo, browser, tmp_path):
    with transaction(demo) as session:
        _, token = create_token(session, "andino-browser", client_id="banco-andino")
        _, other = create_token(session, "iberica-browser", client_id="tienda-iberica")
    with serving(demo) as base:
        page = browser.new_page()  # type: ignore[attr-defined]
        page.goto(f"{base}/portal?token={token}&from=2026-10&to=2026-11&as_of=2026-10-16")
        assert page.locator('[data-current="BANDINO-2026"]').count() == 1
        page.get_by_role("link", name="F001-00000003").first.click()
        page.wait_for_url("**/portal/documents/*")
        document_url = page.url
        page.locator('[data-contacts="2"]').click()
        page.wait_for_url("**/lines/2")
        assert page.locator("h1").inner_text() == "Contactos de la línea 2"
        assert page.locator("[data-quantity]").inner_text() == page.locator("[data-measured]").inner_text() == "8,542"
        assert page.locator("[data-agrees]").inner_text() == "Sí"
        rows = page.locator("table.contacts tr[data-counted]")
        assert rows.count() == 200  # the first page
        assert page.locator('tr[data-counted="true"]').count() >= 1
        assert "Fuera de los canales o agentes del cargo" in page.locator("table.contacts").inner_text()
        page.locator("[data-next]").click()
        page.wait_for_url("**/lines/2?cursor=*")
        assert page.locator("table.contacts tr[data-counted]").count() == 200
        csv_answer = page.request.get(f"{document_url}/lines/2/contacts.csv")
        assert csv_answer.status == 200 and csv_answer.text().count("\n") == 51200 + 1

        stranger = browser.new_page()  # type: ignore[attr-defined]
        stranger.goto(f"{base}/portal?token={other}")
        hidden = stranger.goto(f"{document_url}/lines/2")
        assert hidden is not None and hidden.status == 404
        page.close()
        stranger.close()
