"""Operators' look at a reading's evidence: `/photo <file_id>` (the «Фото» column of the readings
export) sends the photo the resident took of the meter, with the reading it belongs to. Only a
file_id some reading carries is sent: the command is no proxy for other files."""

from __future__ import annotations

import logging

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.operators.filters import OperatorCheck, OperatorHere
from storage.periods import format_period
from storage.repo import readings as repo
from texts import fmt
from texts.ru import imports as t

log = logging.getLogger(__name__)


def router() -> Router:
    r = Router(name="operators_readings")
    r.message.register(on_photo, Command("photo"), OperatorHere(OperatorCheck()))
    return r


async def on_photo(message: Message, command: CommandObject, session: AsyncSession) -> None:
    file_id = (command.args or "").strip()
    if not file_id:
        await message.answer(t.PHOTO_USAGE)
        return
    reading = await repo.photo_reading(session, file_id)
    if reading is None:
        await message.answer(t.PHOTO_UNKNOWN)
        return
    operator = message.from_user.id if message.from_user is not None else 0
    log.info("operator %s opened a reading's photo", operator)
    caption = t.PHOTO_CAPTION.format(
        account=fmt.esc(reading.account),
        meter=fmt.esc(reading.serial or reading.meter),
        period=format_period(reading.period),
        value=fmt.volume(reading.value),
    )
    await message.answer_photo(file_id, caption=caption)
