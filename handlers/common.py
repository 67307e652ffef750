"""/help, /cancel, the main menu, and the fallback for anything no other router took."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from keyboards.menu import main_menu
from storage.models import Resident
from texts.ru import common as t

MAX_TEXT = 4096


def router() -> Router:
    r = Router(name="common")

    @r.message(Command("help"))
    async def on_help(message: Message, resident: Resident | None) -> None:
        registered = resident is not None and resident.is_registered
        await message.answer(t.HELP, reply_markup=main_menu() if registered else None)

    @r.message(Command("cancel"))
    async def on_cancel(message: Message, state: FSMContext, resident: Resident | None) -> None:
        registered = resident is not None and resident.is_registered
        current = await state.get_state()
        await state.clear()
        await message.answer(
            t.CANCELLED if current else t.NOTHING_TO_CANCEL,
            reply_markup=main_menu() if registered else None,
        )

    return r


def fallback_router() -> Router:
    """Last in line: every update that nothing else took gets a clear, short answer."""
    r = Router(name="fallback")

    @r.message(StateFilter(None))
    async def on_anything(message: Message, resident: Resident | None) -> None:
        if message.chat.type != "private":
            return
        if resident is None or not resident.is_registered:
            await message.answer(t.NOT_REGISTERED)
            return
        await message.answer(t.UNKNOWN, reply_markup=main_menu())

    @r.message()
    async def on_unexpected_in_dialogue(message: Message) -> None:
        # A safety net: each dialogue has its own hint; this answers what slipped past them.
        if message.chat.type == "private":
            await message.answer(t.UNEXPECTED_IN_DIALOGUE)

    @r.callback_query()
    async def on_stale_button(callback: CallbackQuery) -> None:
        await callback.answer(t.STALE_BUTTON, show_alert=True)

    return r
