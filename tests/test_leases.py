"""Database leases: one holder at a time, renewal by the holder, expiry frees the lease."""

from __future__ import annotations

import datetime as dt
import os

import time_machine
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.repo import leases

MINUTE = dt.timedelta(minutes=1)


async def take(factory: async_sessionmaker[AsyncSession], owner: str) -> bool:
    async with factory() as session, session.begin():
        return await leases.acquire(session, "job", owner, MINUTE)


async def test_one_holder_at_a_time_until_release_or_expiry(session_factory) -> None:
    with time_machine.travel(dt.datetime(2020, 4, 20, 10, tzinfo=dt.UTC), tick=False) as clock:
        assert await take(session_factory, "a")
        assert not await take(session_factory, "b")
        assert await take(session_factory, "a")  # the holder renews by acquiring again
        async with session_factory() as session, session.begin():
            assert await leases.renew(session, "job", "a", MINUTE)
            assert not await leases.renew(session, "job", "b", MINUTE)

        clock.shift(dt.timedelta(minutes=2))  # "a" died: its lease expires
        assert await take(session_factory, "b")
        async with session_factory() as session, session.begin():
            assert not await leases.renew(session, "job", "a", MINUTE)  # lost
            await leases.release(session, "job", "a")  # not the holder: changes nothing
        assert not await take(session_factory, "a")

        async with session_factory() as session, session.begin():
            await leases.release(session, "job", "b")
        assert await take(session_factory, "a")


def test_process_owner_names_this_process() -> None:
    assert leases.process_owner().endswith(f":{os.getpid()}")
