"""Secrets are masked out of text bound for a log or an error message."""

from __future__ import annotations

import pytest

from billing.core.redaction import redact

SECRET = "Zq3x_Secret-Value.42"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f'"GET /portal?token={SECRET} HTTP/1.1" 303', '"GET /portal?token=*** HTTP/1.1" 303'),
        (f"/portal?from=2026-01&token={SECRET}&to=2026-03", "/portal?from=2026-01&token=***&to=2026-03"),
        (f"/portal?%74oken={SECRET}", "/portal?%74oken=***"),  # the name percent-encoded
        (f"/portal?%2574oken={SECRET}", "/portal?%2574oken=***"),  # and twice
        (f"/portal?TOKEN={SECRET}", "/portal?TOKEN=***"),
        (f"/portal?token%3D{SECRET}", "/portal?token%3D***"),
        (f"/x?access_token={SECRET}&api_key={SECRET}", "/x?access_token=***&api_key=***"),
        (f"/x?stripe_secret={SECRET}#frag", "/x?stripe_secret=***#frag"),
        (f"Cookie: billing_session={SECRET}; lang=es", "Cookie: billing_session=***; lang=es"),
        (f"Authorization: Bearer {SECRET}", "Authorization: ***"),
        (f"{{'authorization': 'Bearer {SECRET}', 'host': 'x'}}", "{'authorization': '***', 'host': 'x'}"),
        (f"(b'authorization', b'Basic {SECRET}')", "(b'authorization', b'***')"),
        (f"sent Bearer {SECRET} upstream", "sent Bearer *** upstream"),
        (
            "Invalid API Key provided: sk_live_51HxAbCdEf0123456789",
            "Invalid API Key provided: sk_live_***",
        ),
        ("key rk_test_abcDEF123 and whsec_QWErty987+/=", "key rk_test_*** and whsec_***"),
        # what is not a secret is left alone
        ("/portal?from=2026-09&to=2026-11", "/portal?from=2026-09&to=2026-11"),
        ("GET /v1/documents?status=issued&kind=invoice", "GET /v1/documents?status=issued&kind=invoice"),
        ("token= with nothing after", "token= with nothing after"),
        ("Idempotency-Key: pay-oct-1", "Idempotency-Key: pay-oct-1"),
    ],
)
def test_secrets_are_masked_and_the_rest_is_kept(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_a_named_secret_is_masked_wherever_it_appears() -> None:
    assert redact(f"connect failed for {SECRET}!", also=[SECRET, ""]) == "connect failed for ***!"
