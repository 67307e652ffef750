"""Exact decimal columns stored as scaled integers: portable and exact on SQLite and PostgreSQL.

SQLite has no exact decimal type (NUMERIC columns hold floats), so money is kept as integer
kopecks and quantities as integer ten-thousandths. SQL `SUM` over them stays exact, and the Python
side only ever sees `Decimal`.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import BigInteger, Integer
from sqlalchemy.types import TypeDecorator


class ScaledDecimal(TypeDecorator[Decimal]):
    impl = BigInteger
    cache_ok = True

    def __init__(self, scale: int) -> None:
        super().__init__()
        self.scale = scale
        self._factor = Decimal(10) ** scale
        self._quantum = Decimal(1).scaleb(-scale)

    def process_bind_param(self, value: Any, dialect: Any) -> int | None:
        if value is None:
            return None
        if not isinstance(value, Decimal):
            if isinstance(value, float):
                raise TypeError("money and quantities must be Decimal, never float")
            value = Decimal(value)
        return int((value * self._factor).to_integral_value(rounding=ROUND_HALF_UP))

    def process_result_value(self, value: Any, dialect: Any) -> Decimal | None:
        if value is None:
            return None
        return (Decimal(int(value)) / self._factor).quantize(self._quantum)

    def to_storage(self, value: Decimal) -> int:
        """The stored integer, for bulk Core inserts that bypass the type (import)."""
        return int((value * self._factor).to_integral_value(rounding=ROUND_HALF_UP))


class Money(ScaledDecimal):
    """Rubles with kopecks, stored as integer kopecks."""

    cache_ok = True

    def __init__(self) -> None:
        super().__init__(2)


class Quantity(ScaledDecimal):
    """Tariffs, volumes, readings: four decimal places (the seed shows `1,9125`)."""

    cache_ok = True

    def __init__(self) -> None:
        super().__init__(4)


class Period(TypeDecorator[dt.date]):
    """A billing month, stored as the integer YYYYMM (compact, sortable, portable)."""

    impl = Integer
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> int | None:
        if value is None:
            return None
        return value.year * 100 + value.month

    def process_result_value(self, value: Any, dialect: Any) -> dt.date | None:
        if value is None:
            return None
        return dt.date(int(value) // 100, int(value) % 100, 1)


def period_key(value: dt.date) -> int:
    """The stored form of a period, for Core statements that bypass the type."""
    return value.year * 100 + value.month


# Primary keys are INTEGER: 32-bit signed on PostgreSQL (SQLite takes anything). An id that came
# from the client (callback data, typed text) outside this range names no row on either database,
# and PostgreSQL's driver refuses to send it at all: check with `is_valid_id` before looking it up.
MAX_ID = 2**31 - 1


def is_valid_id(value: object) -> bool:
    """A possible primary key: an int in 1..MAX_ID (bool excluded)."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ID
