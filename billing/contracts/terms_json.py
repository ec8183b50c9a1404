"""Contract terms as JSON-ready data (for ``contracts show``, the API and statements)."""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal
from enum import Enum
from typing import Any

from billing.contracts.terms import ContractTerms
from billing.core.periods import Period


def terms_to_json(terms: ContractTerms) -> dict[str, Any]:
    data = _plain(terms)
    assert isinstance(data, dict)
    data["currency"] = terms.currency.code
    data["minor_units"] = terms.currency.minor_units
    return data


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        if isinstance(value, Period):
            return str(value)
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    return value
