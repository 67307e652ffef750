"""Pacing of bulk sends under Telegram's limits: receipts push, announcements, reminders.

`Pacer` hands out send slots: at most `rate_per_second` overall (evenly spaced, no bursts) and
at most one per `per_chat_interval` seconds to any one chat. Many senders may share one pacer
concurrently (slots are reserved without awaiting in between, so they never collide). A 429
(`TelegramRetryAfter`) pauses every sender for `retry_after` seconds: one shared pause, not one per
sender; a sender that reserved its slot before the pause and wakes inside it takes a new slot after
it instead of sending. Telegram does not say which limit was hit, and waiting is what it asks for.
Nothing here is specific to receipts.
"""

from __future__ import annotations

import asyncio
import bisect
import logging
import time
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import TypeVar

from aiogram.exceptions import TelegramRetryAfter

log = logging.getLogger(__name__)

T = TypeVar("T")

_paced: ContextVar[bool] = ContextVar("paced_send", default=False)


def paced() -> bool:
    """True inside `Pacer.send`'s call: a 429 there is the pacer's to honour (one pause shared by
    every sender), so a request middleware must not wait and retry it on its own."""
    return _paced.get()


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
        self._slots: list[float] = []  # reserved send times, sorted, pairwise `interval` apart
        self._paused_until = 0.0  # after a 429
        self._chat_next: dict[int | str, float] = {}
        self.retries_after = 0  # how many 429s were honoured (for progress and tests)

    def reserve(self, chat_id: int | str) -> float:
        """Reserve the next slot a message to `chat_id` may take; returns the delay to it."""
        now = self._clock()
        start = max(now, self._paused_until, self._chat_next.get(chat_id, 0.0))
        slot = self._free_slot(now, start)
        self._chat_next[chat_id] = slot + self.per_chat_interval
        if len(self._chat_next) > 10_000:
            self._forget_idle(now)
        return slot - now

    async def wait(self, chat_id: int | str) -> None:
        while True:
            delay = self.reserve(chat_id)
            if delay <= 0:
                return
            await self._sleep(delay)
            if self._clock() + 1e-6 >= self._paused_until:
                return
            # a 429 arrived while this sender slept: its slot fell inside the pause

    def _free_slot(self, now: float, start: float) -> float:
        """The earliest time from `start` at least `interval` from every reserved slot. A sender
        that waits for its chat takes a later slot and leaves the ones before it to others."""
        cut = bisect.bisect_right(self._slots, now - self.interval)
        del self._slots[:cut]  # past: they constrain nothing from now on
        slot = start
        for taken in self._slots:
            if taken <= slot - self.interval:
                continue
            if taken >= slot + self.interval:
                break
            slot = taken + self.interval
        bisect.insort(self._slots, slot)
        return slot

    def pause(self, seconds: float) -> None:
        """Stop every sender for `seconds` (Telegram's `retry_after`): slots handed out for the
        paused time are void, their senders take new ones after it (`wait`)."""
        self._paused_until = max(self._paused_until, self._clock() + seconds)

    async def send(
        self, chat_id: int | str, call: Callable[[], Awaitable[T]], *, max_retries: int = 10
    ) -> T:
        """Wait for a slot, then `await call()`; on 429 wait `retry_after` and try again."""
        attempt = 0
        while True:
            await self.wait(chat_id)
            token = _paced.set(True)
            try:
                return await call()
            except TelegramRetryAfter as error:
                attempt += 1
                self.retries_after += 1
                if attempt > max_retries:
                    raise
                log.info("flood control: waiting %s s (retry %d)", error.retry_after, attempt)
                self.pause(float(error.retry_after))
            finally:
                _paced.reset(token)

    def _forget_idle(self, now: float) -> None:
        for chat_id in [c for c, at in self._chat_next.items() if at <= now]:
            del self._chat_next[chat_id]
