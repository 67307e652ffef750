"""«📞 Контакты»: the organizations' phones, e-mail, address, office hours and emergency
dispatch phone, from the main menu (every organization of the resident's accounts), /contacts,
and an account's card (that account's organization)."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.access import registered_only
from handlers.filters import TextIs
from handlers.ui import edit_or_send
from keyboards.callbacks import OpenContacts
from keyboards.contacts import back_to_card
from services import contacts
from storage.models import Account, Resident
from texts.ru import common as tc
from texts.ru import contacts as t


async def contacts_text(session: AsyncSession, resident_id: int | None) -> str:
    """Every organization of the resident's accounts (or all, with a note, when none is linked)."""
    organizations, linked = await contacts.of_resident(session, resident_id)
    if not organizations:
        return t.NO_ORGANIZATIONS
    parts = [t.TITLE, t.blocks(organizations)]
    if not linked:
        parts.insert(1, t.NONE_LINKED)
    return "\n\n".join(parts)


async def on_menu(message: Message, session: AsyncSession, resident: Resident) -> None:
    await message.answer(await contacts_text(session, resident.id))


async def on_account(callback: CallbackQuery, account: Account) -> None:
    """The card's «📞 Контакты»: the account (authorized by the gate) names the organization."""
    await callback.answer()
    text = f"{t.TITLE_ONE}\n\n{t.block(account.organization)}"
    await edit_or_send(callback, text, back_to_card(account.id))


def router() -> Router:
    r = registered_only(Router(name="contacts"))
    r.message.register(on_menu, TextIs(tc.BTN_CONTACTS))
    r.message.register(on_menu, Command("contacts"))
    r.callback_query.register(on_account, OpenContacts.filter())
    return r
