"""Small pieces shared by the residents' dialogues (registration, linking, profile)."""

from __future__ import annotations

import datetime as dt
import logging
from zoneinfo import ZoneInfo

import phonenumbers
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Filter
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

from keyboards.menu import MENU_BUTTONS

log = logging.getLogger(__name__)

# Commands that work in every step (handled by their own routers), so a step never takes them
# as its input. Any other command in a step gets the step's hint.
PASS_THROUGH = frozenset({"/cancel", "/help", "/start"})
MENU_TEXTS = frozenset(MENU_BUTTONS)


def command_of(text: str | None) -> str | None:
    if not text or not text.startswith("/"):
        return None
    return text.split(maxsplit=1)[0].split("@", 1)[0].lower()


class StepInput(Filter):
    """Anything a step should answer: not /cancel, /help, /start, nor a main-menu button."""

    async def __call__(self, message: Message) -> bool:
        if command_of(message.text) in PASS_THROUGH:
            return False
        return message.text not in MENU_TEXTS


class PlainText(Filter):
    """A text message that is not a command."""

    async def __call__(self, message: Message) -> bool:
        return message.text is not None and not message.text.startswith("/")


class HasContact(Filter):
    async def __call__(self, message: Message) -> bool:
        return message.contact is not None


def normalize_phone(raw: str) -> str | None:
    """E.164 (`+79991234567`) or None. Telegram sends its numbers without "+", so a bare
    international number is tried first, then a Russian national one (8 999 …)."""
    digits = "".join(ch for ch in raw if ch.isdigit() or ch == "+")
    if not digits:
        return None
    candidates = [digits] if digits.startswith("+") else [f"+{digits}", digits]
    for candidate in candidates:
        try:
            number = phonenumbers.parse(candidate, "RU")
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return None


def display_phone(e164: str | None) -> str:
    if not e164:
        return "—"
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def local_time(moment: dt.datetime, timezone: str) -> str:
    """A naive-UTC moment as `26.11.2026 в 14:05` in the given zone (мск for Moscow)."""
    zone = ZoneInfo(timezone)
    local = moment.replace(tzinfo=dt.UTC).astimezone(zone)
    text = f"{local:%d.%m.%Y} в {local:%H:%M}"
    return f"{text} (мск)" if timezone == "Europe/Moscow" else text


async def edit_or_send(
    callback: CallbackQuery, text: str, markup: InlineKeyboardMarkup | None = None
) -> None:
    """Show a step in place of the message whose button was pressed (lists, paging), or as a
    new message when that one cannot be edited."""
    message = callback.message
    if isinstance(message, Message) and message.text is not None:
        try:
            await message.edit_text(text, reply_markup=markup)
            return
        except TelegramBadRequest as error:
            if "not modified" in str(error):
                return
            log.debug("edit failed, sending anew: %s", type(error).__name__)
    if message is not None:
        await callback.bot.send_message(message.chat.id, text, reply_markup=markup)


async def say(callback: CallbackQuery, text: str, markup=None) -> Message | None:
    """Send a new message to the chat of a pressed button (its message may be inaccessible)."""
    if callback.message is None:
        return None
    return await callback.bot.send_message(callback.message.chat.id, text, reply_markup=markup)


async def drop_buttons(callback: CallbackQuery) -> None:
    """Remove the buttons of an answered question, so that it cannot be answered twice."""
    message = callback.message
    if isinstance(message, Message) and message.reply_markup is not None:
        try:
            await message.edit_reply_markup(reply_markup=None)
        except TelegramBadRequest:
            log.debug("could not drop buttons")
