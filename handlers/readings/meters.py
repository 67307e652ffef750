"""The meters list (menu button, /readings, the card's button) and one meter's history."""

from __future__ import annotations

from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.readings import views
from handlers.ui import edit_or_send, say
from keyboards.accounts import no_accounts
from keyboards.callbacks import ReadingsHistory
from services.readings import meters as service
from storage.models import Account, Resident
from storage.repo.accounts import linked_accounts
from texts.ru import common


async def show_readings(message: Message, session: AsyncSession, resident: Resident) -> None:
    accounts = [a for a in await linked_accounts(session, resident.id) if not a.closed]
    if not accounts:
        await message.answer(common.NO_ACCOUNTS, reply_markup=no_accounts())
        return
    if len(accounts) == 1:
        text, markup = views.meters_screen(await service.overview(session, accounts[0]))
    else:
        text, markup = views.account_choice(accounts)
    await message.answer(text, reply_markup=markup)


async def open_readings(callback: CallbackQuery, session: AsyncSession, account: Account) -> None:
    await callback.answer()
    text, markup = views.meters_screen(await service.overview(session, account))
    await say(callback, text, markup)


async def open_history(
    callback: CallbackQuery,
    callback_data: ReadingsHistory,
    session: AsyncSession,
    account: Account,
) -> None:
    meters = await service.meters_of(session, account)
    if callback_data.meter_id == 0 and len(meters) != 1:
        await callback.answer()
        text, markup = views.history_meter_choice(account, meters)
        await say(callback, text, markup)
        return
    meter = meters[0] if callback_data.meter_id == 0 else None
    meter = meter or next((m for m in meters if m.id == callback_data.meter_id), None)
    if meter is None:  # forged: a meter of another account
        await callback.answer(common.ACCOUNT_NOT_AVAILABLE, show_alert=True)
        return
    history = await service.history(session, meter, callback_data.page)
    text, markup = views.history_screen(account, history, callback_data.via, len(meters) > 1)
    await callback.answer()
    own = f"{ReadingsHistory.__prefix__}:{account.id}:{meter.id}:"
    if _shows_button(callback, own):  # paging: turn the page in place
        await edit_or_send(callback, text, markup)
    else:
        await say(callback, text, markup)


def _shows_button(callback: CallbackQuery, prefix: str) -> bool:
    """The pressed message has a button of this screen (a page of the same meter's history)."""
    message = callback.message
    markup = message.reply_markup if isinstance(message, Message) else None
    if not isinstance(markup, InlineKeyboardMarkup):
        return False
    return any(
        (button.callback_data or "").startswith(prefix)
        for row in markup.inline_keyboard
        for button in row
    )
