"""The last resort: log the failure with the update id, apologize to the resident."""

from __future__ import annotations

import logging

from aiogram import Bot, Router
from aiogram.types import ErrorEvent

from texts.ru import common as t

log = logging.getLogger("bot.errors")


def router() -> Router:
    r = Router(name="errors")

    @r.errors()
    async def on_error(event: ErrorEvent, bot: Bot) -> None:
        update = event.update
        # The exception's text may quote message text: log its type and the update id only
        # at ERROR, the traceback at DEBUG for developers.
        log.error(
            "update %s failed: %s",
            update.update_id,
            type(event.exception).__name__,
            exc_info=log.isEnabledFor(logging.DEBUG) or None,
        )
        chat_id = None
        if update.message:
            chat_id = update.message.chat.id
        elif update.callback_query:
            if update.callback_query.message:
                chat_id = update.callback_query.message.chat.id
            try:
                await update.callback_query.answer()
            except Exception:  # the apology below matters more than the spinner
                log.debug("could not answer callback of update %s", update.update_id)
        if chat_id is not None:
            try:
                await bot.send_message(chat_id, t.ERROR)
            except Exception:
                log.warning("could not apologize for update %s", update.update_id)

    return r
