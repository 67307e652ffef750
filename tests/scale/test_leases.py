"""Jobs under a database lease run in one process at a time (`bot.scheduler.run_exclusive`)."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import metrics
from bot.scheduler import JobContext, run_exclusive
from storage.models import Lease, utcnow


async def holders(session_factory: async_sessionmaker[AsyncSession]) -> list[str]:
    async with session_factory() as session:
        return list(await session.scalars(select(Lease.owner)))


async def test_a_second_run_is_skipped_while_the_first_holds_the_lease(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    started, finish = asyncio.Event(), asyncio.Event()
    runs: list[str] = []

    async def job() -> None:
        runs.append("first")
        started.set()
        await finish.wait()

    first = asyncio.create_task(run_exclusive(session_factory, "push", job, owner="a"))
    await started.wait()
    assert await holders(session_factory) == ["a"]

    async def other() -> None:
        runs.append("second")

    assert await run_exclusive(session_factory, "push", other, owner="b") is False
    finish.set()
    assert await first is True
    assert runs == ["first"]
    assert await holders(session_factory) == []  # released at the end
    assert await run_exclusive(session_factory, "push", other, owner="b") is True
    assert runs == ["first", "second"]


async def test_many_contenders_at_once_one_runs(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    gate = asyncio.Event()
    ran: list[int] = []

    def job_of(number: int):
        async def job() -> None:
            ran.append(number)
            await gate.wait()

        return job

    tasks = [
        asyncio.create_task(run_exclusive(session_factory, "reminder", job_of(n), owner=f"p{n}"))
        for n in range(8)
    ]
    # Everybody but the winner returns False without waiting for the gate.
    done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    while len(pending) > 1:
        more, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
        done |= more
    assert [task.result() for task in done] == [False] * 7
    assert len(ran) == 1
    gate.set()
    assert await pending.pop() is True


async def test_an_expired_lease_of_a_dead_process_is_taken_over(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with session_factory() as session, session.begin():
        session.add(Lease(name="push", owner="dead", expires_at=utcnow() - dt.timedelta(seconds=1)))
        session.add(Lease(name="live", owner="alive", expires_at=utcnow() + dt.timedelta(hours=1)))
    ran: list[str] = []

    async def job() -> None:
        ran.append("ran")

    assert await run_exclusive(session_factory, "push", job, owner="me") is True
    assert await run_exclusive(session_factory, "live", job, owner="me") is False
    assert ran == ["ran"]


async def test_a_job_whose_lease_is_taken_over_is_stopped(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    started = asyncio.Event()
    cancelled = asyncio.Event()

    async def job() -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    lost_before = metrics.sample("cabinet_jobs_total", {"job": "push", "outcome": "lost"})
    run = asyncio.create_task(run_exclusive(session_factory, "push", job, ttl=0.3, owner="slow"))
    await started.wait()
    # As if the lease had expired while this process hung, and another process took it.
    async with session_factory() as session, session.begin():
        await session.execute(update(Lease).where(Lease.name == "push").values(owner="other"))
    assert await run is False
    assert cancelled.is_set()
    assert await holders(session_factory) == ["other"]  # the new holder's lease is left alone
    lost = metrics.sample("cabinet_jobs_total", {"job": "push", "outcome": "lost"})
    assert lost == lost_before + 1


async def test_a_failing_job_raises_and_releases_the_lease(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async def job() -> None:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        await run_exclusive(session_factory, "push", job)
    assert await holders(session_factory) == []


async def test_job_context_wraps_a_job_for_the_scheduler(settings, bot, session_factory) -> None:
    ran: list[int] = []

    async def job() -> None:
        ran.append(1)

    wrapped = JobContext(settings, bot, session_factory).once("nightly", job)
    assert await wrapped() is True
    assert ran == [1]


async def test_stopping_the_scheduler_releases_the_lease_of_a_running_job(
    settings, bot, session_factory
) -> None:
    """A stop (SIGTERM) in the middle of a job: the job is cancelled and its lease released
    before the scheduler's shutdown returns, so a restarted process runs it at once instead of
    waiting out the lease."""
    from bot.scheduler import create_scheduler

    started = asyncio.Event()
    cleaned_up: list[bool] = []

    async def job() -> None:
        started.set()
        try:
            await asyncio.Event().wait()  # a long round of sends
        finally:
            cleaned_up.append(True)

    scheduler = create_scheduler(
        settings.model_copy(update={"scheduler_enabled": True}), bot, session_factory
    )
    assert scheduler is not None
    scheduler.remove_all_jobs()  # the bot's own jobs aside: only this one runs
    scheduler.add_job(JobContext(settings, bot, session_factory).once("reminders", job))
    await scheduler.start()
    await asyncio.wait_for(started.wait(), 10)
    assert len(await holders(session_factory)) == 1
    await scheduler.shutdown()
    assert cleaned_up == [True]
    assert await holders(session_factory) == []


async def test_a_stop_while_the_lease_is_being_released_still_releases_it(
    settings, bot, engine, session_factory
) -> None:
    """SIGTERM right as a job finishes (fault 6 of issue 12: the reminder was sent, the stop came
    while the lease was being given back): the release is not interrupted, so the restarted
    process takes the lease at once instead of skipping the day's run for the lease's TTL."""
    from sqlalchemy import event

    from bot.scheduler import Scheduler

    releasing = asyncio.Event()

    def on_statement(conn, cursor, statement: str, *args: object) -> None:
        if statement.lstrip().upper().startswith("DELETE FROM LEASES"):
            releasing.set()

    async def job() -> None:
        pass

    event.listen(engine.sync_engine, "before_cursor_execute", on_statement)
    scheduler = Scheduler(timezone="UTC")
    scheduler.add_job(JobContext(settings, bot, session_factory).once("reminders", job))
    await scheduler.start()
    await asyncio.wait_for(releasing.wait(), 10)
    await scheduler.shutdown()  # lands while the DELETE is in flight
    event.remove(engine.sync_engine, "before_cursor_execute", on_statement)
    assert await holders(session_factory) == []

    async def restarted() -> None:
        pass

    assert await run_exclusive(session_factory, "reminders", restarted, owner="restarted") is True


async def test_a_job_stopped_by_the_scheduler_logs_no_failure(
    settings, bot, session_factory, caplog: pytest.LogCaptureFixture
) -> None:
    """A graceful stop is not a job's failure: no 'raised an exception' with a traceback."""
    from bot.scheduler import Scheduler

    started = asyncio.Event()

    async def job() -> None:
        started.set()
        await asyncio.Event().wait()

    scheduler = Scheduler(timezone="UTC")
    scheduler.add_job(JobContext(settings, bot, session_factory).once("push", job))
    await scheduler.start()
    await asyncio.wait_for(started.wait(), 10)
    await scheduler.shutdown()
    assert not [r for r in caplog.records if r.levelno >= 40]  # no ERROR
    assert await holders(session_factory) == []
