"""Honour Telegram's flood control for ordinary replies.

Telegram answers 429 with `retry_after` when a chat gets messages faster than about one a second.
A resident's quick two-message dialogue can hit that; rather than apologize for an error, the
request waits the time Telegram asked for and goes again (a few times, for short waits only).
Bulk senders pace themselves in `receipts.pacing`: a 429 inside a paced send goes straight back to
the pacer, which pauses every sender at once (a private wait here would let the others go on).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.exceptions import TelegramRetryAfter
from aiogram.methods import TelegramMethod
from aiogram.methods.base import Response, TelegramType

from receipts.pacing import paced

if TYPE_CHECKING:
    from aiogram import Bot

log = logging.getLogger(__name__)


class RetryAfterMiddleware(BaseRequestMiddleware):
    def __init__(self, max_wait: float = 5.0, attempts: int = 3) -> None:
        self.max_wait = max_wait
        self.attempts = attempts

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        for attempt in range(1, self.attempts + 1):
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as error:
                if attempt == self.attempts or error.retry_after > self.max_wait or paced():
                    raise
                log.info(
                    "flood control on %s: retrying in %s s",
                    method.__api_method__,
                    error.retry_after,
                )
                await asyncio.sleep(error.retry_after)
        raise AssertionError("unreachable")  # pragma: no cover
