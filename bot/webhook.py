"""Webhook mode (`python -m bot --webhook`): Telegram posts updates to this process over HTTP.

Several processes may serve one bot behind a reverse proxy: they keep nothing that matters in
memory (dialogue state in Redis or the database, throttling in Redis, scheduled jobs under a
database lease). Each process:

- answers POST <path of WEBHOOK_URL> only with the right X-Telegram-Bot-Api-Secret-Token (401
  otherwise), and handles the update before answering, so a process that dies mid-update gets it
  redelivered by Telegram instead of losing it; a body that is not an Update (not JSON, not
  UTF-8, too deeply nested, not an object of an Update's fields) gets 400 and one log line;
- serves the Mini App (GET /app/ and /app/api/, bot/webapp) when WEBAPP_URL is set;
- serves GET /healthz (200 when the database answers, 503 otherwise) and GET /metrics (Prometheus);
- sets the webhook on start (the same URL and secret from every process: idempotent) and leaves it
  set on stop, since the other processes go on serving.
"""

from __future__ import annotations

import asyncio
import json
import logging
import signal
from urllib.parse import urlsplit

from aiogram import Bot, Dispatcher
from aiogram.types import Update
from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application
from aiohttp import web
from pydantic import ValidationError
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.errors import CommandError
from bot.metrics import metrics_view

log = logging.getLogger("bot.webhook")

NO_SECRET = (
    "WEBHOOK_SECRET is not set. Webhook mode needs a secret that Telegram echoes in every request "
    "(1-256 characters: A-Z, a-z, 0-9, _ and -), e.g. WEBHOOK_SECRET=$(openssl rand -hex 32)."
)
NO_URL = (
    "WEBHOOK_URL is not set. Put the public HTTPS address Telegram should post to into .env, "
    "e.g. WEBHOOK_URL=https://bot.example.org/telegram/webhook"
)
HEALTH_TIMEOUT = 5.0


def webhook_path(settings: Settings) -> str:
    """The path this process serves: the path of WEBHOOK_URL (a proxy passes it through)."""
    return urlsplit(settings.webhook_url or "").path or "/webhook"


def build_app(settings: Settings, bot: Bot, dp: Dispatcher) -> web.Application:
    if settings.webhook_secret is None or not settings.webhook_secret.get_secret_value():
        raise CommandError(NO_SECRET)
    app = web.Application()
    UpdateHandler(
        dispatcher=dp,
        bot=bot,
        # Answer Telegram after the update is handled: a crash means a redelivery, not a loss.
        handle_in_background=False,
        secret_token=settings.webhook_secret.get_secret_value(),
    ).register(app, path=webhook_path(settings))
    session_factory = dp.workflow_data["session_factory"]
    app.router.add_get("/metrics", metrics_view(session_factory))
    app.router.add_get("/healthz", _healthz(session_factory))
    if settings.webapp_url:
        from bot import webapp

        storage = dp.storage
        webapp.mount(app, settings, session_factory, getattr(storage, "redis", None), bot)
    setup_application(app, dp, bot=bot)
    return app


class UpdateHandler(SimpleRequestHandler):
    """aiogram's handler, refusing a malformed body with 400 before the dispatcher sees it
    (aiogram would raise on it: a 500 with a traceback in the log)."""

    async def handle(self, request: web.Request) -> web.Response:
        bot = await self.resolve_bot(request)
        secret = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
        if self.verify_secret(secret, bot):
            problem = malformed(await request.read(), bot)  # aiohttp keeps the body read
            if problem is not None:
                # the type only: the body, and so an error's text, may hold a resident's data
                log.warning("webhook: refused a malformed update (%s)", problem)
                return web.Response(status=400, text="malformed update\n")
        return await super().handle(request)


def malformed(body: bytes, bot: Bot) -> str | None:
    """Why `body` is not a Telegram Update (the error's type name), or None when it is one."""
    try:
        Update.model_validate(json.loads(body.decode("utf-8")), context={"bot": bot})
    except (UnicodeDecodeError, ValueError, RecursionError, ValidationError) as error:
        return type(error).__name__
    return None


def _healthz(session_factory: async_sessionmaker[AsyncSession]):
    async def healthz(request: web.Request) -> web.Response:
        try:
            async with asyncio.timeout(HEALTH_TIMEOUT), session_factory() as session:
                await session.execute(text("SELECT 1"))
        except Exception as error:
            log.warning("health check failed: %s", type(error).__name__)
            return web.Response(status=503, text="database unavailable\n")
        return web.Response(text="ok\n")

    return healthz


async def set_webhook(settings: Settings, bot: Bot, dp: Dispatcher) -> None:
    if not settings.webhook_url:
        raise CommandError(NO_URL)
    assert settings.webhook_secret is not None
    await bot.set_webhook(
        url=settings.webhook_url,
        secret_token=settings.webhook_secret.get_secret_value(),
        allowed_updates=dp.resolve_used_update_types(),
        drop_pending_updates=False,
    )
    log.info("webhook set")


async def run_webhook(settings: Settings, bot: Bot, dp: Dispatcher) -> None:
    if not settings.webhook_url:
        raise CommandError(NO_URL)
    app = build_app(settings, bot, dp)
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()  # runs the dispatcher's startup: commands, scheduler
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        site = web.TCPSite(runner, settings.webhook_host, settings.webhook_port)
        await site.start()
        log.info(
            "serving the webhook on %s:%s%s",
            settings.webhook_host,
            settings.webhook_port,
            webhook_path(settings),
        )
        # Listening first: Telegram may post the moment the webhook is set.
        await set_webhook(settings, bot, dp)
        await stop.wait()
        log.info("stopping")
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        await runner.cleanup()  # finishes requests in flight, runs the dispatcher's shutdown
