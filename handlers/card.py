""" "🏠 Мои счета" and /accounts: the accounts list, the account card, the month's charges.

Every account id that comes with a callback is authorized against the resident's links
(`get_linked_account`) before anything of the account is read.
"""

from __future__ import annotations

import logging

from aiogram import Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.access import authorized, registered_only
from handlers.filters import TextIs
from handlers.views import card as view
from keyboards import card as kb
from keyboards.accounts import LinkStart
from keyboards.callbacks import OpenCard
from storage.models import Resident
from storage.periods import int_to_period
from storage.repo import billing
from storage.repo.accounts import linked_accounts
from texts import fmt
from texts.ru import card as t
from texts.ru import common

log = logging.getLogger(__name__)


async def show(
    callback: CallbackQuery, text: str, markup: InlineKeyboardMarkup | None = None
) -> None:
    """Navigation edits the message the button was on; a photo, or a message Telegram no
    longer lets the bot edit (older than 48 hours), gets a new message instead."""
    message = callback.message
    if isinstance(message, Message) and message.text is not None:
        try:
            await message.edit_text(text, reply_markup=markup)
        except TelegramBadRequest as error:
            if "not modified" not in str(error):
                log.info("message not editable (%s): sending a new one", type(error).__name__)
                await message.answer(text, reply_markup=markup)
        await callback.answer()
        return
    await callback.answer()
    chat_id = message.chat.id if message is not None else callback.from_user.id
    await callback.bot.send_message(chat_id, text, reply_markup=markup)  # type: ignore[union-attr]


def link_button() -> InlineKeyboardButton:
    """The linking flow's entry point (handlers/accounts.py)."""
    return InlineKeyboardButton(text=t.BTN_LINK, callback_data=LinkStart().pack())


async def send_accounts(message: Message, session: AsyncSession, resident: Resident) -> None:
    accounts = await linked_accounts(session, resident.id)
    if not accounts:
        await message.answer(
            f"{common.NO_ACCOUNTS}\n{t.NO_ACCOUNTS_HINT}",
            reply_markup=kb.link_keyboard(link_button()),
        )
        return
    if len(accounts) == 1:
        account = accounts[0]
        balance = await billing.balance(session, account.id)
        await message.answer(
            view.card_text(account, balance),
            reply_markup=kb.card_keyboard(account.id, several=False),
        )
        return
    balances = await billing.balances(session, [a.id for a in accounts])
    await message.answer(
        view.list_text(accounts, balances),
        reply_markup=kb.accounts_keyboard(
            [(a.id, view.list_button(a, balances.get(a.id))) for a in accounts]
        ),
    )


def router() -> Router:
    r = registered_only(Router(name="card"))

    @r.message(Command("accounts"))
    async def on_accounts_command(
        message: Message, session: AsyncSession, resident: Resident
    ) -> None:
        await send_accounts(message, session, resident)

    @r.message(TextIs(common.BTN_ACCOUNTS))
    async def on_accounts_button(
        message: Message, session: AsyncSession, resident: Resident
    ) -> None:
        await send_accounts(message, session, resident)

    @r.callback_query(kb.AccountsList.filter())
    async def on_list(callback: CallbackQuery, session: AsyncSession, resident: Resident) -> None:
        accounts = await linked_accounts(session, resident.id)
        if not accounts:
            await show(callback, common.NO_ACCOUNTS, kb.link_keyboard(link_button()))
            return
        balances = await billing.balances(session, [a.id for a in accounts])
        await show(
            callback,
            view.list_text(accounts, balances),
            kb.accounts_keyboard(
                [(a.id, view.list_button(a, balances.get(a.id))) for a in accounts]
            ),
        )

    @r.callback_query(OpenCard.filter())
    async def on_card(
        callback: CallbackQuery,
        callback_data: OpenCard,
        session: AsyncSession,
        resident: Resident,
    ) -> None:
        account = await authorized(callback, session, resident, callback_data.account_id)
        if account is None:
            return
        balance, links = await billing.card_summary(session, account.id, resident.id)
        await show(
            callback,
            view.card_text(account, balance),
            kb.card_keyboard(account.id, several=links > 1),
        )

    @r.callback_query(kb.ChargesMonth.filter())
    async def on_month(
        callback: CallbackQuery,
        callback_data: kb.ChargesMonth,
        session: AsyncSession,
        resident: Resident,
    ) -> None:
        account = await authorized(callback, session, resident, callback_data.account_id)
        if account is None:
            return
        period = None
        if callback_data.period != 0:
            try:
                period = int_to_period(callback_data.period)
            except ValueError:
                await callback.answer(t.NO_DATA, show_alert=True)
                return
        month = await billing.month_charges(session, account.id, period)
        if month is None:
            text = t.NO_CHARGES_YET if period is None else view.no_month_text(fmt.month(period))
            await callback.answer(text, show_alert=True)
            return
        await show(
            callback,
            view.month_text(account.number, month),
            kb.month_keyboard(account.id, month.previous, month.next),
        )

    return r
