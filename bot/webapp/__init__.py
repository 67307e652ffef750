"""The Mini App: the page at /app/ and its JSON API under /app/api/, served by the bot itself.

Webhook mode mounts it on the webhook's aiohttp application (`mount`); polling mode serves it on
WEBAPP_HOST:WEBAPP_PORT (`serve`) when WEBAPP_URL is set. The page is plain HTML/CSS/JS shipped in
the package (`bot/webapp/static/`): no build step, nothing from a CDN but Telegram's own script.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from aiogram import Bot
from aiogram.types import MenuButtonWebApp, WebAppInfo
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.middlewares.throttling import MemoryBuckets, RedisBuckets
from bot.webapp import api
from bot.webapp.auth import BUCKETS, SESSIONS, SETTINGS, authenticate
from services.billing_cache import BillingCache
from texts.ru import webapp as t

log = logging.getLogger("bot.webapp")

STATIC = Path(__file__).parent / "static"
PREFIX = "/app"
# The page may talk to this origin only and load scripts from here and Telegram only.
PAGE_HEADERS = {
    "Cache-Control": "no-cache",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self' https://telegram.org; style-src 'self'; "
        "img-src 'self' data: blob:; connect-src 'self'; frame-src 'self' blob:; "
        "object-src 'self' blob:; base-uri 'none'; form-action 'none'"
    ),
}


def api_app(
    settings: Settings, session_factory: async_sessionmaker[AsyncSession], redis: Any = None
) -> web.Application:
    app = web.Application(middlewares=[authenticate, api.refusals])
    app[SETTINGS] = settings
    app[SESSIONS] = session_factory
    app[BUCKETS] = (
        RedisBuckets(redis, settings.webapp_rate, settings.webapp_burst, prefix="webapp")
        if redis is not None
        else MemoryBuckets(settings.webapp_rate, settings.webapp_burst)
    )
    app[api.CACHE] = BillingCache()
    app.add_routes(api.routes())
    return app


async def index(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "index.html", headers=PAGE_HEADERS)


async def to_index(request: web.Request) -> web.Response:
    raise web.HTTPPermanentRedirect(f"{PREFIX}/")


def mount(
    app: web.Application,
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    redis: Any = None,
) -> None:
    """Add the page, its static files and the API to `app`."""
    app.router.add_get(PREFIX, to_index)
    app.router.add_get(f"{PREFIX}/", index)
    app.router.add_static(f"{PREFIX}/static/", STATIC, append_version=False)
    app.add_subapp(f"{PREFIX}/api/", api_app(settings, session_factory, redis))


def create_app(
    settings: Settings, session_factory: async_sessionmaker[AsyncSession], redis: Any = None
) -> web.Application:
    """A standalone application serving the Mini App only (polling mode, tests)."""
    app = web.Application()
    mount(app, settings, session_factory, redis)
    return app


@asynccontextmanager
async def serve(
    settings: Settings, session_factory: async_sessionmaker[AsyncSession], redis: Any = None
) -> AsyncIterator[None]:
    """Polling mode: serve the Mini App on WEBAPP_HOST:WEBAPP_PORT while the bot runs (nothing
    when WEBAPP_URL is empty)."""
    if not settings.webapp_url:
        yield
        return
    runner = web.AppRunner(create_app(settings, session_factory, redis), handle_signals=False)
    await runner.setup()
    try:
        await web.TCPSite(runner, settings.webapp_host, settings.webapp_port).start()
        log.info("serving the Mini App on %s:%s", settings.webapp_host, settings.webapp_port)
        yield
    finally:
        await runner.cleanup()


async def set_menu_button(bot: Bot, settings: Settings) -> None:
    """The bot's menu button opens the Mini App (when WEBAPP_URL is set)."""
    if not settings.webapp_url:
        return
    await bot.set_chat_menu_button(
        menu_button=MenuButtonWebApp(
            text=t.MENU_BUTTON, web_app=WebAppInfo(url=settings.webapp_url)
        )
    )
