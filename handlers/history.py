"""The payments statement, the histories of charges and payments, and the charts.

Readings history and correspondence belong to their features: the history menu opens them
with the shared `ReadingsHistory` and `AppealsHistory` callbacks. The account a button names
arrives authorized as `account` (`handlers.access.AccountAccess`).
"""

from __future__ import annotations

from aiogram import Bot, Router
from aiogram.types import BufferedInputFile, CallbackQuery, InlineKeyboardMarkup
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from handlers.access import registered_only
from handlers.ui import edit_or_send, show_or_alert
from handlers.views import history as view
from keyboards import history as kb
from keyboards.card import HistoryMenu, StatementMenu
from receipts.pool import run_cpu
from services import payments, statements
from storage.models import Account
from texts.ru import card as tc
from texts.ru import history as t

Screen = tuple[str, InlineKeyboardMarkup]


def router() -> Router:
    r = registered_only(Router(name="history"))
    r.callback_query.register(on_statement_menu, StatementMenu.filter())
    r.callback_query.register(on_statement, kb.StatementSpan.filter())
    r.callback_query.register(on_history, HistoryMenu.filter())
    r.callback_query.register(on_history_page, kb.ChargesHistory.filter())
    r.callback_query.register(on_history_page, kb.PaymentsHistory.filter())
    r.callback_query.register(on_chart, kb.Chart.filter())
    return r


async def on_statement_menu(
    callback: CallbackQuery, account: Account, session: AsyncSession
) -> None:
    choice = await statements.statement_choice(session, account.id)
    screen = None
    if choice is not None:
        menu = kb.statement_menu(account.id, choice.latest, choice.years)
        screen = (view.statement_menu_text(account.number), menu)
    await show_or_alert(callback, screen, tc.NO_CHARGES_YET)


async def on_statement(
    callback: CallbackQuery,
    callback_data: kb.StatementSpan,
    account: Account,
    session: AsyncSession,
    settings: Settings,
) -> None:
    months, year = callback_data.months, callback_data.year
    statement = None
    if months in kb.SPAN_MONTHS and year == 0:
        statement = await statements.statement_of_last(session, account.id, months)
    elif months == 0:
        statement = await statements.statement_of_year(session, account.id, year)
    # None: no charges in the span, or a span no button offers (forged)
    screen = None
    if statement is not None:
        pending = await payments.pending_total(session, settings, account.id)
        text = view.statement_text(account.number, statement, pending)
        screen = (text, kb.statement_keyboard(account.id))
    await show_or_alert(callback, screen, tc.NO_DATA)


async def on_history(callback: CallbackQuery, account: Account) -> None:
    await callback.answer()
    await edit_or_send(
        callback, view.history_menu_text(account.number), kb.history_menu(account.id)
    )


async def on_history_page(
    callback: CallbackQuery,
    callback_data: kb.ChargesHistory | kb.PaymentsHistory,
    account: Account,
    session: AsyncSession,
) -> None:
    """A page of the history of charges (per month) or of payments, newest first."""
    if isinstance(callback_data, kb.ChargesHistory):
        screen = await _charges_page(session, account, callback_data.page)
    else:
        screen = await _payments_page(session, account, callback_data.page)
    await show_or_alert(callback, screen, tc.NO_DATA)


async def _charges_page(session: AsyncSession, account: Account, number: int) -> Screen | None:
    page = await statements.charges_history(session, account.id, number)
    if page is None:
        return None
    periods = [m.period for m in page.items]
    markup = kb.charges_history_keyboard(account.id, periods, page.page, page.has_more)
    return view.charges_history_text(account.number, page), markup


async def _payments_page(session: AsyncSession, account: Account, number: int) -> Screen | None:
    page = await statements.payments_history(session, account.id, number)
    if page is None:
        return None
    markup = kb.payments_history_keyboard(account.id, page.page, page.has_more)
    return view.payments_history_text(account.number, page), markup


async def on_chart(
    callback: CallbackQuery,
    callback_data: kb.Chart,
    account: Account,
    session: AsyncSession,
    bot: Bot,
) -> None:
    chart = None
    if callback_data.kind == kb.ChartKind.CHARGES:
        data = await statements.charges_chart(session, account.id)
        chart = None if data is None else view.charges_chart(account.number, data)
    elif callback_data.kind == kb.ChartKind.CONSUMPTION:
        consumption = await statements.consumption_chart(session, account.id)
        chart = None if consumption is None else view.consumption_chart(account.number, consumption)
    if chart is None:  # nothing to draw, or a kind no button offers (forged)
        await callback.answer(t.CHART_NO_DATA, show_alert=True)
        return
    await callback.answer(t.CHART_PREPARING)
    png = await run_cpu(chart.render, *chart.args)
    chat_id = callback.message.chat.id if callback.message else callback.from_user.id
    await bot.send_photo(chat_id, BufferedInputFile(png, chart.filename), caption=chart.caption)
