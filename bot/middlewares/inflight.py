"""Graceful shutdown: updates being handled when SIGTERM arrives are allowed to finish.

aiogram stops polling, runs the shutdown hooks and closes the HTTP session; without this, a handler
in the middle of its work (a resident's phone just accepted) would lose its session and roll back
an update that Telegram will not deliver again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject

log = logging.getLogger(__name__)


class InFlightMiddleware(BaseMiddleware):
    def __init__(self, grace: float = 25.0) -> None:
        self.grace = grace
        self.count = 0
        self._idle = asyncio.Event()
        self._idle.set()

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        self.count += 1
        self._idle.clear()
        try:
            return await handler(event, data)
        finally:
            self.count -= 1
            if self.count == 0:
                self._idle.set()

    async def drain(self) -> None:
        """A shutdown hook: wait (bounded) until no update is in progress."""
        try:
            await asyncio.wait_for(self._idle.wait(), self.grace)
        except TimeoutError:
            log.warning("shutdown: %d updates still in progress", self.count)
