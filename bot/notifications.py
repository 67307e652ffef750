"""The notifications job: a payment received, the bill's due date near, a meter's verification
date (who and what: `services.notifications`).

Every ten minutes (and once right after start-up) in one process at a time (a database lease),
each notice once (`bot.delivery`: claimed in the log, paced with the bulk senders' limits, 403
marks the resident unreachable). The pay-by reminder carries «💳 Оплатить» when payments are set
up. The log says how many went out of which kind, never to whom nor what.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from typing import TYPE_CHECKING

from aiogram import Bot
from apscheduler.schedulers.base import BaseScheduler
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.delivery import Outcome, Summary, deliver
from keyboards.payments import pay_keyboard
from receipts.pacing import Pacer
from services import notifications

if TYPE_CHECKING:
    from bot.scheduler import JobContext

log = logging.getLogger(__name__)

JOB_ID = "notifications"
LEASE = "notifications"


async def send_notifications(
    bot: Bot,
    session_factory: async_sessionmaker[AsyncSession],
    settings: Settings,
    *,
    now: dt.datetime | None = None,
    pacer: Pacer | None = None,
) -> Summary:
    """Send every notice due now; returns what happened."""
    pacer = pacer or Pacer(settings.push_rate_per_second, settings.push_per_chat_interval)
    async with session_factory() as session:
        notices = await notifications.due_notices(session, settings, now)
    summary = Summary()
    sent: Counter[str] = Counter()
    for notice in notices:
        markup = None
        if notice.pay_account_id is not None and settings.payments_enabled:
            markup = pay_keyboard(notice.pay_account_id)
        outcome = await deliver(
            bot, session_factory, pacer, notice.key, notice.chat_id, notice.text, markup
        )
        summary.add(outcome)
        if outcome is Outcome.SENT:
            sent[notice.key.kind] += 1
    if notices:
        log.info(
            "notifications: %d due; sent %s; %d blocked, %d failed",
            len(notices),
            dict(sent) or "none",
            summary.blocked,
            summary.failed,
        )
    return summary


def schedule(scheduler: BaseScheduler, ctx: JobContext) -> None:
    """Every ten minutes, and once right after start-up."""

    async def notify() -> None:
        await send_notifications(ctx.bot, ctx.session_factory, ctx.settings, pacer=ctx.pacer)

    scheduler.add_job(
        ctx.once(LEASE, notify),
        "cron",
        minute="*/10",
        id=JOB_ID,
        replace_existing=True,
        next_run_time=dt.datetime.now(dt.UTC) + dt.timedelta(seconds=15),
        coalesce=True,
        max_instances=1,
        misfire_grace_time=600,
    )
