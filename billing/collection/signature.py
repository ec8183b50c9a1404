"""Stripe webhook signatures, verified strictly (no ``stripe`` import needed).

Stripe signs each delivery as ``Stripe-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>...]``
where each ``v1`` is HMAC-SHA256(secret, ``"<t>.<raw body>"``); more than one ``v1`` appears
while a secret is being rolled, and other schemes (``v0``) are ignored, as Stripe documents.

The header is parsed strictly: every part is ``name=value`` in printable ASCII (one ``=``, no space); exactly one
``t`` (digits, no sign, no leading zero); one or more ``v1`` (64 lower-case hex digits). A
second ``t``, a malformed part or an over-long header is refused. The freshness check reads
the same ``t`` that the signature covers, so a captured delivery cannot be made to look
recent by appending a newer ``t`` (the stripe library reads the first ``t``; a dict of the
parts reads the last). The HMAC is computed over the raw bytes and compared in constant time.
No message repeats any part of the header or the secret.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from datetime import datetime
from typing import Any

#: Seconds a signature stays acceptable, either side of the server's clock (Stripe's default).
TOLERANCE_SECONDS = 300
#: A real header holds one ``t`` and a few signatures: anything longer is not Stripe's.
MAX_HEADER_LENGTH = 2048
MAX_SIGNATURES = 8

_PART = re.compile(r"([a-z][a-z0-9_]{0,19})=([\x21-\x2b\x2d-\x3c\x3e-\x7e]{1,256})")  # printable, no , or =
_TIMESTAMP = re.compile(r"[1-9][0-9]{0,11}")
_V1 = re.compile(r"[0-9a-f]{64}")


class WebhookSignatureError(Exception):
    """A webhook whose signature is missing, malformed, forged or outside the time tolerance."""


def parse_header(header: str | None) -> tuple[int, list[str]]:
    """The signed timestamp and the ``v1`` signatures of a ``Stripe-Signature`` header."""
    if not header:
        raise WebhookSignatureError("no Stripe-Signature header")
    if len(header) > MAX_HEADER_LENGTH:
        raise WebhookSignatureError(f"the Stripe-Signature header is longer than {MAX_HEADER_LENGTH} characters")
    timestamp: int | None = None
    signatures: list[str] = []
    for position, part in enumerate(header.split(","), 1):
        match = _PART.fullmatch(part)
        if match is None:
            raise WebhookSignatureError(f"part {position} of the Stripe-Signature header is not name=value")
        name, value = match.groups()
        if name == "t":
            if timestamp is not None:
                raise WebhookSignatureError("the Stripe-Signature header has more than one timestamp (t)")
            if not _TIMESTAMP.fullmatch(value):
                raise WebhookSignatureError("the Stripe-Signature timestamp (t) is not a number of seconds")
            timestamp = int(value)
        elif name == "v1":
            if not _V1.fullmatch(value):
                raise WebhookSignatureError("a v1 signature is not 64 lower-case hexadecimal digits")
            signatures.append(value)
        # any other scheme is ignored, as Stripe documents
    if timestamp is None:
        raise WebhookSignatureError("the Stripe-Signature header has no timestamp (t)")
    if not signatures:
        raise WebhookSignatureError("the Stripe-Signature header has no v1 signature")
    if len(signatures) > MAX_SIGNATURES:
        raise WebhookSignatureError(f"the Stripe-Signature header has more than {MAX_SIGNATURES} v1 signatures")
    return timestamp, signatures


def signature(payload: bytes, secret: str, timestamp: int) -> str:
    """The ``v1`` signature Stripe computes for ``payload`` sent at ``timestamp``."""
    signed = str(timestamp).encode("ascii") + b"." + payload
    return hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()


def verify_webhook(
    payload: bytes, header: str | None, secret: str, now: datetime, tolerance: int = TOLERANCE_SECONDS
) -> dict[str, Any]:
    """The event, if Stripe signed ``payload`` with ``secret`` at a time within ``tolerance``
    seconds of ``now`` (either side). Raises ``WebhookSignatureError`` otherwise."""
    if not secret:
        raise WebhookSignatureError("no webhook secret is configured")
    timestamp, signatures = parse_header(header)
    expected = signature(payload, secret, timestamp)
    matched = False
    for candidate in signatures:  # every one is compared: the time taken does not depend on which matched
        matched |= hmac.compare_digest(expected, candidate)
    if not matched:
        raise WebhookSignatureError("no v1 signature matches the payload")
    if abs(now.timestamp() - timestamp) > tolerance:
        raise WebhookSignatureError(f"the signature timestamp is outside the {tolerance} s tolerance")
    try:
        event = json.loads(payload)
    except ValueError:
        raise WebhookSignatureError("the signed payload is not JSON") from None
    if not isinstance(event, dict) or not isinstance(event.get("id"), str) or not isinstance(event.get("type"), str):
        raise WebhookSignatureError("the signed payload is not a Stripe event (id and type)")
    if not event["id"] or len(event["id"]) > 100 or len(event["type"]) > 100:
        raise WebhookSignatureError("the signed event's id or type is empty or too long")
    return event
