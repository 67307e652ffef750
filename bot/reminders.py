"""Readings reminders: on the window's first day, and again on its last day, one message to each
resident who still owes readings.

The job runs every hour (and once at start-up), and works out from each organization's window in
its own time zone whether today is a reminder day; `ReminderDelivery` (unique per resident, period
and kind) remembers who has had which reminder, so a restart recomputes everything and sends
nobody a second copy. It runs in one process at a time (a database lease), paced under
Telegram's limits; a resident who blocked the bot (403) is marked unreachable.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiogram import Bot
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from apscheduler.schedulers.base import BaseScheduler
from sqlalchemy import delete, insert, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from receipts.pacing import Pacer
from services.readings import rules as rules
from storage.models import ReminderDelivery, utcnow
from storage.repo import readings as repo
from storage.repo import residents
from texts import fmt
from texts.ru import readings as t

if TYPE_CHECKING:
    from bot.scheduler import JobContext

log = logging.getLogger(__name__)

JOB_ID = "readings-reminders"
LEASE = "readings-reminders"
OPEN, CLOSE = "open", "close"
# Local hours in which reminders go out: nobody is woken at night.
FIRST_HOUR, LAST_HOUR = 9, 20


@dataclass
class Summary:
    sent: int = 0
    blocked: int = 0
    failed: int = 0


def reminder_kind(window: rules.Window, hour: int) -> str | None:
    """OPEN on the window's first day, CLOSE on its last (when that is another day), in the
    daytime hours; None otherwise."""
    if not FIRST_HOUR <= hour <= LAST_HOUR:
        return None
    if window.today == window.first:
        return OPEN
    if window.today == window.last:
        return CLOSE
    return None


async def send_reminders(
    bot: Bot,
    session_factory: async_sessionmaker[AsyncSession],
    settings: Settings,
    *,
    now: dt.datetime | None = None,
    pacer: Pacer | None = None,
) -> Summary:
    """Send today's due reminders of every organization; returns what happened."""
    pacer = pacer or Pacer(settings.push_rate_per_second, settings.push_per_chat_interval)
    summary = Summary()
    async with session_factory() as session:
        organizations = await repo.organizations(session)
    for org in organizations:
        local = rules.local_now(org.timezone, now)
        window = rules.reading_window(org.timezone, org.readings_day_from, org.readings_day_to, now)
        kind = reminder_kind(window, local.hour)
        if kind is None:
            continue
        async with session_factory() as session:
            targets = await repo.reminder_targets(session, org.id, window.period, kind)
        # said on every run of a reminder day: after a restart it shows who was still due
        log.info("readings reminders (%s) of org %s: %d due", kind, org.id, len(targets))
        template = t.REMINDER_OPEN if kind == OPEN else t.REMINDER_CLOSE
        for target in targets:
            text = template.format(
                month=fmt.month(window.period),
                day_from=window.day_from,
                day_to=window.day_to,
                missing_line=t.missing_line(target.missing),
            )
            # Claimed before sending: a process stopped or killed between Telegram's acceptance
            # and the record would otherwise remind again after the restart. The price is the
            # opposite (rare) failure: a claim left by a crash mid-send is not retried.
            async with session_factory() as session, session.begin():
                claimed = await _claim(session, target.resident_id, window.period, kind)
            if not claimed:
                continue  # another run took this resident just now
            status = await _send(bot, pacer, target.chat_id, text)
            async with session_factory() as session, session.begin():
                await _settle(session, target.resident_id, window.period, kind, status)
            if status == "sent":
                summary.sent += 1
            elif status == "blocked":
                summary.blocked += 1
            else:
                summary.failed += 1
    return summary


async def _send(bot: Bot, pacer: Pacer, chat_id: int, text: str) -> str | None:
    """ "sent", "blocked" (403), "failed" (a permanent error), or None (try again later)."""
    try:
        await pacer.send(chat_id, lambda: bot.send_message(chat_id, text))
    except TelegramForbiddenError:
        return "blocked"
    except TelegramBadRequest as error:
        log.warning("reminder not delivered: %s", type(error).__name__)
        return "failed"
    except (TelegramRetryAfter, TelegramNetworkError, TelegramServerError) as error:
        log.warning("reminder postponed: %s", type(error).__name__)
        return None
    return "sent"


def _delivery(resident_id: int, period: dt.date, kind: str) -> tuple[Any, ...]:
    return (
        ReminderDelivery.resident_id == resident_id,
        ReminderDelivery.period == period,
        ReminderDelivery.kind == kind,
    )


async def _claim(session: AsyncSession, resident_id: int, period: dt.date, kind: str) -> bool:
    try:
        async with session.begin_nested():
            await session.execute(
                insert(ReminderDelivery).values(
                    resident_id=resident_id, period=period, kind=kind, status="sending"
                )
            )
    except IntegrityError:  # unique (resident, period, kind): claimed or sent already
        return False
    return True


async def _settle(
    session: AsyncSession, resident_id: int, period: dt.date, kind: str, status: str | None
) -> None:
    """The claim becomes the outcome; a transient failure drops it so a later run retries."""
    if status is None:
        await session.execute(delete(ReminderDelivery).where(*_delivery(resident_id, period, kind)))
        return
    if status == "blocked":
        await residents.mark_unreachable(session, resident_id)
    await session.execute(
        update(ReminderDelivery)
        .where(*_delivery(resident_id, period, kind))
        .values(status=status, sent_at=utcnow())
    )


def schedule(scheduler: BaseScheduler, ctx: JobContext) -> None:
    """Every hour at :05, and once right after start-up (a restart recomputes the day)."""

    async def remind() -> None:
        summary = await send_reminders(ctx.bot, ctx.session_factory, ctx.settings)
        if summary.sent or summary.blocked or summary.failed:
            log.info(
                "readings reminders: %d sent, %d blocked, %d failed",
                summary.sent,
                summary.blocked,
                summary.failed,
            )

    scheduler.add_job(
        ctx.once(LEASE, remind),
        "cron",
        minute=5,
        id=JOB_ID,
        replace_existing=True,
        next_run_time=dt.datetime.now(dt.UTC) + dt.timedelta(seconds=5),
        coalesce=True,
        max_instances=1,
        misfire_grace_time=600,
    )
