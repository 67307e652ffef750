"""The in-process scheduler and the jobs each feature contributes.

A feature contributes a `schedule(scheduler, context)` function, listed in JOB_PROVIDERS. Jobs that
must run once across several bot processes take a database lease (`storage.repo.leases`): wrap
them in `context.once(name, job)`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import inspect
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiogram import Bot
from aiogram.types import InlineKeyboardMarkup
from apscheduler.job import Job
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import metrics
from bot import appeal_jobs, notifications, reminders
from bot.config import Settings
from keyboards.payments import pay_keyboard
from receipts import push
from receipts.pacing import Pacer
from storage.repo import leases

log = logging.getLogger(__name__)

# Seconds a job's lease lives without renewal: how long a dead process blocks its jobs.
LEASE_TTL = 60.0
# Seconds a cancelled job has at shutdown to release its lease and record where it stopped.
JOB_STOP_GRACE = 10.0

# Each feature's scheduling hook.
JOB_PROVIDERS: tuple[Callable[[Scheduler, JobContext], None], ...] = (
    appeal_jobs.schedule,
    reminders.schedule,
    push.schedule,
    notifications.schedule,
)


@dataclass
class JobContext:
    settings: Settings
    bot: Bot
    session_factory: async_sessionmaker[AsyncSession]

    @functools.cached_property
    def pacer(self) -> Pacer:
        """One pacer for the jobs' messages (reminders, notifications): they share Telegram's
        limits and a 429's pause."""
        return Pacer(self.settings.push_rate_per_second, self.settings.push_per_chat_interval)

    @property
    def receipt_markup(self) -> Callable[[int], InlineKeyboardMarkup]:
        """The buttons under a pushed receipt: «💳 Оплатить» and «📷 QR для оплаты»."""
        return pay_keyboard

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
    finally:
        # A stop (cancellation) may arrive at any point from here on, even while the lease is
        # being released: the clean-up runs to its end all the same, or the lease would hold the
        # job back in every process for its whole TTL.
        await _to_the_end(
            _stop_and_release(session_factory, name, owner, (keeper, watch, work), lost)
        )
    if work.cancelled():  # stopped because the lease was lost
        log.warning("job %s: lease lost, stopped", name)
        metrics.job(name, "lost")
        return False
    if work.exception() is not None:
        metrics.job(name, "failed")
        metrics.error(f"job:{name}", work.exception())  # type: ignore[arg-type]
        work.result()  # raises
    metrics.job(name, "done")
    return True


async def _stop_and_release(
    session_factory: async_sessionmaker[AsyncSession],
    name: str,
    owner: str,
    tasks: tuple[asyncio.Future[object], ...],
    lost: asyncio.Event,
) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    if lost.is_set():
        return
    try:
        async with session_factory() as session, session.begin():
            await leases.release(session, name, owner)
    except Exception as error:  # it expires by itself
        log.warning("job %s: lease not released: %s", name, type(error).__name__)


async def _to_the_end(clean_up: Awaitable[None]) -> None:
    """Await `clean_up` to its end even when the caller is cancelled meanwhile; the cancellation
    is raised again once it is done (a second cancellation interrupts it)."""
    task = asyncio.ensure_future(clean_up)
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        await task
        raise


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


class JobTasks:
    """The runs of scheduled jobs, each in a task of its own that `stop()` cancels and awaits.

    APScheduler's own shutdown cancels what runs without waiting for it (and logs the
    cancellation as the job's failure); these tasks are stopped here instead, before it.
    """

    def __init__(self) -> None:
        self._runs: dict[asyncio.Task[object], asyncio.Task[object] | None] = {}

    def tracked(self, job: Callable[..., Awaitable[object]]) -> Callable[..., Awaitable[object]]:
        """`job` run in a tracked task; a run stopped by `stop()` returns None."""

        @functools.wraps(job)
        async def run(*args: object, **kwargs: object) -> object:
            task: asyncio.Task[object] = asyncio.ensure_future(job(*args, **kwargs))
            self._runs[task] = asyncio.current_task()
            try:
                # a cancellation of this waiter leaves the run to stop(): it is not lost
                await asyncio.wait({task})
            finally:
                self._runs.pop(task, None)
            return None if task.cancelled() else task.result()

        return run

    async def stop(self, grace: float) -> None:
        """Cancel the running jobs and wait (up to `grace` seconds) until they have cleaned up
        and their waiters have returned."""
        runs = dict(self._runs)
        for task in runs:
            task.cancel()
        waiting = {*runs, *(waiter for waiter in runs.values() if waiter is not None)}
        if not waiting:
            return
        _, pending = await asyncio.wait(waiting, timeout=grace)
        if pending:
            log.warning("shutdown: %d scheduled jobs did not stop in time", len(pending))


class Scheduler(AsyncIOScheduler):
    """AsyncIOScheduler whose start/shutdown fit aiogram's startup/shutdown hooks, and whose
    coroutine jobs run as `JobTasks`, stopped and awaited at shutdown."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.tasks = JobTasks()

    def add_job(self, func: Any, *args: Any, **kwargs: Any) -> Job:  # type: ignore[override]
        if inspect.iscoroutinefunction(func):
            func = self.tasks.tracked(func)
        return super().add_job(func, *args, **kwargs)

    async def start(self, *args: object, **kwargs: object) -> None:  # type: ignore[override]
        super().start()

    def run_soon(self, job_id: str) -> None:
        """Run the job now instead of at its next time (a run in progress is not doubled:
        jobs here have max_instances=1)."""
        job = self.get_job(job_id)
        if job is not None:
            job.modify(next_run_time=dt.datetime.now(self.timezone))

    async def shutdown(self, *args: object, **kwargs: object) -> None:  # type: ignore[override]
        """Stop: running jobs are cancelled (a push or a reminder round goes on at the next
        start) and awaited, so that their leases are released before the event loop ends; a
        lease left behind would hold the job back for its whole TTL."""
        if not self.running:
            return
        self.pause()  # no new runs while the running ones stop
        await self.tasks.stop(JOB_STOP_GRACE)
        super().shutdown(wait=False)


def create_scheduler(
    settings: Settings, bot: Bot, session_factory: async_sessionmaker[AsyncSession]
) -> Scheduler | None:
    if not settings.scheduler_enabled:
        return None
    scheduler = Scheduler(timezone=settings.default_timezone)
    context = JobContext(settings, bot, session_factory)
    for schedule in JOB_PROVIDERS:
        schedule(scheduler, context)
    return scheduler
