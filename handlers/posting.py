"""The Telegram side of appeals' correspondence, shared by the resident's appeals feature, the
operators' chat and the scheduler's sweep: posts in the operators' chat (`TelegramOperatorsChat`,
the `services.appeals.OperatorsChat` they post through), their buttons and notes, and deliveries
to a resident. No handlers here: what is stored and when is `services.appeals`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from enum import StrEnum

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramForbiddenError
from aiogram.types import InlineKeyboardMarkup, InputMediaPhoto, ReplyParameters
from sqlalchemy.ext.asyncio import AsyncSession

from keyboards import operators as kb
from services import appeals as service
from services.appeals import Topic
from storage.models import Appeal, AppealMessage
from texts import fmt
from texts.ru import appeals as ta
from texts.ru import operators as t

log = logging.getLogger(__name__)


def _timezone(appeal: Appeal) -> str | None:
    organization = appeal.account.organization if appeal.account else appeal.organization
    return organization.timezone if organization else None


def _about(appeal: Appeal) -> str:
    """What the appeal is about: the account, or (none linked) the address the resident wrote."""
    account = appeal.account
    if account is None:
        name = appeal.organization.name if appeal.organization else t.NO_VALUE
        return t.POST_NO_ACCOUNT.format(organization=fmt.esc(name), address=fmt.esc(appeal.address))
    return t.POST_ACCOUNT.format(
        number=fmt.esc(account.number),
        organization=fmt.esc(account.organization.name),
        address=fmt.esc(fmt.address(account.apartment.house.address, account.apartment.number)),
        holder=fmt.esc(account.holder_name or t.NO_VALUE),
    )


def render_post(appeal: Appeal) -> str:
    """The appeal's post for operators. Every stored value is escaped: HTML in a text stays text."""
    first = appeal.messages[0]
    resident = appeal.resident
    text = t.POST.format(
        id=appeal.id,
        topic=fmt.esc(ta.TOPICS.get(appeal.topic, appeal.topic)),
        about=_about(appeal),
        phone=fmt.esc(resident.phone or t.NO_VALUE) if resident else t.RESIDENT_DELETED,
        when=ta.when(appeal.created_at, _timezone(appeal)),
        text=fmt.esc(first.text),
    )
    if appeal.answer_due is not None:
        text += t.POST_DUE.format(due=fmt.day(appeal.answer_due))
    if first.photo_file_ids:
        text += t.POST_PHOTOS.format(n=len(first.photo_file_ids))
    if appeal.topic == Topic.EMERGENCY:
        text = t.POST_EMERGENCY + text
    return text + t.POST_HINT


def render_resident_message(appeal: Appeal, message: AppealMessage) -> str:
    text = t.RESIDENT_MESSAGE.format(
        id=appeal.id,
        when=ta.when(message.created_at, _timezone(appeal)),
        text=fmt.esc(message.text),
    )
    if message.photo_file_ids:
        text += t.POST_PHOTOS.format(n=len(message.photo_file_ids))
    return text


def _reply_to(message_id: int | None) -> ReplyParameters | None:
    if message_id is None:
        return None
    return ReplyParameters(message_id=message_id, allow_sending_without_reply=True)


async def send_photos(
    bot: Bot, chat_id: int, appeal_id: int, file_ids: Sequence[str], reply_to: int | None
) -> None:
    """Photos under a post or an answer (an album for several). Best effort: the text is already
    there and the file ids stay stored with the thread."""
    if not file_ids:
        return
    caption = t.PHOTO_CAPTION.format(id=appeal_id)
    try:
        if len(file_ids) == 1:
            await bot.send_photo(
                chat_id, file_ids[0], caption=caption, reply_parameters=_reply_to(reply_to)
            )
            return
        media = [
            InputMediaPhoto(media=file_id, caption=caption if i == 0 else None)
            for i, file_id in enumerate(file_ids[: service.MAX_PHOTOS])
        ]
        await bot.send_media_group(chat_id, media, reply_parameters=_reply_to(reply_to))
    except TelegramAPIError as error:
        log.warning("appeal %s: photos not posted: %s", appeal_id, type(error).__name__)


class TelegramOperatorsChat:
    """The operators' chat of the settings (`None`: not configured, nothing is ever posted)."""

    def __init__(self, bot: Bot, chat_id: int | None) -> None:
        self.bot = bot
        self.chat_id = chat_id

    async def post_appeal(self, appeal: Appeal) -> int | None:
        if self.chat_id is None:
            return None
        try:
            sent = await self.bot.send_message(
                self.chat_id,
                render_post(appeal),
                reply_markup=kb.appeal_post(appeal.id, appeal.status),
            )
        except TelegramAPIError as error:
            log.warning("appeal %s: post failed: %s", appeal.id, type(error).__name__)
            return None
        first = appeal.messages[0].photo_file_ids
        await send_photos(self.bot, self.chat_id, appeal.id, first, sent.message_id)
        return sent.message_id

    async def post_message(self, appeal: Appeal, message: AppealMessage) -> int | None:
        if self.chat_id is None:
            return None
        try:
            sent = await self.bot.send_message(
                self.chat_id,
                render_resident_message(appeal, message),
                reply_parameters=_reply_to(appeal.operators_message_id),
            )
        except TelegramAPIError as error:
            log.warning("appeal %s: message not posted: %s", appeal.id, type(error).__name__)
            return None
        await send_photos(
            self.bot, self.chat_id, appeal.id, message.photo_file_ids, sent.message_id
        )
        return sent.message_id

    async def pin(self, appeal: Appeal) -> bool:
        """Pin an emergency's post (the bot needs the right to pin; without it the post stays
        marked 🚨, unpinned)."""
        if self.chat_id is None or appeal.operators_message_id is None:
            return False
        try:
            await self.bot.pin_chat_message(self.chat_id, appeal.operators_message_id)
        except TelegramAPIError as error:
            log.warning("appeal %s: not pinned: %s", appeal.id, type(error).__name__)
            return False
        return True

    async def unpin(self, appeal: Appeal) -> None:
        if self.chat_id is None or appeal.operators_message_id is None:
            return
        try:
            await self.bot.unpin_chat_message(self.chat_id, message_id=appeal.operators_message_id)
        except TelegramAPIError as error:  # unpinned by hand, or the post is gone: not fatal
            log.debug("appeal %s: not unpinned: %s", appeal.id, type(error).__name__)

    async def update_buttons(self, appeal: Appeal) -> None:
        """The post's buttons after a status change (none once closed)."""
        if self.chat_id is None or appeal.operators_message_id is None:
            return
        try:
            await self.bot.edit_message_reply_markup(
                chat_id=self.chat_id,
                message_id=appeal.operators_message_id,
                reply_markup=kb.appeal_post(appeal.id, appeal.status),
            )
        except TelegramAPIError as error:  # "message is not modified", a deleted post: not fatal
            log.debug("appeal %s: buttons not updated: %s", appeal.id, type(error).__name__)

    async def notify(self, appeal: Appeal, text: str) -> None:
        """A note for operators, as a reply to the appeal's post when there is one."""
        if self.chat_id is None:
            return
        try:
            await self.bot.send_message(
                self.chat_id, text, reply_parameters=_reply_to(appeal.operators_message_id)
            )
        except TelegramAPIError as error:
            log.warning("appeal %s: note to operators failed: %s", appeal.id, type(error).__name__)


class Delivery(StrEnum):
    SENT = "sent"
    BLOCKED = "blocked"
    FAILED = "failed"
    NO_RESIDENT = "no_resident"


async def deliver(
    bot: Bot,
    session: AsyncSession,
    appeal: Appeal,
    text: str,
    markup: InlineKeyboardMarkup | None = None,
    photos: Sequence[str] = (),
) -> Delivery:
    """Send a message (and photos) to the appeal's resident; a resident who blocked the bot is
    marked unreachable."""
    resident = appeal.resident
    if resident is None:
        return Delivery.NO_RESIDENT
    try:
        await bot.send_message(resident.chat_id, text, reply_markup=markup)
    except TelegramForbiddenError:
        await service.resident_blocked(session, resident.id)
        log.info("appeal %s: the resident blocked the bot", appeal.id)
        return Delivery.BLOCKED
    except TelegramAPIError as error:
        log.warning(
            "appeal %s: delivery to the resident failed: %s", appeal.id, type(error).__name__
        )
        return Delivery.FAILED
    await send_photos(bot, resident.chat_id, appeal.id, photos, None)
    return Delivery.SENT
