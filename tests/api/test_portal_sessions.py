"""The portal trades its token for a session and nothing logs a secret (issue 13, item 12a).

The reproduction runs the real ``billing serve``: ``GET /portal?token=SECRET`` was written to
its access log. Now the token is exchanged for a server-side session (cookie), the browser is
sent to the same address without it, and the access log masks any ``token=`` that reaches it.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import select

from billing.access import sessions
from billing.access.tokens import authenticate, revoke_token
from billing.api import create_app
from billing.api.routes.portal_login import safe_next
from billing.storage.db import reading, transaction
from billing.storage.models import ApiToken, PortalSession
from tests.api.api_world import World, bearer, build
from tests.api.live_server import billing_serve

T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def session_cookie(response: httpx.Response) -> str:
    [header] = [h for h in response.headers.get_list("set-cookie") if h.startswith("billing_session=")]
    return header


def test_the_real_server_logs_no_token_and_its_cookie_opens_the_portal(db_url: str, db: Engine, tmp_path: Path) -> None:
    world = build(db, tmp_path)
    secret = world.andes_token
    output = tmp_path / "serve.log"

    with billing_serve(db_url, output) as served, httpx.Client(base_url=served.base) as http:
        signed = http.get(f"/portal?token={secret}&from=2026-09&to=2026-11", follow_redirects=False)
        location = signed.headers["location"]
        cookie = session_cookie(signed)
        session_secret = cookie.split(";")[0].split("=", 1)[1]
        page = http.get(location)  # the client keeps the cookie
        document = http.get(f"/portal/documents/{world.andes_invoice}")
        # direct hits that put secrets where a log could see them
        http.get(f"/portal/documents/{world.andes_invoice}?token={secret}", follow_redirects=False)
        http.get(f"/portal?%74oken={secret}", follow_redirects=False)
        http.get(f"/nowhere?token={secret}&key={secret}")
        http.get("/v1/clients", headers=bearer(world.finance_token))
        http.post("/portal/login", data={"token": secret}, follow_redirects=False)
        revoked = http.get(f"/portal?token={world.revoked_token}")
        fresh = httpx.get(f"{served.base}/portal/documents/{world.andes_invoice}", follow_redirects=False)

    log = output.read_text()
    assert signed.status_code == 303 and location == "/portal?from=2026-09&to=2026-11"
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie and "Secure" not in cookie
    assert page.status_code == 200 and "Estado de cuenta" in page.text
    assert document.status_code == 200 and "F001-00000002" in document.text
    assert revoked.status_code == 401 and "not valid" in revoked.text and "<form" in revoked.text
    assert fresh.status_code == 303 and fresh.headers["location"].startswith("/portal/login?next=%2Fportal%2Fdocuments")
    assert re.search(r'"GET /portal\?token=\*\*\*&from=2026-09&to=2026-11 HTTP/1\.1" 303', log), log
    assert "%74oken=***" in log and "/nowhere?token=***&key=***" in log
    for leaked in (secret, world.revoked_token, world.finance_token, session_secret):
        assert leaked not in log


def test_x_forwarded_proto_makes_the_cookie_secure_only_from_a_configured_proxy(
    db_url: str, db: Engine, tmp_path: Path
) -> None:
    world = build(db, tmp_path)
    https = {"X-Forwarded-Proto": "https"}
    url = f"/portal?token={world.andes_token}"
    with billing_serve(db_url, tmp_path / "direct.log") as served:
        direct = httpx.get(served.base + url, headers=https, follow_redirects=False)
    with billing_serve(db_url, tmp_path / "proxied.log", "--forwarded-allow-ips", "127.0.0.1") as served:
        proxied = httpx.get(served.base + url, headers=https, follow_redirects=False)

    assert "Secure" not in session_cookie(direct)
    assert "Secure" in session_cookie(proxied)


def test_the_cookie_is_secure_over_https(db: Engine, tmp_path: Path) -> None:
    world = build(db, tmp_path)
    client = TestClient(create_app(db), base_url="https://portal.example")
    signed = client.get(f"/portal?token={world.andes_token}", follow_redirects=False)
    assert "Secure" in session_cookie(signed)


def test_sessions_are_stored_hashed_slide_expire_and_die_with_their_token(db: Engine, tmp_path: Path) -> None:
    world = build(db, tmp_path)
    with reading(db) as session:
        principal = authenticate(session, world.andes_token)
    assert principal is not None
    secret = sessions.open_session(db, principal, T0)
    with reading(db) as session:
        [row] = session.exec(select(PortalSession)).all()
    assert row.secret_hash != secret and len(secret) >= 43 and secret not in row.secret_hash

    hour = timedelta(hours=1)
    assert sessions.current(db, secret, T0 + 7 * hour) == principal  # used: idle expiry moves on
    assert sessions.current(db, secret, T0 + 14 * hour) == principal  # 7 h after the last use
    assert sessions.current(db, secret, T0 + 22 * hour + timedelta(minutes=1)) is None  # 8 h idle
    other = sessions.open_session(db, principal, T0)
    for hours in range(7, 24, 7):  # used every 7 hours: alive until 24 h after sign-in, not after
        assert sessions.current(db, other, T0 + hours * hour) == principal
    assert sessions.current(db, other, T0 + 24 * hour) is None
    assert sessions.current(db, "not-a-session", T0) is None and sessions.current(db, "x" * 5000, T0) is None

    third = sessions.open_session(db, principal, T0 + 30 * hour)  # opening purges the expired ones
    with reading(db) as session:
        assert len(session.exec(select(PortalSession)).all()) == 1
    with transaction(db) as session:
        token = session.exec(select(ApiToken).where(ApiToken.id == principal.token_id)).one()
        revoke_token(session, token.id or 0)
    assert sessions.current(db, third, T0 + 30 * hour) is None


def test_revoking_the_token_or_signing_out_ends_the_browser_session(db: Engine, tmp_path: Path) -> None:
    world = build(db, tmp_path)
    browser = TestClient(create_app(db))
    assert browser.get(f"/portal?token={world.andes_token}").status_code == 200
    assert browser.get(f"/portal/documents/{world.andes_invoice}").status_code == 200

    out = browser.post("/portal/logout", follow_redirects=False)
    after = browser.get(f"/portal/documents/{world.andes_invoice}", follow_redirects=False)
    assert out.status_code == 303 and after.status_code == 303 and "/portal/login" in after.headers["location"]

    assert browser.post("/portal/login", data={"token": world.andes_token}).status_code == 200
    with transaction(db) as session:
        andes = session.exec(select(ApiToken).where(ApiToken.name == "andes portal")).one()
        revoke_token(session, andes.id or 0)
    revoked = browser.get("/portal", follow_redirects=False)
    # the browser still holds the cookie: the sign-in page says its session ended
    assert revoked.status_code == 303 and revoked.headers["location"] == "/portal/login?next=%2Fportal&expired=1"
    ended = browser.get(revoked.headers["location"])
    assert ended.status_code == 200 and "Your session has ended. Please sign in again." in ended.text


def test_the_sign_in_form(db: Engine, tmp_path: Path) -> None:
    world = build(db, tmp_path)
    browser = TestClient(create_app(db))
    page = browser.get("/portal/documents/1", follow_redirects=True)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert 'name="token"' in page.text and 'value="/portal/documents/1"' in page.text

    bad = browser.post("/portal/login", data={"token": "nope", "next": "/portal/documents/1"})
    finance = browser.post("/portal/login", data={"token": world.finance_token})
    foreign = browser.post(
        "/portal/login", data={"token": world.andes_token}, headers={"Origin": "https://evil.example"}
    )
    huge = browser.post("/portal/login", content=b"token=" + b"a" * 10_000)
    crowded = browser.post("/portal/login", content="&".join(f"f{n}=1" for n in range(20)).encode())
    good = browser.post(
        "/portal/login",
        data={"token": world.andes_token, "next": f"/portal/documents/{world.andes_invoice}"},
        follow_redirects=False,
    )

    assert bad.status_code == finance.status_code == 401 and "not valid" in bad.text
    assert foreign.status_code == 403 and "billing_session" not in foreign.headers.get("set-cookie", "")
    assert huge.status_code == 413 and crowded.status_code == 400  # found by schemathesis: was a 500
    assert good.status_code == 303 and good.headers["location"] == f"/portal/documents/{world.andes_invoice}"
    assert browser.get(good.headers["location"]).status_code == 200


@pytest.mark.parametrize(
    ("asked", "sent"),
    [
        ("/portal/documents/7", "/portal/documents/7"),
        ("/portal?from=2026-01&token=x&to=2026-03", "/portal?from=2026-01&to=2026-03"),
        ("https://evil.example/portal", "/portal"),
        ("//evil.example/portal", "/portal"),
        ("/\\evil.example", "/portal"),
        ("/v1/clients", "/portal"),
        ("/portalx", "/portal"),
        ("/portal/login", "/portal"),
        ("/portal\r\nSet-Cookie: x=1", "/portal"),
        ("", "/portal"),
    ],
)
def test_after_signing_in_the_browser_only_goes_to_a_portal_page(asked: str, sent: str) -> None:
    assert safe_next(asked) == sent


def test_a_program_may_still_read_the_portal_with_a_bearer_token(client_world: tuple[TestClient, World]) -> None:
    client, world = client_world
    assert client.get("/portal", headers=bearer(world.andes_token)).status_code == 200
    assert client.get("/portal", headers=bearer(world.revoked_token)).status_code == 401
    assert client.get("/portal", headers=bearer(world.finance_token)).status_code == 403


@pytest.fixture
def client_world(db: Engine, tmp_path: Path) -> tuple[TestClient, World]:
    return TestClient(create_app(db)), build(db, tmp_path)
