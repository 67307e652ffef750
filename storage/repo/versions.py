"""Which version of billing data readers see.

An import loads its charges and payments as a new version (`import_id` = the import's id) of the
periods it touches, invisible until it publishes: one small transaction points
`published_periods` (kind, period) at it. Every read of charges or payments filters with
`visible(...)`: the row's version is the period's published one, or 0 (rows from before versions,
demo data) when the period has none.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.sql.elements import ColumnElement

from storage.models import PublishedPeriod

CHARGES = "charges"
PAYMENTS = "payments"


def published_version(kind: str, period: Any) -> Any:
    """The published version of `kind` for `period` (a column or a value) as a scalar subquery."""
    return func.coalesce(
        select(PublishedPeriod.import_id)
        .where(PublishedPeriod.kind == kind, PublishedPeriod.period == period)
        .scalar_subquery(),
        0,
    )


def visible(entity: Any, kind: str = CHARGES) -> ColumnElement[bool]:
    """`entity` (Charge, Payment or an alias of either) is of its period's published version."""
    return entity.import_id == published_version(kind, entity.period)
