"""Secrets masked out of text that may reach a log line or an error message.

``redact`` replaces, whatever surrounds them:

- the value of a sensitive query parameter or cookie (``token=``, ``access_token=``,
  ``api_key=``, ``secret=``, ``password=``, ``billing_session=`` ...), the parameter name
  compared after percent-decoding, so ``?%74oken=...`` is masked as well as ``?token=...``;
- the value of an ``Authorization`` header and any ``Bearer``/``Basic`` credential;
- Stripe secret and restricted keys (``sk_live_``, ``sk_test_``, ``rk_...``) and webhook
  secrets (``whsec_...``);
- any literal secret the caller names (``also``), such as the configured API key.

What is masked becomes ``***``; the rest of the text is left as it was.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import unquote_plus

MASK = "***"

#: Parameter and cookie names whose values are secrets (compared lower-case, decoded).
SENSITIVE_NAMES = frozenset(
    {
        "token",
        "access_token",
        "refresh_token",
        "id_token",
        "api_key",
        "apikey",
        "key",
        "secret",
        "client_secret",
        "password",
        "passwd",
        "session",
        "billing_session",
        "billing_token",
    }
)

_PAIR = re.compile(r"(?P<name>[A-Za-z0-9_.%+\-\[\]]+)(?P<eq>=|%3[Dd])(?P<value>[^&;\s#\"'<>,)]*)")
_AUTHORIZATION = re.compile(
    r"(?P<head>\bauthorization\b['\"]?\s*[:=,]\s*(?:b?['\"])?)(?P<value>[^'\"\r\n,}\]]+)", re.IGNORECASE
)
_CREDENTIAL = re.compile(r"\b(?P<scheme>bearer|basic)\s+(?P<value>[A-Za-z0-9\-._~+/]+=*)", re.IGNORECASE)
_STRIPE_KEY = re.compile(r"\b(?P<prefix>(?:sk|rk)_(?:live|test)_|whsec_)[A-Za-z0-9+/=_]+")


def _sensitive(name: str) -> bool:
    decoded = unquote_plus(unquote_plus(name)).strip().lower()
    return decoded in SENSITIVE_NAMES or decoded.endswith(("_token", "_secret", "_password"))


def _pair(match: re.Match[str]) -> str:
    if not _sensitive(match["name"]) or not match["value"]:
        return match[0]
    return f"{match['name']}{match['eq']}{MASK}"


def redact(text: str, also: Iterable[str] = ()) -> str:
    """``text`` with every secret it holds replaced by ``***``."""
    for secret in also:
        if secret and len(secret) >= 6:
            text = text.replace(secret, MASK)
    text = _AUTHORIZATION.sub(lambda m: f"{m['head']}{MASK}", text)
    text = _CREDENTIAL.sub(lambda m: f"{m['scheme']} {MASK}", text)
    text = _STRIPE_KEY.sub(lambda m: f"{m['prefix']}{MASK}", text)
    return _PAIR.sub(_pair, text)
