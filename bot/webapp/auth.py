"""Who is asking: Telegram's signed launch data in `Authorization: tma <initData>`.

Telegram signs the Mini App's launch data with a key derived from the bot token (HMAC-SHA256,
https://core.telegram.org/bots/webapps#validating-data-received-via-the-mini-app); aiogram's
`safe_parse_webapp_init_data` checks the signature. On top of it: data older than
`WEBAPP_MAX_AGE` is refused (a leaked string stops working), the user must be a registered
resident, and each user's requests are rate limited. Every refusal is a short JSON error with no
data; nothing personal (the launch data, names, Telegram ids) is logged.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable

from aiogram.utils.web_app import WebAppInitData, safe_parse_webapp_init_data
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.middlewares.throttling import Buckets
from storage.repo.residents import get_by_telegram_id

log = logging.getLogger("bot.webapp")

SCHEME = "tma "
# Launch data from a little in the future: the clocks of Telegram and this server differ a bit.
CLOCK_SKEW = dt.timedelta(seconds=60)

SETTINGS = web.AppKey("settings", Settings)
SESSIONS = web.AppKey("session_factory", async_sessionmaker)
BUCKETS = web.AppKey("buckets", object)
# The request's database session and the resident's id, for the routes.
SESSION = web.RequestKey("session", AsyncSession)
RESIDENT_ID = web.RequestKey("resident_id", int)
TELEGRAM_ID = web.RequestKey("telegram_id", int)  # the user's private chat with the bot

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def error(status: int, code: str) -> web.Response:
    """The API's only error shape: a status and a code, never data."""
    return web.json_response({"error": code}, status=status, headers={"Cache-Control": "no-store"})


def launch_data(header: str, token: str, max_age: int, now: dt.datetime) -> WebAppInitData | None:
    """The validated launch data of an `Authorization` header; None when missing, forged,
    expired, from the future or without a user."""
    if not header.startswith(SCHEME):
        return None
    try:
        data = safe_parse_webapp_init_data(token, header[len(SCHEME) :].strip())
    except (ValueError, TypeError):
        return None
    auth_date = data.auth_date
    if auth_date.tzinfo is None:
        auth_date = auth_date.replace(tzinfo=dt.UTC)
    if not now - dt.timedelta(seconds=max_age) <= auth_date <= now + CLOCK_SKEW:
        return None
    if data.user is None:
        return None
    return data


@web.middleware
async def authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
    """401 without valid launch data, 429 over the user's rate, 403 for someone not registered;
    otherwise the handler runs with the request's session and the resident's id."""
    settings = request.app[SETTINGS]
    assert settings.bot_token is not None
    data = launch_data(
        request.headers.get("Authorization", ""),
        settings.bot_token.get_secret_value(),
        settings.webapp_max_age,
        dt.datetime.now(dt.UTC),
    )
    if data is None or data.user is None:
        return error(401, "unauthorized")
    buckets: Buckets = request.app[BUCKETS]  # type: ignore[assignment]
    allowed, _ = await buckets.take(data.user.id)
    if not allowed:
        response = error(429, "too_many_requests")
        response.headers["Retry-After"] = "1"
        return response
    async with request.app[SESSIONS]() as session:
        resident = await get_by_telegram_id(session, data.user.id)
        if resident is None or not resident.is_registered:
            return error(403, "not_registered")
        request[SESSION] = session
        request[RESIDENT_ID] = resident.id
        request[TELEGRAM_ID] = data.user.id
        return await handler(request)


def session_of(request: web.Request) -> AsyncSession:
    return request[SESSION]
