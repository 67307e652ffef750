"""Who may act on the operators' side: the operators' chat and its members, administrators."""

from __future__ import annotations

import logging
import time
from typing import Any

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Filter
from aiogram.types import CallbackQuery, Message

from bot.config import Settings

log = logging.getLogger(__name__)

MEMBER_STATUSES = frozenset({"creator", "administrator", "member"})
MEMBERSHIP_TTL = 60.0  # seconds a getChatMember answer is trusted


class OperatorCheck:
    """Members of the operators' chat (getChatMember, cached briefly) and admin ids."""

    def __init__(self, ttl: float = MEMBERSHIP_TTL) -> None:
        self.ttl = ttl
        self._cache: dict[tuple[int, int], tuple[bool, float]] = {}

    async def is_operator(self, bot: Bot, settings: Settings, user_id: int) -> bool:
        if user_id in settings.admin_ids:
            return True
        chat_id = settings.operators_chat_id
        if chat_id is None:
            return False
        now = time.monotonic()
        cached = self._cache.get((chat_id, user_id))
        if cached is not None and cached[1] > now:
            return cached[0]
        try:
            member = await bot.get_chat_member(chat_id, user_id)
        except TelegramAPIError as error:
            log.warning("getChatMember failed: %s", type(error).__name__)
            return False  # not cached: a transient failure should not lock an operator out
        status = str(getattr(member.status, "value", member.status))  # a (str, Enum) or a str
        allowed = status in MEMBER_STATUSES or (
            status == "restricted" and bool(getattr(member, "is_member", False))
        )
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[(chat_id, user_id)] = (allowed, now + self.ttl)
        return allowed

    async def message_from_operator(self, message: Message, bot: Bot, settings: Settings) -> bool:
        # An anonymous administrator posts on behalf of the chat itself.
        if message.sender_chat is not None:
            return message.sender_chat.id == settings.operators_chat_id
        if message.from_user is None or message.from_user.is_bot:
            return False
        return await self.is_operator(bot, settings, message.from_user.id)


class InOperatorsChat(Filter):
    """Updates from the operators' chat; hands the router's `OperatorCheck` to its handlers as
    `operators` (one membership cache per router)."""

    def __init__(self, check: OperatorCheck) -> None:
        self.check = check

    async def __call__(
        self, event: Message | CallbackQuery, settings: Settings
    ) -> bool | dict[str, Any]:
        chat_id = settings.operators_chat_id
        if chat_id is None:
            return False
        if isinstance(event, CallbackQuery):
            chat = event.message.chat.id if event.message is not None else None
        else:
            chat = event.chat.id
        return {"operators": self.check} if chat == chat_id else False


class FromOperator(Filter):
    """A message from an operator: a member of the chat, its anonymous administrator, or an
    administrator. Goes after `InOperatorsChat`, whose check it uses."""

    async def __call__(
        self, message: Message, bot: Bot, settings: Settings, operators: OperatorCheck
    ) -> bool:
        return await operators.message_from_operator(message, bot, settings)


class IsReply(Filter):
    async def __call__(self, message: Message) -> bool:
        return message.reply_to_message is not None


class IsAdmin(Filter):
    async def __call__(self, event: Message | CallbackQuery, settings: Settings) -> bool:
        return event.from_user is not None and event.from_user.id in settings.admin_ids


class OperatorHere(Filter):
    """An operator where the billing flows work: a member of the operators' chat writing or
    pressing a button there, or an administrator in a private chat. Hands the membership check
    to the handler as `operators`."""

    def __init__(self, check: OperatorCheck) -> None:
        self.check = check

    async def __call__(
        self, event: Message | CallbackQuery, bot: Bot, settings: Settings
    ) -> bool | dict[str, Any]:
        if isinstance(event, CallbackQuery):
            chat = event.message.chat if event.message is not None else None
        else:
            chat = event.chat
        if chat is None or event.from_user is None:
            return False
        if chat.type == "private":
            allowed = event.from_user.id in settings.admin_ids
        elif chat.id != settings.operators_chat_id:
            allowed = False
        elif isinstance(event, Message):
            allowed = await self.check.message_from_operator(event, bot, settings)
        else:
            allowed = await self.check.is_operator(bot, settings, event.from_user.id)
        return {"operators": self.check} if allowed else False


class HasDocument(Filter):
    async def __call__(self, message: Message) -> bool:
        return message.document is not None
