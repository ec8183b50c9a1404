"""A field reader that records problems (with file, line and field) instead of raising on the
first one, so a user sees every problem of a file at once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar

from billing.contracts.language.yaml_source import LineDict, LineList
from billing.core import limits
from billing.core.problems import Problem

T = TypeVar("T")


class Reader:
    def __init__(self, source: str):
        self.source = source
        self.problems: list[Problem] = []

    def problem(self, code: str, message: str, where: Any, path: str, key: str | None = None) -> None:
        line = None
        if isinstance(where, LineDict):
            line = where.key_lines.get(key, where.line) if key else where.line
        elif isinstance(where, LineList):
            line = where.line
        elif isinstance(where, int):
            line = where
        self.problems.append(Problem(code, message, self.source, line, path))

    # Field readers: each returns None (and records a problem) when the value is unusable.

    def field(self, m: LineDict, key: str, path: str, required: bool = True) -> Any:
        if key not in m or m[key] is None:
            if required:
                self.problem("missing", "is required", m, join(path, key))
            return None
        return m[key]

    def text(
        self,
        m: LineDict,
        key: str,
        path: str,
        required: bool = True,
        domain: limits.TextDomain = limits.DESCRIPTION,
    ) -> str | None:
        """Text within ``domain`` (``billing.core.limits``): by default printable, on one line,
        at most 500 characters; identifiers pass their own domain."""
        value = self.field(m, key, path, required)
        if value is None:
            return None
        if isinstance(value, dict | list | bool):
            self.problem("type", "must be text", m, join(path, key), key)
            return None
        text = str(value).strip()
        if not text:
            self.problem("empty", "must not be empty", m, join(path, key), key)
            return None
        reason = domain.problem(text)
        if reason is not None:
            self.problem("invalid_text", reason, m, join(path, key), key)
            return None
        return text

    def number(
        self,
        m: LineDict,
        key: str,
        path: str,
        required: bool = True,
        minimum: Decimal | None = Decimal(0),
        strictly_positive: bool = False,
        maximum: Decimal = limits.MAX_AMOUNT,
        places: int = limits.PRICE_PLACES,
    ) -> Decimal | None:
        """A number within ``minimum`` .. ``maximum`` with at most ``places`` decimal places (by
        default the bounds of an amount or price: ``billing.core.limits``)."""
        value = self.field(m, key, path, required)
        if value is None:
            return None
        where = join(path, key)
        if isinstance(value, bool) or not isinstance(value, int | str | Decimal):
            self.problem("number", f"must be a number, got {value!r}", m, where, key)
            return None
        if isinstance(value, Decimal):
            number: Decimal | None = value
        elif isinstance(value, int):
            number = Decimal(value) if abs(value) < 10**30 else None
        else:
            number = limits.parse_decimal(value)
        if number is None or not number.is_finite():
            self.problem("number", f"must be a number, got {limits.shown(str(value))}", m, where, key)
            return None
        if number > maximum:
            self.problem("range", f"must be at most {maximum:,}, got {limits.shown(str(value))}", m, where, key)
            return None
        reason = limits.places_problem(number, places)
        if reason is not None:
            self.problem("range", reason, m, where, key)
            return None
        if strictly_positive and number <= 0:
            self.problem("negative", f"must be greater than zero, got {value}", m, where, key)
            return None
        if minimum is not None and number < minimum:
            self.problem("negative", f"must not be below {minimum}, got {value}", m, where, key)
            return None
        return number

    def integer(
        self,
        m: LineDict,
        key: str,
        path: str,
        required: bool = True,
        minimum: int = 0,
        maximum: int = 10**12,
    ) -> int | None:
        number = self.number(m, key, path, required, Decimal(minimum), maximum=Decimal(maximum))
        if number is None:
            return None
        if number != number.to_integral_value():
            self.problem("integer", f"must be a whole number, got {number}", m, join(path, key), key)
            return None
        return int(number)

    def day(self, m: LineDict, key: str, path: str, required: bool = True) -> date | None:
        value = self.field(m, key, path, required)
        if value is None:
            return None
        if isinstance(value, datetime) or not isinstance(value, date):
            try:
                value = date.fromisoformat(str(value))
            except ValueError:
                shown = limits.shown(str(value))
                self.problem("date", f"must be a calendar date YYYY-MM-DD, got {shown}", m, join(path, key), key)
                return None
        reason = limits.date_problem(value)
        if reason is not None:
            self.problem("date", reason, m, join(path, key), key)
            return None
        return value

    def boolean(self, m: LineDict, key: str, path: str, default: bool) -> bool:
        value = m.get(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            self.problem("boolean", f"must be true or false, got {value!r}", m, join(path, key), key)
            return default
        return value

    def mapping(self, m: LineDict, key: str, path: str, required: bool = True) -> LineDict | None:
        value = self.field(m, key, path, required)
        if value is None:
            return None
        if not isinstance(value, LineDict):
            self.problem("type", "must be a mapping", m, join(path, key), key)
            return None
        return value

    def sequence(self, m: LineDict, key: str, path: str, required: bool = True) -> LineList | None:
        value = self.field(m, key, path, required)
        if value is None:
            return None
        if not isinstance(value, LineList):
            self.problem("type", "must be a list", m, join(path, key), key)
            return None
        return value

    def choice(
        self,
        m: LineDict,
        key: str,
        path: str,
        enum: Callable[[str], T],
        allowed: list[str],
        required: bool = True,
        what: str = "value",
    ) -> T | None:
        value = self.text(m, key, path, required)
        if value is None:
            return None
        if value not in allowed:
            self.problem(
                f"unknown_{what.replace(' ', '_')}",
                f"unknown {what} {value!r}; expected one of {', '.join(allowed)}",
                m,
                join(path, key),
                key,
            )
            return None
        return enum(value)

    def unknown_keys(self, m: LineDict, allowed: set[str], path: str) -> None:
        for key in m:
            if key not in allowed:
                self.problem("unknown_field", f"unknown field {key!r}", m, join(path, key), key)


def join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def items(seq: LineList, path: str) -> list[tuple[int, str, Any]]:
    return [(seq.item_lines[i], f"{path}[{i}]", item) for i, item in enumerate(seq)]
