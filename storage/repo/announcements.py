"""Announcements: their recipients, rows and delivery figures.

Repositories never commit: the caller owns the transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    Account,
    AccountLink,
    Announcement,
    AnnouncementDelivery,
    Apartment,
    House,
    Resident,
)


class AnnouncementStatus(StrEnum):
    RUNNING = "running"
    DONE = "done"


class DeliveryStatus(StrEnum):
    SENT = "sent"
    BLOCKED = "blocked"
    FAILED = "failed"


@dataclass(frozen=True)
class Scope:
    """Whom an announcement is for: a house's residents, or else an organization's."""

    organization_id: int | None = None
    house_id: int | None = None


def recipients_query(scope: Scope) -> Any:
    """(resident id, chat id) of every reachable registered resident linked to an account there."""
    query = (
        select(Resident.id, Resident.chat_id)
        .join(AccountLink, AccountLink.resident_id == Resident.id)
        .join(Account, Account.id == AccountLink.account_id)
        .where(Resident.registered_at.is_not(None), Resident.unreachable_at.is_(None))
    )
    if scope.house_id is not None:
        query = query.join(Apartment, Apartment.id == Account.apartment_id).where(
            Apartment.house_id == scope.house_id
        )
    elif scope.organization_id is not None:
        query = query.where(Account.organization_id == scope.organization_id)
    else:
        raise ValueError("an announcement needs an organization or a house")
    return query.distinct()


async def count_recipients(session: AsyncSession, scope: Scope) -> int:
    inner = recipients_query(scope).subquery()
    return await session.scalar(select(func.count()).select_from(inner)) or 0


async def create(
    session: AsyncSession, scope: Scope, text: str, created_by: int | None = None
) -> Announcement:
    organization_id = scope.organization_id
    if scope.house_id is not None:
        house = await session.get(House, scope.house_id)
        if house is None:
            raise ValueError(f"no house {scope.house_id}")
        organization_id = house.organization_id
    item = Announcement(
        organization_id=organization_id,
        house_id=scope.house_id,
        text=text,
        status=AnnouncementStatus.RUNNING,
        created_by=created_by,
    )
    session.add(item)
    await session.flush()
    return item


async def figures(session: AsyncSession, announcement_id: int) -> dict[str, int]:
    rows = await session.execute(
        select(AnnouncementDelivery.status, func.count())
        .where(AnnouncementDelivery.announcement_id == announcement_id)
        .group_by(AnnouncementDelivery.status)
    )
    return dict(rows.all())


async def unfinished(session: AsyncSession) -> list[int]:
    """Ids of announcements still marked running (a stopped process left them)."""
    return list(
        await session.scalars(
            select(Announcement.id)
            .where(Announcement.status == AnnouncementStatus.RUNNING)
            .order_by(Announcement.id)
        )
    )
