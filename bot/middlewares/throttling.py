"""Per-user token bucket: one resident flooding the bot does not slow the others.

Updates over the limit are dropped; the resident is told once per burst.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.types import TelegramObject, Update, User

from texts.ru import common as t


class ThrottlingMiddleware(BaseMiddleware):
    def __init__(self, rate: float, burst: int, max_users: int = 100_000) -> None:
        self.rate = rate
        self.burst = float(burst)
        self.max_users = max_users
        # user id -> (tokens, last refill time, told about the limit)
        self._buckets: dict[int, tuple[float, float, bool]] = {}

    def allow(self, user_id: int, now: float | None = None) -> tuple[bool, bool]:
        """(allowed, should_warn)."""
        now = time.monotonic() if now is None else now
        tokens, last, warned = self._buckets.get(user_id, (self.burst, now, False))
        tokens = min(self.burst, tokens + (now - last) * self.rate)
        if tokens >= 1:
            self._buckets[user_id] = (tokens - 1, now, False)
            return True, False
        self._buckets[user_id] = (tokens, now, True)
        if len(self._buckets) > self.max_users:
            self._buckets.clear()  # forget idle users rather than grow without bound
        return False, not warned

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        user: User | None = data.get("event_from_user")
        if user is None or user.is_bot:
            return await handler(event, data)
        allowed, warn = self.allow(user.id)
        if allowed:
            return await handler(event, data)
        if warn and isinstance(event, Update):
            bot: Bot = data["bot"]
            chat = data.get("event_chat")
            if chat is not None and chat.type == "private":
                await bot.send_message(chat.id, t.THROTTLED)
        return None
