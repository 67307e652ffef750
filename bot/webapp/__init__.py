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
from bot.middlewares.throttling import Buckets, MemoryBuckets, RedisBuckets
from bot.webapp import api, files
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
        "img-src 'self' data:; connect-src 'self'; frame-src 'self'; object-src 'none'; "
        "base-uri 'none'; form-action 'none'"
    ),
}


def _buckets(settings: Settings, redis: Any) -> Buckets:
    if redis is not None:
        return RedisBuckets(redis, settings.webapp_rate, settings.webapp_burst, prefix="webapp")
    return MemoryBuckets(settings.webapp_rate, settings.webapp_burst)


def api_app(
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    buckets: Buckets,
    bot: Bot | None = None,
) -> web.Application:
    app = web.Application(middlewares=[authenticate, api.refusals])
    app[SETTINGS] = settings
    app[SESSIONS] = session_factory
    app[BUCKETS] = buckets
    app[api.CACHE] = BillingCache()
    if bot is not None:
        app[api.BOT] = bot
    app.add_routes(api.routes())
    return app


def files_app(
    settings: Settings, session_factory: async_sessionmaker[AsyncSession], buckets: Buckets
) -> web.Application:
    """The signed receipt links (no launch data: the token is the proof)."""
    app = web.Application(middlewares=[api.refusals])
    app[SETTINGS] = settings
    app[SESSIONS] = session_factory
    app[BUCKETS] = buckets
    app.add_routes(files.routes())
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
    bot: Bot | None = None,
) -> None:
    """Add the page, its static files, the API and the signed receipt links to `app`. The bot
    makes invoice links and sends the pay screen to the chat (without it those answer 409/503)."""
    buckets = _buckets(settings, redis)
    app.router.add_get(PREFIX, to_index)
    app.router.add_get(f"{PREFIX}/", index)
    app.router.add_static(f"{PREFIX}/static/", STATIC, append_version=False)
    app.add_subapp(f"{PREFIX}/api/", api_app(settings, session_factory, buckets, bot))
    app.add_subapp(f"{PREFIX}/files/", files_app(settings, session_factory, buckets))


def create_app(
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    redis: Any = None,
    bot: Bot | None = None,
) -> web.Application:
    """A standalone application serving the Mini App only (polling mode, tests)."""
    app = web.Application()
    mount(app, settings, session_factory, redis, bot)
    return app


@asynccontextmanager
async def serve(
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    redis: Any = None,
    bot: Bot | None = None,
) -> AsyncIterator[None]:
    """Polling mode: serve the Mini App on WEBAPP_HOST:WEBAPP_PORT while the bot runs (nothing
    when WEBAPP_URL is empty)."""
    if not settings.webapp_url:
        yield
        return
    runner = web.AppRunner(create_app(settings, session_factory, redis, bot), handle_signals=False)
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
