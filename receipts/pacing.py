"""Pacing of bulk sends under Telegram's limits: receipts push, announcements, reminders.

`Pacer` hands out send slots: at most `rate_per_second` overall (evenly spaced, no bursts) and
at most one per `per_chat_interval` seconds to any one chat. Many senders may share one pacer
concurrently (slots are reserved without awaiting in between, so they never collide). A 429
(`TelegramRetryAfter`) pauses every sender for `retry_after` seconds: Telegram does not say which
limit was hit, and waiting is what it asks for. Nothing here is specific to receipts.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from aiogram.exceptions import TelegramRetryAfter

log = logging.getLogger(__name__)

T = TypeVar("T")


class Pacer:
    def __init__(
        self,
        rate_per_second: float,
        per_chat_interval: float = 1.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        if rate_per_second <= 0:
            raise ValueError("rate_per_second must be positive")
        self.interval = 1.0 / rate_per_second
        self.per_chat_interval = max(per_chat_interval, 0.0)
        self._clock = clock
        self._sleep = sleep
        self._next_slot = 0.0  # the earliest time of the next send overall
        self._paused_until = 0.0  # after a 429
        self._chat_next: dict[int | str, float] = {}
        self.retries_after = 0  # how many 429s were honoured (for progress and tests)

    def reserve(self, chat_id: int | str) -> float:
        """Reserve the next slot a message to `chat_id` may take; returns the delay to it."""
        now = self._clock()
        start = max(now, self._paused_until, self._chat_next.get(chat_id, 0.0))
        slot = max(start, self._next_slot)
        self._next_slot = slot + self.interval
        self._chat_next[chat_id] = slot + self.per_chat_interval
        if len(self._chat_next) > 10_000:
            self._forget_idle(now)
        return slot - now

    async def wait(self, chat_id: int | str) -> None:
        delay = self.reserve(chat_id)
        if delay > 0:
            await self._sleep(delay)

    def pause(self, seconds: float) -> None:
        """Stop every sender for `seconds` (Telegram's `retry_after`)."""
        until = self._clock() + seconds
        if until > self._paused_until:
            self._paused_until = until
            # slots already handed out for the paused time are pushed after the pause
            self._next_slot = max(self._next_slot, until)

    async def send(
        self, chat_id: int | str, call: Callable[[], Awaitable[T]], *, max_retries: int = 10
    ) -> T:
        """Wait for a slot, then `await call()`; on 429 wait `retry_after` and try again."""
        attempt = 0
        while True:
            await self.wait(chat_id)
            try:
                return await call()
            except TelegramRetryAfter as error:
                attempt += 1
                self.retries_after += 1
                if attempt > max_retries:
                    raise
                log.info("flood control: waiting %s s (retry %d)", error.retry_after, attempt)
                self.pause(float(error.retry_after))

    def _forget_idle(self, now: float) -> None:
        for chat_id in [c for c, at in self._chat_next.items() if at <= now]:
            del self._chat_next[chat_id]
