"""Builds the bot and the dispatcher. Production (`python -m bot`) and tests both call these."""

from __future__ import annotations

import gc
import logging
from typing import TYPE_CHECKING

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.base import BaseSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.fsm.storage.base import BaseEventIsolation, BaseStorage
from aiogram.types import BotCommand
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import apology
from bot.config import Settings
from bot.metrics import MetricsMiddleware, TelegramRequestMetrics
from bot.middlewares import DbSessionMiddleware, ResidentMiddleware, ThrottlingMiddleware
from bot.middlewares.inflight import InFlightMiddleware
from bot.middlewares.retry import RetryAfterMiddleware
from bot.middlewares.throttling import RedisBuckets
from handlers import get_routers
from services.people_cache import PeopleCache
from storage.db import is_sqlite, is_sqlite_file
from storage.fsm import ChatLocks, DatabaseStorage
from texts.ru import common as t

if TYPE_CHECKING:
    from redis.asyncio import Redis

log = logging.getLogger(__name__)

FSM_CACHE_SIZE = 50_000  # dialogue states kept in memory (most are "no state": a few bytes)


def create_bot(settings: Settings, session: BaseSession | None = None) -> Bot:
    if settings.bot_token is None:
        raise ValueError("BOT_TOKEN is not set")
    if session is None:
        session = AiohttpSession()
        if settings.telegram_api_url:
            session.api = TelegramAPIServer.from_base(settings.telegram_api_url.rstrip("/"))
    session.middleware(TelegramRequestMetrics())
    session.middleware(RetryAfterMiddleware())
    return Bot(
        settings.bot_token.get_secret_value(),
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML, link_preview_is_disabled=True),
    )


def create_fsm_storage(
    settings: Settings, session_factory: async_sessionmaker[AsyncSession]
) -> BaseStorage:
    if settings.redis_url:
        # redis is the optional `redis` extra: imported only when REDIS_URL asks for it
        from aiogram.fsm.storage.redis import DefaultKeyBuilder, RedisStorage

        return RedisStorage.from_url(
            settings.redis_url, key_builder=DefaultKeyBuilder(with_destiny=True)
        )
    # SQLite is the embedded default: one bot process, so its dialogue states can be cached.
    cache_size = FSM_CACHE_SIZE if is_sqlite(settings.database_url) else 0
    return DatabaseStorage(session_factory, cache_size=cache_size)


def _shared_redis(settings: Settings, storage: BaseStorage) -> Redis | None:
    """The Redis that processes share (REDIS_URL): the FSM storage's own connection pool."""
    if not settings.redis_url:
        return None
    from aiogram.fsm.storage.redis import RedisStorage
    from redis.asyncio import Redis

    if isinstance(storage, RedisStorage):
        return storage.redis
    return Redis.from_url(settings.redis_url)


def create_dispatcher(
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    storage: BaseStorage | None = None,
) -> Dispatcher:
    storage = storage or create_fsm_storage(settings, session_factory)
    redis = _shared_redis(settings, storage)
    if redis is not None:
        from aiogram.fsm.storage.redis import RedisEventIsolation

        events_isolation: BaseEventIsolation = RedisEventIsolation(redis)
    else:
        events_isolation = ChatLocks()
    dp = Dispatcher(
        storage=storage,
        # One resident's updates are handled one at a time (aiogram's default handles them
        # concurrently: a quick second message would not see what the first one is committing);
        # across processes with Redis, in this process otherwise.
        events_isolation=events_isolation,
        settings=settings,
        session_factory=session_factory,
    )
    in_flight = InFlightMiddleware()
    dp.update.outer_middleware(in_flight)
    dp.shutdown.register(in_flight.drain)
    dp.update.outer_middleware(MetricsMiddleware())
    dp.update.outer_middleware(
        ThrottlingMiddleware(
            settings.throttle_rate,
            settings.throttle_burst,
            buckets=RedisBuckets(redis, settings.throttle_rate, settings.throttle_burst)
            if redis is not None
            else None,
        )
    )
    dp.update.outer_middleware(DbSessionMiddleware(session_factory))
    # One process serving updates (SQLite in a file, no Redis) keeps residents in memory.
    people = PeopleCache(enabled=is_sqlite_file(settings.database_url) and redis is None)
    dp.update.outer_middleware(ResidentMiddleware(people))
    dp.include_router(apology.router())
    dp.include_routers(*get_routers())
    dp.startup.register(_set_commands)
    return dp


def settle_heap() -> None:
    """Move what the start built out of the garbage collector's way: modules, pydantic and
    SQLAlchemy schemas (~300 000 objects) live as long as the process, and every full pass
    otherwise walks them all (~300 ms here: a stall of the event loop). Call it once, when the
    process has built everything and before it serves updates."""
    gc.collect()
    gc.freeze()


async def _set_commands(bot: Bot) -> None:
    await bot.set_my_commands(
        [BotCommand(command=name, description=text) for name, text in t.COMMANDS.items()]
    )
