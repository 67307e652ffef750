"""What the operators' chat needs around imports, beside `services.imports`: which files may be
billing files, their names as the operator sent them, whom a period's receipt push would reach."""

from __future__ import annotations

import re

from sqlalchemy import distinct, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import AccountLink, Charge, Resident
from storage.periods import int_to_period

SUFFIXES = (".csv", ".txt", ".tsv", ".xlsx", ".xlsm", ".zip")  # what billing files may be
TEMP_PREFIX = "tg-import-"  # the bot's download directories: not part of a file's name
_TEMP_PART = re.compile(rf"^.*?{TEMP_PREFIX}[^/\\]*[/\\]\d+[/\\]")


def display_name(name: str) -> str:
    """A file's name as the operator sent it (without the bot's download directory)."""
    return _TEMP_PART.sub("", name)


def display_names(names: str) -> str:
    """`a.csv, b.csv` of an import's stored file list."""
    return ", ".join(display_name(name) for name in names.split(", ") if name)


async def push_audience(session: AsyncSession, period: int) -> int:
    """Residents the receipt push of a period (YYYYMM) would reach (by Telegram or e-mail)."""
    has_charges = (
        select(Charge.id)
        .where(Charge.account_id == AccountLink.account_id)
        .where(Charge.period == int_to_period(period))
        .exists()
    )
    telegram = Resident.push_telegram.is_(True) & Resident.unreachable_at.is_(None)
    email = Resident.push_email.is_(True) & Resident.email_confirmed_at.is_not(None)
    query = (
        select(func.count(distinct(Resident.id)))
        .join(AccountLink, AccountLink.resident_id == Resident.id)
        .where(Resident.registered_at.is_not(None), has_charges, telegram | email)
    )
    return int(await session.scalar(query) or 0)
