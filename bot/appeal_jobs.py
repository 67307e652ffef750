"""Scheduled jobs of the operators' side: the sweep that posts appeals whose post to the
operators' chat failed, and the resumption of announcements a stopped process left unfinished.

`schedule(scheduler, ctx)` adds both; the decisions are `services.appeals.retry_unposted` and
`receipts.announce.resume_unfinished`, the Telegram side `handlers.posting`.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from apscheduler.schedulers.base import BaseScheduler

from handlers.posting import TelegramOperatorsChat
from receipts import announce
from services import appeals

if TYPE_CHECKING:
    from bot.scheduler import JobContext

RETRY_INTERVAL = 60  # seconds between sweeps for unposted appeals
RESUME_INTERVAL = 120  # seconds between looks for unfinished announcements
RETRY_JOB_ID = "appeals_retry_unposted"
RESUME_JOB_ID = "announcements_resume"


def schedule(scheduler: BaseScheduler, ctx: JobContext) -> None:
    chat = TelegramOperatorsChat(ctx.bot, ctx.settings.operators_chat_id)

    async def sweep() -> int:
        if chat.chat_id is None:
            return 0
        return await appeals.retry_unposted(ctx.session_factory, chat)

    # One process at a time sweeps (a database lease), so two bot processes never double-post.
    scheduler.add_job(
        ctx.once("appeals-retry-unposted", sweep),
        "interval",
        seconds=RETRY_INTERVAL,
        id=RETRY_JOB_ID,
        max_instances=1,
        coalesce=True,
        replace_existing=True,
    )
    # Each announcement holds its own lease while it is being sent, so a live run elsewhere is
    # skipped and a dead one is taken over once its lease expires.
    scheduler.add_job(
        announce.resume_unfinished,
        "interval",
        seconds=RESUME_INTERVAL,
        next_run_time=dt.datetime.now(dt.UTC) + dt.timedelta(seconds=5),
        args=(ctx.bot, ctx.session_factory, ctx.settings),
        id=RESUME_JOB_ID,
        max_instances=1,
        coalesce=True,
        replace_existing=True,
    )
