"""What every table module shares: exact amount and quantity columns, and ``utcnow``."""

from __future__ import annotations

from datetime import UTC, datetime

from billing.storage.types import Exact

AMOUNT = Exact(scale=4, precision=24)
QUANTITY = Exact(scale=6, precision=26)


def utcnow() -> datetime:
    return datetime.now(UTC)
