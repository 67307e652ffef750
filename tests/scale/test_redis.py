"""REDIS_URL: dialogue state, event isolation and throttling shared by every bot process."""

from __future__ import annotations

from aiogram.fsm.storage.base import StorageKey
from aiogram.fsm.storage.redis import RedisEventIsolation, RedisStorage
from aiogram.methods import SendMessage
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.app import create_bot, create_dispatcher
from bot.config import Settings
from bot.middlewares.throttling import RedisBuckets, ThrottlingMiddleware
from tests.databases import dialogue, needs_redis
from tests.harness import BOT_ID, BotClient, RecordingSession
from texts.ru import common as t


@needs_redis
async def test_two_dispatchers_share_one_dialogue(
    settings: Settings, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    """Two "processes" (dispatchers with their own Redis connections): a state set through one
    is seen by the other."""
    first = create_dispatcher(settings, session_factory)
    second = create_dispatcher(settings, session_factory)
    bot = create_bot(settings, session=RecordingSession())
    try:
        assert isinstance(first.storage, RedisStorage)
        assert isinstance(first.fsm.events_isolation, RedisEventIsolation)
        key = StorageKey(bot_id=BOT_ID, chat_id=1001, user_id=1001)
        await first.storage.set_state(key, "SomeDialogue:step")

        client = BotClient(second, bot)
        await client.send("/cancel")
        assert client.last_text() == t.CANCELLED
        assert await dialogue(first, 1001) == (None, {})
    finally:
        await first.storage.close()
        await second.storage.close()


@needs_redis
async def test_throttling_is_one_limit_across_processes(settings: Settings) -> None:
    storage = RedisStorage.from_url(settings.redis_url)
    try:
        # Two middlewares = two processes, one bucket of 3 in Redis.
        a = RedisBuckets(storage.redis, rate=0.001, burst=3)
        b = RedisBuckets(storage.redis, rate=0.001, burst=3)
        results = [await bucket.take(7) for bucket in (a, b, a, b, a)]
        assert results == [(True, False)] * 3 + [(False, True), (False, False)]
        assert await b.take(8) == (True, False)  # another resident is not slowed
    finally:
        await storage.close()


@needs_redis
async def test_throttled_resident_is_told_once(
    settings: Settings, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    slow = settings.model_copy(update={"throttle_rate": 0.001, "throttle_burst": 2})
    dp = create_dispatcher(slow, session_factory)
    bot = create_bot(slow, session=RecordingSession())
    try:
        throttling = next(
            m for m in dp.update.outer_middleware if isinstance(m, ThrottlingMiddleware)
        )
        assert isinstance(throttling.buckets, RedisBuckets)
        client = BotClient(dp, bot)
        for _ in range(5):
            await client.send("/help")
        texts = [r.text for r in client.replies if isinstance(r, SendMessage)]
        assert texts == [t.HELP, t.HELP, t.THROTTLED]
    finally:
        await dp.storage.close()


async def test_throttling_lets_residents_through_when_redis_is_down() -> None:
    from redis.asyncio import Redis

    buckets = RedisBuckets(Redis.from_url("redis://127.0.0.1:1/0"), rate=1, burst=1)
    assert await buckets.take(1) == (True, False)
    assert await buckets.take(1) == (True, False)
