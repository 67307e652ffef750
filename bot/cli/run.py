"""`python -m bot` / `python -m bot run`: the bot itself (long polling by default)."""

from __future__ import annotations

import argparse
import logging
from functools import partial

from bot.cli.common import Subcommands, database, require_token
from bot.config import Settings
from receipts import pool
from services import imports

log = logging.getLogger("bot")


def register(sub: Subcommands) -> None:
    parser = sub.add_parser("run", help="run the bot (default)")
    parser.add_argument(
        "--webhook",
        action="store_true",
        # SUPPRESS: `python -m bot --webhook run` keeps the flag given before the command.
        default=argparse.SUPPRESS,
        help="serve updates over a webhook",
    )
    parser.set_defaults(func=run_bot)


async def run_bot(args: argparse.Namespace, settings: Settings) -> int:
    require_token(settings)
    from bot import webapp
    from bot.app import (  # Telegram: loaded by this command only
        create_bot,
        create_dispatcher,
        settle_heap,
    )
    from bot.scheduler import create_scheduler
    from receipts import push

    pool.configure(settings.render_workers)
    try:
        async with database(settings) as (engine, session_factory):
            # an import killed before publishing left an invisible version: delete it
            await imports.cleanup(engine, settings)
            bot = create_bot(settings)
            dp = create_dispatcher(settings, session_factory)
            scheduler = create_scheduler(settings, bot, session_factory)
            if scheduler is not None:
                dp.startup.register(scheduler.start)
                dp.shutdown.register(scheduler.shutdown)
                # «📨 Разослать квитанции» asks the push job to run now (it owns every push)
                dp["wake_push_job"] = partial(scheduler.run_soon, push.POLL_JOB_ID)
            if settings.webapp_url:
                dp.startup.register(webapp.set_menu_button)
            settle_heap()
            try:
                if getattr(args, "webhook", False):
                    from bot.webhook import run_webhook

                    await run_webhook(settings, bot, dp)
                else:
                    log.info("starting long polling")
                    async with webapp.serve(
                        settings, session_factory, getattr(dp.storage, "redis", None), bot
                    ):
                        # aiogram stops polling gracefully on SIGINT/SIGTERM (handle_signals=True).
                        await dp.start_polling(bot, handle_signals=True, close_bot_session=True)
            finally:
                await dp.storage.close()
    finally:
        pool.shutdown()
    return 0
