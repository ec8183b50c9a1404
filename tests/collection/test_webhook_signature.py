"""The ``Stripe-Signature`` header is parsed strictly and the signed timestamp is the one
checked for freshness (issue 13, item 2). Pure: no database, no server."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from billing.collection.signature import WebhookSignatureError, signature, verify_webhook
from tests.collection.stripe_server import sign

NOW = datetime(2026, 11, 5, 15, 0, tzinfo=UTC)
T = int(NOW.timestamp())
SECRET = "whsec_test_secret"
PAYLOAD = json.dumps({"id": "evt_1", "type": "invoice.paid", "data": {"object": {"id": "in_1"}}}).encode()


def v1(timestamp: int, secret: str = SECRET, payload: bytes = PAYLOAD) -> str:
    return signature(payload, secret, timestamp)


def test_our_signature_is_stripes() -> None:
    assert sign(PAYLOAD, SECRET, T) == f"t={T},v1={v1(T)}"
    assert verify_webhook(PAYLOAD, sign(PAYLOAD, SECRET, T), SECRET, NOW)["id"] == "evt_1"


def test_a_stale_signature_with_a_fresh_timestamp_appended_is_refused() -> None:
    """The reproduction: signed ten minutes ago, ``,t=<now>`` appended. The freshness check
    read the last ``t`` and the signature check the first, so this was accepted."""
    old = T - 600
    with pytest.raises(WebhookSignatureError, match="more than one timestamp"):
        verify_webhook(PAYLOAD, f"t={old},v1={v1(old)},t={T}", SECRET, NOW)
    with pytest.raises(WebhookSignatureError, match="more than one timestamp"):
        verify_webhook(PAYLOAD, f"t={T},t={old},v1={v1(old)}", SECRET, NOW)
    with pytest.raises(WebhookSignatureError, match="tolerance"):
        verify_webhook(PAYLOAD, f"t={old},v1={v1(old)}", SECRET, NOW)


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (None, "no Stripe-Signature"),
        ("", "no Stripe-Signature"),
        (f"t={T}", "no v1 signature"),
        (f"v1={v1(T)}", "no timestamp"),
        (f"t={T},t={T},v1={v1(T)}", "more than one timestamp"),  # even the same value twice
        (f"t={T},v1={v1(T)},", "part 3"),  # an empty part
        (f"t={T},,v1={v1(T)}", "part 2"),
        (f"t={T}, v1={v1(T)}", "part 2"),  # whitespace is not Stripe's
        (f"t={T},v1", "part 2"),
        (f"t={T},v1==={v1(T)}", "part 2"),
        (f"=1,t={T},v1={v1(T)}", "part 1"),
        (f"t=+{T},v1={v1(T)}", "not a number"),
        (f"t=0{T},v1={v1(T)}", "not a number"),
        (f"t={T}.5,v1={v1(T)}", "not a number"),
        ("t=abc,v1=00", "not a number"),
        (f"t={T},v1={v1(T).upper()}", "64 lower-case"),
        (f"t={T},v1={v1(T)[:-1]}", "64 lower-case"),
        (f"t={T},v1={v1(T)}\x00", "part 2"),
        (f"t={T},v1={v1(T)}é", "part 2"),
        (f"t={T}," + ",".join(["v0=" + "a" * 60] * 40), "longer than"),
        (f"t={T}," + ",".join([f"v1={v1(T - 1)}"] * 9), "more than 8"),
        (f"t={T},v1={v1(T, 'whsec_other')}", "no v1 signature matches"),
        (f"t={T},v1={v1(T - 1)}", "no v1 signature matches"),  # signed for another time
    ],
)
def test_malformed_or_forged_headers_are_refused(header: str | None, reason: str) -> None:
    with pytest.raises(WebhookSignatureError, match=reason) as refused:
        verify_webhook(PAYLOAD, header, SECRET, NOW)
    assert SECRET not in str(refused.value) and v1(T) not in str(refused.value)


def test_unknown_schemes_are_ignored_and_any_v1_may_match() -> None:
    """Stripe sends ``v0`` test signatures and several ``v1`` while a secret is rolled."""
    header = f"t={T},v0=deadbeef,v1={v1(T, 'whsec_old')},v1={v1(T)},future_scheme=x"
    assert verify_webhook(PAYLOAD, header, SECRET, NOW)["type"] == "invoice.paid"


def test_the_tolerance_is_either_side_of_now_on_the_signed_timestamp() -> None:
    for offset, accepted in [(-300, True), (300, True), (-301, False), (301, False)]:
        header = sign(PAYLOAD, SECRET, T + offset)
        if accepted:
            assert verify_webhook(PAYLOAD, header, SECRET, NOW)["id"] == "evt_1"
        else:
            with pytest.raises(WebhookSignatureError, match="tolerance"):
                verify_webhook(PAYLOAD, header, SECRET, NOW)


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"\xff\xfe\x00garbage", "not JSON"),
        (b"[1, 2]", "not a Stripe event"),
        (json.dumps({"id": 5, "type": "x"}).encode(), "not a Stripe event"),
        (json.dumps({"id": "e" * 101, "type": "x"}).encode(), "too long"),
    ],
)
def test_a_signed_payload_that_is_not_an_event_is_refused_not_a_crash(payload: bytes, reason: str) -> None:
    with pytest.raises(WebhookSignatureError, match=reason):
        verify_webhook(payload, sign(payload, SECRET, T), SECRET, NOW)


def test_no_secret_verifies_nothing() -> None:
    with pytest.raises(WebhookSignatureError, match="no webhook secret"):
        verify_webhook(PAYLOAD, sign(PAYLOAD, "", T), "", NOW)
