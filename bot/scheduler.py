"""The in-process scheduler and the jobs each feature contributes.

A feature adds a `schedule(scheduler, context)` function to JOB_PROVIDERS. Jobs that must run once
across several bot processes take a database lease (`storage.repo.leases`).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import importlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiogram import Bot
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import metrics
from bot.config import Settings
from storage.repo import leases

log = logging.getLogger(__name__)

# Seconds a job's lease lives without renewal: how long a dead process blocks its jobs.
LEASE_TTL = 60.0
# Seconds a cancelled job has at shutdown to release its lease and record where it stopped.
JOB_STOP_GRACE = 10.0

# "module:function" of each feature's scheduling hook.
JOB_PROVIDERS: tuple[str, ...] = (
    "bot.appeal_jobs:schedule",
    "bot.reminders:schedule",
    "receipts.push:schedule",
)


@dataclass
class JobContext:
    settings: Settings
    bot: Bot
    session_factory: async_sessionmaker[AsyncSession]

    def once(
        self, name: str, job: Callable[[], Awaitable[object]], ttl: float = LEASE_TTL
    ) -> Callable[[], Awaitable[bool]]:
        """`job` wrapped to run in one process at a time across all the bot's processes:
        `scheduler.add_job(ctx.once("readings-reminder", remind), "cron", hour=10)`."""

        async def run() -> bool:
            return await run_exclusive(self.session_factory, name, job, ttl=ttl)

        run.__name__ = f"once_{name}"
        return run


async def run_exclusive(
    session_factory: async_sessionmaker[AsyncSession],
    name: str,
    job: Callable[[], Awaitable[object]],
    *,
    ttl: float = LEASE_TTL,
    owner: str | None = None,
) -> bool:
    """Run `job` while holding the database lease `name`; True when it ran to its end.

    Another process holding the lease: the job is skipped (False). The lease is renewed every
    third of its time to live while the job runs; if it is lost anyway (the database was
    unreachable for longer than the TTL and another process took over), the job is cancelled:
    two processes never go on running it side by side. A process that dies leaves the lease to
    expire after `ttl` seconds, and the next run anywhere takes over.
    """
    owner = owner or f"{leases.process_owner()}:{uuid.uuid4().hex[:8]}"
    period = dt.timedelta(seconds=ttl)
    async with session_factory() as session, session.begin():
        acquired = await leases.acquire(session, name, owner, period)
    if not acquired:
        log.debug("job %s: another process holds the lease", name)
        metrics.job(name, "skipped")
        return False
    lost = asyncio.Event()
    keeper = asyncio.create_task(_keep(session_factory, name, owner, ttl, lost))
    work = asyncio.ensure_future(job())
    watch = asyncio.create_task(lost.wait())
    try:
        await asyncio.wait({work, watch}, return_when=asyncio.FIRST_COMPLETED)
        if not work.done():
            work.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await work
            log.warning("job %s: lease lost, stopped", name)
            metrics.job(name, "lost")
            return False
        if work.exception() is not None:
            metrics.job(name, "failed")
            metrics.error(f"job:{name}", work.exception())  # type: ignore[arg-type]
            work.result()  # raises
        metrics.job(name, "done")
        return True
    finally:
        for task in (keeper, watch, work):
            task.cancel()
        await asyncio.gather(keeper, watch, work, return_exceptions=True)
        if not lost.is_set():
            try:
                async with session_factory() as session, session.begin():
                    await leases.release(session, name, owner)
            except Exception as error:  # it expires by itself
                log.warning("job %s: lease not released: %s", name, type(error).__name__)


async def _keep(
    session_factory: async_sessionmaker[AsyncSession],
    name: str,
    owner: str,
    ttl: float,
    lost: asyncio.Event,
) -> None:
    """Renew the lease every ttl/3; set `lost` when it is gone or may have expired."""
    loop = asyncio.get_running_loop()
    renewed_at = loop.time()
    while True:
        await asyncio.sleep(ttl / 3)
        try:
            async with session_factory() as session, session.begin():
                held = await leases.renew(session, name, owner, dt.timedelta(seconds=ttl))
        except Exception as error:
            log.warning("job %s: lease not renewed: %s", name, type(error).__name__)
            held = loop.time() - renewed_at < ttl * 2 / 3
        else:
            if held:
                renewed_at = loop.time()
        if not held:
            lost.set()
            return


class _Scheduler(AsyncIOScheduler):
    """AsyncIOScheduler whose start/shutdown fit aiogram's startup/shutdown hooks."""

    async def start(self, *args: object, **kwargs: object) -> None:  # type: ignore[override]
        super().start()

    async def shutdown(self, *args: object, **kwargs: object) -> None:  # type: ignore[override]
        """Stop: running jobs are cancelled (a push or a reminder round goes on at the next
        start) and given time to clean up, so that their leases are released before the event
        loop ends; a lease left behind would hold the job back for its whole TTL."""
        if not self.running:
            return
        running = [
            future
            for executor in self._executors.values()
            for future in getattr(executor, "_pending_futures", ())  # AsyncIOExecutor's tasks
            if not future.done()
        ]
        super().shutdown(wait=False)  # cancels them
        if running:
            _, pending = await asyncio.wait(running, timeout=JOB_STOP_GRACE)
            if pending:
                log.warning("shutdown: %d scheduled jobs did not stop in time", len(pending))


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
