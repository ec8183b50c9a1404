"""Column types that keep money and time exact on both SQLite and PostgreSQL.

SQLite has no decimal type: SQLAlchemy's ``Numeric`` would store a float there. ``Exact``
stores a scaled integer on SQLite (so ``SUM`` stays exact in SQL) and ``NUMERIC`` on
PostgreSQL; both read back as ``Decimal``. ``Epoch`` stores instants as integer seconds
since 1970 UTC, so period bounds and the repeat-contact window are plain integer
comparisons on both engines; it reads back as an aware UTC ``datetime``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, DateTime, Numeric
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine


class Exact(TypeDecorator[Decimal]):
    """A Decimal with a fixed number of decimal places."""

    impl = Numeric
    cache_ok = True

    def __init__(self, scale: int = 4, precision: int = 24):
        super().__init__()
        self.scale = scale
        self.precision = precision
        self._factor = Decimal(10) ** scale

    def __repr__(self) -> str:
        return f"Exact(scale={self.scale}, precision={self.precision})"

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(Numeric(self.precision, self.scale, asdecimal=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if isinstance(value, float):
            raise TypeError("floats are refused for exact columns")
        number = Decimal(value)
        scaled = number * self._factor
        if scaled != scaled.to_integral_value():
            raise ValueError(f"{number} has more than {self.scale} decimal places")
        if dialect.name == "sqlite":
            return int(scaled)
        return number

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if dialect.name == "sqlite":
            # scaleb keeps the column's scale, as PostgreSQL's NUMERIC(p, s) does: same Decimal on both.
            return Decimal(int(value)).scaleb(-self.scale)
        return Decimal(value)


class Epoch(TypeDecorator[datetime]):
    """An instant stored as whole seconds since the epoch (UTC)."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> int | None:
        if value is None:
            return None
        if isinstance(value, int):
            return value
        if value.tzinfo is None:
            raise ValueError("naive datetimes are refused: an instant needs an offset")
        return int(value.timestamp())

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return datetime.fromtimestamp(int(value), tz=UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """A timestamp that is always aware UTC going in and coming out."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are refused")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
