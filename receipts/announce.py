"""Announcements to the residents of a house or an organization: paced, once each, resumable.

Each recipient gets one `AnnouncementDelivery` row (unique per announcement and resident), written
right after Telegram's answer; a run that stopped is resumed by running it again (the CLI's
`announce --resume ID`, or the bot's scheduler at start), and skips whoever has a row. Choosing
the recipients and storing a new announcement is `services.announcements`. As with the
receipt push, the one window no log can close is a crash between Telegram's acceptance and the
row's commit: that resident may get the announcement twice, nobody is skipped.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramForbiddenError
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from receipts.pacing import Pacer
from storage.models import (
    Announcement,
    AnnouncementDelivery,
    Organization,
    Resident,
    utcnow,
)
from storage.repo import announcements as repo
from storage.repo import leases
from storage.repo import residents as residents_repo
from texts import fmt
from texts.ru import operators as t

log = logging.getLogger(__name__)

LEASE_TTL = dt.timedelta(minutes=5)

_running: set[int] = set()  # announcements this process is sending now


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


async def run(
    bot: Bot,
    session_factory: async_sessionmaker[AsyncSession],
    settings: Settings,
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


async def _plan(
    session_factory: async_sessionmaker[AsyncSession], announcement_id: int
) -> tuple[str, list[tuple[int, int]], int]:
    """The text residents see, (resident id, chat id) of those still to get it, and how many
    recipients there are in all."""
    async with session_factory() as session:
        item = await session.get(Announcement, announcement_id)
        if item is None:
            raise ValueError(f"no announcement {announcement_id}")
        org = (
            await session.get(Organization, item.organization_id) if item.organization_id else None
        )
        scope = repo.Scope(
            organization_id=None if item.house_id else item.organization_id, house_id=item.house_id
        )
        done = select(AnnouncementDelivery.resident_id).where(
            AnnouncementDelivery.announcement_id == announcement_id
        )
        query = repo.recipients_query(scope).where(Resident.id.not_in(done)).order_by(Resident.id)
        todo = [(row[0], row[1]) for row in (await session.execute(query)).all()]
        total = len(todo) + len(list(await session.scalars(done)))
    return render(org.name if org else "", item.text), todo, total


async def _deliver(
    bot: Bot, pacer: Pacer, chat_id: int, text: str, announcement_id: int
) -> repo.DeliveryStatus:
    try:
        await pacer.send(chat_id, lambda: bot.send_message(chat_id, text))
    except TelegramForbiddenError:
        return repo.DeliveryStatus.BLOCKED
    except TelegramAPIError as error:
        log.warning("announcement %s: a delivery failed: %s", announcement_id, type(error).__name__)
        return repo.DeliveryStatus.FAILED
    return repo.DeliveryStatus.SENT


async def _record(
    session: AsyncSession, announcement_id: int, resident_id: int, status: repo.DeliveryStatus
) -> bool:
    """One delivery's row (False: the resident deleted the registration meanwhile)."""
    if status is repo.DeliveryStatus.BLOCKED:
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
    except IntegrityError:
        await session.rollback()
        return False
    return True


async def _send_all(
    bot: Bot,
    session_factory: async_sessionmaker[AsyncSession],
    settings: Settings,
    announcement_id: int,
    owner: str,
    lease: str,
    pacer: Pacer | None,
    progress: Callable[[int, int], None] | None,
) -> Result:
    pacer = pacer or Pacer(settings.push_rate_per_second, settings.push_per_chat_interval)
    text, todo, total = await _plan(session_factory, announcement_id)
    last_renew = asyncio.get_running_loop().time()
    for index, (resident_id, chat_id) in enumerate(todo, 1):
        status = await _deliver(bot, pacer, chat_id, text, announcement_id)
        async with session_factory() as session:
            if not await _record(session, announcement_id, resident_id, status):
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
            item.status = repo.AnnouncementStatus.DONE
            item.finished_at = utcnow()
        counts = await repo.figures(session, announcement_id)
        await session.commit()
    return Result(
        total=total,
        sent=counts.get(repo.DeliveryStatus.SENT, 0),
        blocked=counts.get(repo.DeliveryStatus.BLOCKED, 0),
        failed=counts.get(repo.DeliveryStatus.FAILED, 0),
    )


async def resume_unfinished(
    bot: Bot, session_factory: async_sessionmaker[AsyncSession], settings: Settings
) -> int:
    """Finish announcements a stopped process left running. Returns how many were resumed."""
    async with session_factory() as session:
        ids = await repo.unfinished(session)
    resumed = 0
    for announcement_id in ids:
        result = await run(bot, session_factory, settings, announcement_id)
        resumed += not result.skipped
    return resumed
