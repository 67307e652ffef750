"""Readings reminders: on the window's first day, and again on its last day, one message to each
resident who still owes readings.

The job runs every hour (and once at start-up), and works out from each organization's window in
its own time zone whether today is a reminder day; `ReminderDelivery` (unique per resident, period
and kind) remembers who has had which reminder, so a restart recomputes everything and sends
nobody a second copy (`bot.delivery`, shared with the notifications). It runs in one process at a
time (a database lease), paced under Telegram's limits; a resident who blocked the bot (403) is
marked unreachable.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING

from aiogram import Bot
from apscheduler.schedulers.base import BaseScheduler
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.delivery import Key, Summary, deliver
from receipts.pacing import Pacer
from services.readings import rules as rules
from storage.repo import readings as repo
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
            targets = await repo.reminder_targets(
                session, org.id, window.period, kind, include_requests=kind == OPEN
            )
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
            key = Key(target.resident_id, window.period, kind)
            summary.add(await deliver(bot, session_factory, pacer, key, target.chat_id, text))
    return summary


def schedule(scheduler: BaseScheduler, ctx: JobContext) -> None:
    """Every hour at :05, and once right after start-up (a restart recomputes the day)."""

    async def remind() -> None:
        summary = await send_reminders(ctx.bot, ctx.session_factory, ctx.settings, pacer=ctx.pacer)
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
