"""/help, /cancel, the main menu, and the fallback for anything no other router took."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message, ReplyKeyboardMarkup
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.ui import say
from keyboards.callbacks import OpenMenu
from keyboards.menu import main_menu
from services import contacts
from storage.models import Resident
from texts.ru import common as t
from texts.ru import contacts as tk


def _menu_for(resident: Resident | None) -> ReplyKeyboardMarkup | None:
    registered = resident is not None and resident.is_registered
    return main_menu() if registered else None


async def on_help(message: Message, session: AsyncSession, resident: Resident | None) -> None:
    """What the bot does, then whom to call: the contacts of the resident's organizations (of
    every organization before an account is linked)."""
    organizations, linked = await contacts.of_resident(
        session, resident.id if resident is not None else None
    )
    text = t.HELP
    if organizations:
        title = tk.HELP_TITLE_ALL
        if linked:
            title = tk.HELP_TITLE if len(organizations) == 1 else tk.HELP_TITLE_MANY
        text += f"\n\n{title}\n\n{tk.blocks(organizations)}"
    await message.answer(text, reply_markup=_menu_for(resident))


async def on_cancel(message: Message, state: FSMContext, resident: Resident | None) -> None:
    current = await state.get_state()
    await state.clear()
    await message.answer(
        t.CANCELLED if current else t.NOTHING_TO_CANCEL, reply_markup=_menu_for(resident)
    )


async def on_menu_button(
    callback: CallbackQuery, state: FSMContext, resident: Resident | None
) -> None:
    """«🏠 Меню»: whatever was under way ends, and the main menu comes as a new message (a reply
    keyboard cannot be edited into the pressed message)."""
    await state.clear()
    await callback.answer()
    registered = resident is not None and resident.is_registered
    await say(callback, t.MENU if registered else t.NOT_REGISTERED, _menu_for(resident))


def router() -> Router:
    r = Router(name="common")
    r.message.register(on_help, Command("help"))
    r.message.register(on_cancel, Command("cancel"))
    r.callback_query.register(on_menu_button, OpenMenu.filter())
    return r


async def on_anything(message: Message, resident: Resident | None) -> None:
    if message.chat.type != "private":
        return
    if resident is None or not resident.is_registered:
        await message.answer(t.NOT_REGISTERED)
        return
    await message.answer(t.UNKNOWN, reply_markup=main_menu())


async def on_unexpected_in_dialogue(message: Message) -> None:
    # A safety net: each dialogue has its own hint; this answers what slipped past them.
    if message.chat.type == "private":
        await message.answer(t.UNEXPECTED_IN_DIALOGUE)


async def on_stale_button(callback: CallbackQuery) -> None:
    await callback.answer(t.STALE_BUTTON, show_alert=True)


def fallback_router() -> Router:
    """Last in line: every update that nothing else took gets a clear, short answer."""
    r = Router(name="fallback")
    r.message.register(on_anything, StateFilter(None))
    r.message.register(on_unexpected_in_dialogue)
    r.callback_query.register(on_stale_button)
    return r
