"""The one UI toolkit of the handlers: showing a screen, step-input filters.

One policy for every feature (CONVENTIONS 15):
- `edit_or_send` shows a screen in place of the message whose button was pressed; "message is not
  modified" (the same screen again, e.g. a double tap) is silent; a message that cannot be edited
  (too old, a photo, deleted, inaccessible) gets the screen as a new message. Any other API error
  (a 429 the retry middleware did not absorb, a network error) propagates to the error handler:
  re-sending then would only show the screen twice.
- A step of a dialogue takes its input through `StepInput()`: /cancel, /help, /start and the main
  menu's buttons always keep their meaning.
- A command with arguments parses them in its filter (`arguments`); one that does not fit gets
  its usage from `on_usage`.
- A document made for the resident (a receipt, a statement) is rendered in the render pool and
  sent by `send_rendered`; a render that fails gets the feature's apology, never silence.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from aiogram import Bot, F
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.dispatcher.event.handler import HandlerObject
from aiogram.dispatcher.flags import get_flag
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Filter
from aiogram.fsm.context import FSMContext
from aiogram.types import (
    BufferedInputFile,
    CallbackQuery,
    ForceReply,
    InlineKeyboardMarkup,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)
from magic_filter import MagicFilter

from keyboards.menu import MENU_BUTTONS
from receipts.pool import run_cpu

log = logging.getLogger(__name__)

Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | ForceReply

# Commands that work in every step (handled by their own routers), so a step never takes them
# as its input. Any other command in a step gets the step's hint.
PASS_THROUGH = frozenset({"/cancel", "/help", "/start"})
MENU_TEXTS = frozenset(MENU_BUTTONS)
Content = TypeVar("Content")


def command_of(text: str | None) -> str | None:
    """`/Reply@bot 5 text` -> `/reply`; None for a text that is not a command."""
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


class HasPhoto(Filter):
    async def __call__(self, message: Message) -> bool:
        return bool(message.photo)


def arguments(name: str, parse: Callable[[str], object | None]) -> MagicFilter:
    """For `Command(..., magic=arguments(name, parse))`: the command's arguments (the text after
    it) that `parse` understands (not None), handed to the handler as `name`. A command whose
    arguments do not fit goes on to the next handler: register `on_usage` after it."""
    return F.args.func(lambda args: _named(name, parse(args or "")))


def _named(name: str, value: object | None) -> dict[str, object] | None:
    return None if value is None else {name: value}


async def on_usage(message: Message, handler: HandlerObject) -> None:
    """A command with arguments that do not fit: how to use it (the handler's `usage` flag)."""
    await message.answer(get_flag(handler, "usage"))


async def leave_dialogue(message: Message, state: FSMContext) -> None:
    """A main-menu button pressed inside a dialogue: the dialogue ends and the button's own
    feature answers it (register with the dialogue's `StateFilter` and `TextIs(*MENU_BUTTONS)`)."""
    await state.clear()
    raise SkipHandler


def is_not_modified(error: TelegramBadRequest) -> bool:
    return "not modified" in error.message


async def edit_or_send(
    event: CallbackQuery | Message, text: str, markup: Markup | None = None
) -> Message | None:
    """Show a screen: in place of the pressed button's message when it can be edited, else as a
    new message in the same chat. A `Message` event (a typed command) always gets a new message.
    Returns the message that shows the screen (None when nothing could be shown)."""
    if isinstance(event, Message):
        return await event.answer(text, reply_markup=markup)
    message = event.message
    if isinstance(message, Message) and message.text is not None and _inline(markup):
        try:
            edited = await message.edit_text(text, reply_markup=markup)  # type: ignore[arg-type]
        except TelegramBadRequest as error:
            if is_not_modified(error):
                return message
            log.debug("edit refused, sending anew: %s", type(error).__name__)
        else:
            return edited if isinstance(edited, Message) else message
    return await say(event, text, markup)


async def show_or_alert(
    callback: CallbackQuery, screen: tuple[str, Markup | None] | None, alert: str
) -> None:
    """Answer a pressed button with `screen` (text and keyboard, shown by `edit_or_send`), or,
    when there is nothing to show (None), with `alert` in an alert and nothing else."""
    if screen is None:
        await callback.answer(alert, show_alert=True)
        return
    await callback.answer()
    await edit_or_send(callback, *screen)


def _inline(markup: Markup | None) -> bool:
    """An edited message can carry only an inline keyboard (or none)."""
    return markup is None or isinstance(markup, InlineKeyboardMarkup)


async def say(callback: CallbackQuery, text: str, markup: Markup | None = None) -> Message | None:
    """Send a new message to the chat of a pressed button (its message may be inaccessible)."""
    if callback.message is None or callback.bot is None:
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


async def send_rendered(
    callback: CallbackQuery,
    bot: Bot,
    render: Callable[[Content], bytes],
    content: Content,
    *,
    texts: tuple[str, str],
    filename: str,
    caption: str,
    reply_markup: InlineKeyboardMarkup | None = None,
) -> None:
    """Say the document is on its way, render `content` in the render pool and send it to the
    resident's chat. `texts`: (preparing, render failed)."""
    preparing, failed = texts
    await callback.answer(preparing)
    chat_id = callback.from_user.id
    try:
        pdf = await run_cpu(render, content)
    except Exception as error:  # a broken render must not leave the resident without an answer
        log.exception("%s failed: %s", getattr(render, "__name__", "render"), type(error).__name__)
        await bot.send_message(chat_id, failed)
        return
    await bot.send_document(
        chat_id, BufferedInputFile(pdf, filename), caption=caption, reply_markup=reply_markup
    )
