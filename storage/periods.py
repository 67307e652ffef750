"""Billing periods: a period is the first day of its month (`datetime.date`).

A leaf every layer may import (like `bot.config`): storage stores and queries periods, the importer
parses them, receipts and keyboards encode them, services do month arithmetic with them. It stays
here, next to the `Period` column type, because `storage` and `receipts` may not import `services`.
"""

from __future__ import annotations

import datetime as dt
import re

_PERIOD_RE = re.compile(r"^\s*(\d{4})[-./](\d{1,2})\s*$|^\s*(\d{1,2})[-./](\d{4})\s*$")


def add_months(period: dt.date, months: int) -> dt.date:
    index = period.year * 12 + period.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def parse_period(text: str) -> dt.date:
    """`2020-03`, `2020.03`, `03.2020` → 2020-03-01. Raises ValueError on anything else."""
    match = _PERIOD_RE.match(text)
    if not match:
        raise ValueError(f"not a period: {text!r} (expected YYYY-MM)")
    year, month = (
        (match.group(1), match.group(2)) if match.group(1) else (match.group(4), match.group(3))
    )
    return dt.date(int(year), int(month), 1)


def format_period(period: dt.date) -> str:
    """2020-03-01 → `2020-03`."""
    return f"{period.year:04d}-{period.month:02d}"


def period_to_int(period: dt.date) -> int:
    """2020-03-01 → 202003 (compact form for callback data)."""
    return period.year * 100 + period.month


def int_to_period(value: int) -> dt.date:
    """202003 → 2020-03-01; ValueError for a malformed value (callback data can be forged)."""
    year, month = divmod(int(value), 100)
    if not (1990 <= year <= 2200 and 1 <= month <= 12):
        raise ValueError(f"not a period: {value}")
    return dt.date(year, month, 1)


def pay_by(period: dt.date, due_day: int) -> dt.date:
    """The date a period's bill is due: `due_day` of the next month (the month's last day when it
    is shorter): March 2020 with the 10th → 2020-04-10."""
    following = add_months(period, 1)
    last_day = (add_months(following, 1) - dt.timedelta(days=1)).day
    return following.replace(day=min(max(due_day, 1), last_day))
