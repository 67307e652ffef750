"""Announcements to the residents of a house or an organization: paced, once each, resumable.

Each recipient gets one `AnnouncementDelivery` row (unique per announcement and resident), written
right after Telegram's answer; a run that stopped is resumed by running it again (the CLI's
`announce --resume ID`, or the bot's scheduler at start), and skips whoever has a row. As with the
receipt push, the one window no log can close is a crash between Telegram's acceptance and the
row's commit: that resident may get the announcement twice, nobody is skipped.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramForbiddenError
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from receipts.pacing import Pacer
from storage.models import (
    Account,
    AccountLink,
    Announcement,
    AnnouncementDelivery,
    Apartment,
    House,
    Organization,
    Resident,
    utcnow,
)
from storage.repo import leases
from storage.repo import residents as residents_repo
from texts import fmt
from texts.ru import operators as t

log = logging.getLogger(__name__)

MAX_TEXT = 3500
LEASE_TTL = dt.timedelta(minutes=5)

_running: set[int] = set()  # announcements this process is sending now


@dataclass(frozen=True)
class Scope:
    organization_id: int | None = None
    house_id: int | None = None


@dataclass
class Result:
    total: int = 0
    sent: int = 0
    blocked: int = 0
    failed: int = 0
    skipped: bool = False  # another run holds it


def render(organization_name: str, text: str) -> str:
    """What residents see. The text is shown as typed: HTML in it stays text."""
    return t.ANNOUNCEMENT.format(org=fmt.esc(organization_name), text=fmt.esc(text))


def _recipients_query(scope: Scope) -> Any:
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
    inner = _recipients_query(scope).subquery()
    return await session.scalar(select(func.count()).select_from(inner)) or 0


async def create(
    session: AsyncSession, scope: Scope, text: str, created_by: int | None = None
) -> Announcement:
    if not text.strip():
        raise ValueError("empty announcement")
    if len(text) > MAX_TEXT:
        raise ValueError(f"announcement longer than {MAX_TEXT} characters")
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
        status="running",
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


async def run(
    bot: Bot,
    session_factory: async_sessionmaker[AsyncSession],
    settings: Any,
    announcement_id: int,
    *,
    pacer: Pacer | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Result:
    """Send (or resume sending) an announcement; returns its whole figures."""
    if announcement_id in _running:
        return Result(skipped=True)
    owner = leases.process_owner()
    lease = f"announcement:{announcement_id}"
    async with session_factory() as session:
        if not await leases.acquire(session, lease, owner, LEASE_TTL):
            await session.rollback()
            return Result(skipped=True)
        await session.commit()
    _running.add(announcement_id)
    try:
        return await _send_all(
            bot, session_factory, settings, announcement_id, owner, lease, pacer, progress
        )
    finally:
        _running.discard(announcement_id)
        async with session_factory() as session:
            await leases.release(session, lease, owner)
            await session.commit()


async def _send_all(
    bot: Bot,
    session_factory: async_sessionmaker[AsyncSession],
    settings: Any,
    announcement_id: int,
    owner: str,
    lease: str,
    pacer: Pacer | None,
    progress: Callable[[int, int], None] | None,
) -> Result:
    pacer = pacer or Pacer(settings.push_rate_per_second, settings.push_per_chat_interval)
    async with session_factory() as session:
        item = await session.get(Announcement, announcement_id)
        if item is None:
            raise ValueError(f"no announcement {announcement_id}")
        org = (
            await session.get(Organization, item.organization_id) if item.organization_id else None
        )
        text = render(org.name if org else "", item.text)
        scope = Scope(
            organization_id=None if item.house_id else item.organization_id, house_id=item.house_id
        )
        done = select(AnnouncementDelivery.resident_id).where(
            AnnouncementDelivery.announcement_id == announcement_id
        )
        todo = (
            await session.execute(
                _recipients_query(scope).where(Resident.id.not_in(done)).order_by(Resident.id)
            )
        ).all()
        total = len(todo) + len(list(await session.scalars(done)))
    last_renew = asyncio.get_running_loop().time()
    for index, (resident_id, chat_id) in enumerate(todo, 1):
        status = "sent"
        try:
            await pacer.send(chat_id, lambda chat_id=chat_id: bot.send_message(chat_id, text))
        except TelegramForbiddenError:
            status = "blocked"
        except TelegramAPIError as error:
            log.warning(
                "announcement %s: a delivery failed: %s", announcement_id, type(error).__name__
            )
            status = "failed"
        async with session_factory() as session:
            if status == "blocked":
                await residents_repo.mark_unreachable(session, resident_id)
            try:
                await session.execute(
                    insert(AnnouncementDelivery).values(
                        announcement_id=announcement_id,
                        resident_id=resident_id,
                        status=status,
                        sent_at=utcnow(),
                    )
                )
            except IntegrityError:  # the resident deleted the registration meanwhile
                await session.rollback()
                continue
            now = asyncio.get_running_loop().time()
            if now - last_renew > LEASE_TTL.total_seconds() / 3:
                await leases.renew(session, lease, owner, LEASE_TTL)
                last_renew = now
            await session.commit()
        if progress is not None:
            progress(index, len(todo))
    async with session_factory() as session:
        item = await session.get(Announcement, announcement_id)
        if item is not None:
            item.status = "done"
            item.finished_at = utcnow()
        counts = await figures(session, announcement_id)
        await session.commit()
    return Result(
        total=total,
        sent=counts.get("sent", 0),
        blocked=counts.get("blocked", 0),
        failed=counts.get("failed", 0),
    )


async def resume_unfinished(
    bot: Bot, session_factory: async_sessionmaker[AsyncSession], settings: Any
) -> int:
    """Finish announcements a stopped process left running. Returns how many were resumed."""
    async with session_factory() as session:
        ids = list(
            await session.scalars(
                select(Announcement.id)
                .where(Announcement.status == "running")
                .order_by(Announcement.id)
            )
        )
    resumed = 0
    for announcement_id in ids:
        result = await run(bot, session_factory, settings, announcement_id)
        resumed += not result.skipped
    return resumed
