""" "🧾 Квитанции", /receipts and the card's "receipt" button: pick the account, then the month,
and get the PDF as a document.

The account a button names arrives authorized as `account` (`handlers.access.AccountAccess`);
the PDF is rendered in the render pool, never on the event loop.
"""

from __future__ import annotations

import datetime as dt

from aiogram import Bot, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.access import NamedPeriod, registered_only
from handlers.filters import TextIs
from handlers.ui import edit_or_send, say, send_rendered
from keyboards import receipts as kb
from keyboards.accounts import no_accounts
from keyboards.callbacks import OpenReceipts
from keyboards.payments import pay_keyboard
from receipts.data import load_receipt, receipt_periods
from receipts.push import receipt_filename
from receipts.render import receipt_pdf
from storage.models import Account, Resident
from storage.repo import billing
from storage.repo.accounts import linked_accounts
from texts import fmt
from texts.ru import common
from texts.ru import receipts as t


def router() -> Router:
    r = registered_only(Router(name="receipts"))
    r.callback_query.middleware(NamedPeriod(alert=common.STALE_BUTTON))
    r.message.register(on_menu, Command("receipts"))
    r.message.register(on_menu, TextIs(common.BTN_RECEIPTS))
    r.callback_query.register(on_open, OpenReceipts.filter())
    r.callback_query.register(on_accounts, kb.ReceiptAccounts.filter())
    r.callback_query.register(on_months, kb.ReceiptMonths.filter())
    r.callback_query.register(on_get, kb.ReceiptGet.filter())
    return r


async def _months_view(
    session: AsyncSession, resident: Resident, account: Account, page: int
) -> tuple[str, InlineKeyboardMarkup | None]:
    periods = await receipt_periods(session, account.id)
    number = fmt.esc(account.number)
    if not periods:
        return t.NO_PERIODS.format(number=number), None
    several = await billing.link_count(session, resident.id) > 1
    apartment = account.apartment
    address = fmt.address(apartment.house.address, apartment.number)
    text = t.CHOOSE_MONTH.format(number=number, address=fmt.esc(address))
    return text, kb.choose_month(account.id, periods, page, several_accounts=several)


async def on_menu(message: Message, session: AsyncSession, resident: Resident) -> None:
    accounts = await linked_accounts(session, resident.id)
    if not accounts:
        await message.answer(common.NO_ACCOUNTS, reply_markup=no_accounts())
        return
    if len(accounts) == 1:
        text, markup = await _months_view(session, resident, accounts[0], 0)
        await message.answer(text, reply_markup=markup)
        return
    await message.answer(t.CHOOSE_ACCOUNT, reply_markup=kb.choose_account(accounts))


async def on_open(
    callback: CallbackQuery, account: Account, session: AsyncSession, resident: Resident
) -> None:
    """From the account card: the month picker as a new message (the card stays)."""
    text, markup = await _months_view(session, resident, account, 0)
    await callback.answer()
    await say(callback, text, markup)


async def on_accounts(callback: CallbackQuery, session: AsyncSession, resident: Resident) -> None:
    accounts = await linked_accounts(session, resident.id)
    if not accounts:
        await callback.answer(common.NO_ACCOUNTS, show_alert=True)
        return
    await callback.answer()
    await edit_or_send(callback, t.CHOOSE_ACCOUNT, kb.choose_account(accounts))


async def on_months(
    callback: CallbackQuery,
    callback_data: kb.ReceiptMonths,
    account: Account,
    session: AsyncSession,
    resident: Resident,
) -> None:
    page = max(min(callback_data.page, 10_000), 0)
    text, markup = await _months_view(session, resident, account, page)
    await callback.answer()
    await edit_or_send(callback, text, markup)


async def on_get(
    callback: CallbackQuery,
    account: Account,
    period: dt.date,
    bot: Bot,
    session: AsyncSession,
) -> None:
    data = await load_receipt(session, account.id, period)
    if data is None:
        await callback.answer(t.PERIOD_NOT_AVAILABLE, show_alert=True)
        return
    caption = t.CAPTION.format(
        month=fmt.month(period),
        number=fmt.esc(data.account_number),
        total=fmt.rub(data.to_pay),
        pay_by=t.PAY_BY.format(day=fmt.day(data.pay_by)) if data.to_pay > 0 else "",
    )
    await send_rendered(
        callback,
        bot,
        receipt_pdf,
        data,
        texts=(t.PREPARING, t.RENDER_FAILED),
        filename=receipt_filename(data.account_number, period),
        caption=caption,
        reply_markup=pay_keyboard(account.id),
    )
