"""Per-user token bucket: one resident flooding the bot does not slow the others.

Updates over the limit are dropped; the resident is told once per burst. With one process the
buckets live in memory; with several (REDIS_URL set) they live in Redis, so that a resident whose
updates are spread over the processes by the proxy meets one limit, not one per process.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from aiogram import BaseMiddleware, Bot
from aiogram.types import TelegramObject, Update, User

from texts.ru import common as t

log = logging.getLogger(__name__)


class Buckets(Protocol):
    async def take(self, user_id: int) -> tuple[bool, bool]:
        """Take a token of this user's bucket: (allowed, should_warn)."""


class MemoryBuckets:
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

    async def take(self, user_id: int) -> tuple[bool, bool]:
        return self.allow(user_id)


# The same bucket as MemoryBuckets, atomic in Redis. The clock is Redis's own (TIME), so the
# processes' clocks do not matter; the key expires once a full bucket would have refilled.
_TAKE_SCRIPT = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local bucket = redis.call('HMGET', KEYS[1], 'tokens', 'ts', 'warned')
local tokens = tonumber(bucket[1]) or burst
local last = tonumber(bucket[2]) or now
local warned = bucket[3] == '1'
tokens = math.min(burst, tokens + math.max(0, now - last) * rate)
local allowed, warn = 0, 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
  warned = false
else
  if not warned then warn = 1 end
  warned = true
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now),
           'warned', warned and '1' or '0')
redis.call('EXPIRE', KEYS[1], math.ceil(burst / rate) + 60)
return {allowed, warn}
"""


class RedisBuckets:
    """Token buckets shared by every bot process through Redis (fails open if Redis is down)."""

    def __init__(self, redis: Any, rate: float, burst: int, prefix: str = "throttle") -> None:
        self.redis = redis
        self.rate = rate
        self.burst = burst
        self.prefix = prefix
        self._script = redis.register_script(_TAKE_SCRIPT)

    async def take(self, user_id: int) -> tuple[bool, bool]:
        try:
            allowed, warn = await self._script(
                keys=[f"{self.prefix}:{user_id}"], args=[self.rate, self.burst]
            )
        except Exception as error:  # a resident must not be locked out by a Redis outage
            log.warning("throttling without Redis: %s", type(error).__name__)
            return True, False
        return bool(allowed), bool(warn)


class ThrottlingMiddleware(BaseMiddleware):
    def __init__(
        self, rate: float, burst: int, max_users: int = 100_000, buckets: Buckets | None = None
    ) -> None:
        self.rate = rate
        self.burst = float(burst)
        self._memory = MemoryBuckets(rate, burst, max_users)
        self.buckets: Buckets = buckets or self._memory

    def allow(self, user_id: int, now: float | None = None) -> tuple[bool, bool]:
        """The in-memory bucket, synchronously (for tests of the arithmetic)."""
        return self._memory.allow(user_id, now)

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        user: User | None = data.get("event_from_user")
        if user is None or user.is_bot:
            return await handler(event, data)
        allowed, warn = await self.buckets.take(user.id)
        if allowed:
            return await handler(event, data)
        data["throttled"] = True  # for the metrics middleware outside
        if warn and isinstance(event, Update):
            bot: Bot = data["bot"]
            chat = data.get("event_chat")
            if chat is not None and chat.type == "private":
                await bot.send_message(chat.id, t.THROTTLED)
        return None
