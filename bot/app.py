"""Builds the bot and the dispatcher. Production (`python -m bot`) and tests both call these."""

from __future__ import annotations

import logging

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.base import BaseSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.fsm.storage.base import BaseStorage
from aiogram.types import BotCommand
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import errors
from bot.config import Settings
from bot.middlewares import DbSessionMiddleware, ResidentMiddleware, ThrottlingMiddleware
from handlers import get_routers
from storage.fsm import DatabaseStorage
from texts.ru import common as t

log = logging.getLogger(__name__)


def create_bot(settings: Settings, session: BaseSession | None = None) -> Bot:
    if settings.bot_token is None:
        raise ValueError("BOT_TOKEN is not set")
    if session is None:
        session = AiohttpSession()
        if settings.telegram_api_url:
            session.api = TelegramAPIServer.from_base(settings.telegram_api_url.rstrip("/"))
    return Bot(
        settings.bot_token.get_secret_value(),
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML, link_preview_is_disabled=True),
    )


def create_fsm_storage(
    settings: Settings, session_factory: async_sessionmaker[AsyncSession]
) -> BaseStorage:
    if settings.redis_url:
        from aiogram.fsm.storage.redis import DefaultKeyBuilder, RedisStorage

        return RedisStorage.from_url(
            settings.redis_url, key_builder=DefaultKeyBuilder(with_destiny=True)
        )
    return DatabaseStorage(session_factory)


def create_dispatcher(
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    storage: BaseStorage | None = None,
) -> Dispatcher:
    dp = Dispatcher(
        storage=storage or create_fsm_storage(settings, session_factory),
        settings=settings,
        session_factory=session_factory,
    )
    dp.update.outer_middleware(
        ThrottlingMiddleware(settings.throttle_rate, settings.throttle_burst)
    )
    dp.update.outer_middleware(DbSessionMiddleware(session_factory))
    dp.update.outer_middleware(ResidentMiddleware())
    dp.include_router(errors.router())
    dp.include_routers(*get_routers())
    dp.startup.register(_set_commands)
    return dp


async def _set_commands(bot: Bot) -> None:
    await bot.set_my_commands(
        [BotCommand(command=name, description=text) for name, text in t.COMMANDS.items()]
    )
