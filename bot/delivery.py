"""One message to one resident, at most once, paced: what readings reminders and notifications
(`bot.reminders`, `bot.notifications`) have in common.

The message is claimed in the log (`storage.repo.deliveries`) before it is sent and settled with
the outcome after: a restart recomputes who is due and sends nobody a second copy. Claimed before
sending, because a process stopped or killed between Telegram's acceptance and the record would
otherwise send again after the restart; the price is the opposite (rare) failure: a claim left by
a crash mid-send is not retried. A transient failure (network, 5xx, 429 beyond the pacer's
retries) drops the claim, so the next run tries again; a 403 marks the resident unreachable.
Sends go through the bulk senders' `Pacer` (Telegram's limits, one shared 429 pause).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import StrEnum

from aiogram import Bot
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import InlineKeyboardMarkup
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from receipts.pacing import Pacer
from storage.repo import deliveries
from storage.repo.deliveries import Key

log = logging.getLogger(__name__)

__all__ = ["Key", "Outcome", "Summary", "deliver"]


class Outcome(StrEnum):
    SENT = "sent"
    BLOCKED = "blocked"  # 403: the resident blocked the bot
    FAILED = "failed"  # a permanent error (400): not tried again
    POSTPONED = "postponed"  # a transient error: the next run tries again
    SKIPPED = "skipped"  # claimed already (sent before, or by another run just now)


@dataclass
class Summary:
    sent: int = 0
    blocked: int = 0
    failed: int = 0  # failed or postponed

    def add(self, outcome: Outcome) -> None:
        if outcome is Outcome.SENT:
            self.sent += 1
        elif outcome is Outcome.BLOCKED:
            self.blocked += 1
        elif outcome in (Outcome.FAILED, Outcome.POSTPONED):
            self.failed += 1

    def __bool__(self) -> bool:
        return bool(self.sent or self.blocked or self.failed)


async def deliver(
    bot: Bot,
    session_factory: async_sessionmaker[AsyncSession],
    pacer: Pacer,
    key: Key,
    chat_id: int,
    text: str,
    markup: InlineKeyboardMarkup | None = None,
) -> Outcome:
    """Claim `key`, send `text` to `chat_id` in its pacer slot, record the outcome."""
    async with session_factory() as session, session.begin():
        claimed = await deliveries.claim(session, key)
    if not claimed:
        return Outcome.SKIPPED
    outcome = await _send(bot, pacer, chat_id, text, markup)
    status = None if outcome is Outcome.POSTPONED else outcome.value
    async with session_factory() as session, session.begin():
        await deliveries.settle(session, key, status)
    return outcome


async def _send(
    bot: Bot, pacer: Pacer, chat_id: int, text: str, markup: InlineKeyboardMarkup | None
) -> Outcome:
    try:
        await pacer.send(chat_id, lambda: bot.send_message(chat_id, text, reply_markup=markup))
    except TelegramForbiddenError:
        return Outcome.BLOCKED
    except TelegramBadRequest as error:
        log.warning("message not delivered: %s", type(error).__name__)
        return Outcome.FAILED
    except (TelegramRetryAfter, TelegramNetworkError, TelegramServerError) as error:
        log.warning("message postponed: %s", type(error).__name__)
        return Outcome.POSTPONED
    return Outcome.SENT
