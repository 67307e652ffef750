"""The in-process scheduler and the jobs each feature contributes.

A feature adds a `schedule(scheduler, context)` function to JOB_PROVIDERS. Jobs that must run once
across several bot processes take a database lease (`storage.repo.leases`).
"""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass

from aiogram import Bot
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings

log = logging.getLogger(__name__)

# "module:function" of each feature's scheduling hook.
JOB_PROVIDERS: tuple[str, ...] = ()


@dataclass
class JobContext:
    settings: Settings
    bot: Bot
    session_factory: async_sessionmaker[AsyncSession]


class _Scheduler(AsyncIOScheduler):
    """AsyncIOScheduler whose start/shutdown fit aiogram's startup/shutdown hooks."""

    async def start(self, *args: object, **kwargs: object) -> None:  # type: ignore[override]
        super().start()

    async def shutdown(self, *args: object, **kwargs: object) -> None:  # type: ignore[override]
        if self.running:
            super().shutdown(wait=False)


def create_scheduler(
    settings: Settings, bot: Bot, session_factory: async_sessionmaker[AsyncSession]
) -> _Scheduler | None:
    if not settings.scheduler_enabled:
        return None
    scheduler = _Scheduler(timezone=settings.default_timezone)
    context = JobContext(settings, bot, session_factory)
    for provider in JOB_PROVIDERS:
        module_name, _, function = provider.partition(":")
        getattr(importlib.import_module(module_name), function)(scheduler, context)
    return scheduler
