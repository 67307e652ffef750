"""The operators' statistics (the chat's and the admins' /stats, the CLI's `stats`)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from services import appeals
from services.readings import rules
from storage.models import Organization
from storage.repo import stats as repo
from storage.repo.stats import Figures

__all__ = ["Figures", "collect"]


async def collect(
    session: AsyncSession,
    *,
    default_timezone: str = "Europe/Moscow",
    now: dt.datetime | None = None,
) -> Figures:
    """The figures now; readings are counted for the month residents send them for, in each
    organization's time zone (the readings rules' own definition)."""

    def period_of(org: Organization) -> dt.date:
        return rules.current_period(org.timezone or default_timezone, now)

    figures = await repo.collect(session, period_of)
    figures.overdue_appeals = len(await appeals.overdue(session, now))
    return figures
