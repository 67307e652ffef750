"""The payments statement, the histories of charges and payments, and the charts.

Readings history and correspondence belong to their features: the history menu opens them
with the shared `ReadingsHistory` and `AppealsHistory` callbacks.
"""

from __future__ import annotations

import datetime as dt

from aiogram import Bot, Router
from aiogram.types import BufferedInputFile, CallbackQuery
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.access import authorized, registered_only
from handlers.card import show
from handlers.views import history as view
from keyboards import history as kb
from keyboards.card import HistoryMenu, StatementMenu
from receipts import charts
from receipts.pool import run_cpu
from storage.models import Resident
from storage.periods import add_months
from storage.repo import billing
from texts import fmt
from texts.ru import card as tc
from texts.ru import history as t

MAX_PAGE = 10_000  # deeper pages are forged: nobody has 800 years of history
MIN_YEAR, MAX_YEAR = 1990, 2200
STATEMENT_YEARS = 6  # year buttons offered, newest first


def _valid_page(page: int) -> bool:
    return 0 <= page <= MAX_PAGE


def router() -> Router:
    r = registered_only(Router(name="history"))

    @r.callback_query(StatementMenu.filter())
    async def on_statement_menu(
        callback: CallbackQuery,
        callback_data: StatementMenu,
        session: AsyncSession,
        resident: Resident,
    ) -> None:
        account = await authorized(callback, session, resident, callback_data.account_id)
        if account is None:
            return
        span = await billing.period_range(session, account.id)
        if span is None:
            await callback.answer(tc.NO_CHARGES_YET, show_alert=True)
            return
        first, last = span
        years = list(range(last.year, max(first.year, last.year - STATEMENT_YEARS + 1) - 1, -1))
        await show(
            callback,
            view.statement_menu_text(account.number),
            kb.statement_menu(account.id, last, years),
        )

    @r.callback_query(kb.StatementSpan.filter())
    async def on_statement(
        callback: CallbackQuery,
        callback_data: kb.StatementSpan,
        session: AsyncSession,
        resident: Resident,
    ) -> None:
        account = await authorized(callback, session, resident, callback_data.account_id)
        if account is None:
            return
        months, year = callback_data.months, callback_data.year
        span: tuple[dt.date, dt.date] | None = None
        if months in kb.SPAN_MONTHS and year == 0:
            last = await billing.latest_period(session, account.id)
            if last is not None:
                span = (add_months(last, -(months - 1)), last)
        elif months == 0 and MIN_YEAR <= year <= MAX_YEAR:
            span = (dt.date(year, 1, 1), dt.date(year, 12, 1))
        statement = None if span is None else await billing.statement(session, account.id, *span)
        if statement is None:
            await callback.answer(tc.NO_DATA, show_alert=True)
            return
        await show(
            callback,
            view.statement_text(account.number, statement),
            kb.statement_keyboard(account.id),
        )

    @r.callback_query(HistoryMenu.filter())
    async def on_history(
        callback: CallbackQuery,
        callback_data: HistoryMenu,
        session: AsyncSession,
        resident: Resident,
    ) -> None:
        account = await authorized(callback, session, resident, callback_data.account_id)
        if account is None:
            return
        await show(callback, view.history_menu_text(account.number), kb.history_menu(account.id))

    @r.callback_query(kb.ChargesHistory.filter())
    async def on_charges_history(
        callback: CallbackQuery,
        callback_data: kb.ChargesHistory,
        session: AsyncSession,
        resident: Resident,
    ) -> None:
        account = await authorized(callback, session, resident, callback_data.account_id)
        if account is None:
            return
        if not _valid_page(callback_data.page):
            await callback.answer(tc.NO_DATA, show_alert=True)
            return
        page = await billing.month_totals_page(session, account.id, callback_data.page)
        await show(
            callback,
            view.charges_history_text(account.number, page),
            kb.charges_history_keyboard(
                account.id, [m.period for m in page.items], page.page, page.has_more
            ),
        )

    @r.callback_query(kb.PaymentsHistory.filter())
    async def on_payments_history(
        callback: CallbackQuery,
        callback_data: kb.PaymentsHistory,
        session: AsyncSession,
        resident: Resident,
    ) -> None:
        account = await authorized(callback, session, resident, callback_data.account_id)
        if account is None:
            return
        if not _valid_page(callback_data.page):
            await callback.answer(tc.NO_DATA, show_alert=True)
            return
        page = await billing.payments_page(session, account.id, callback_data.page)
        await show(
            callback,
            view.payments_history_text(account.number, page),
            kb.payments_history_keyboard(account.id, page.page, page.has_more),
        )

    @r.callback_query(kb.Chart.filter())
    async def on_chart(
        callback: CallbackQuery,
        callback_data: kb.Chart,
        session: AsyncSession,
        resident: Resident,
        bot: Bot,
    ) -> None:
        account = await authorized(callback, session, resident, callback_data.account_id)
        if account is None:
            return
        if callback_data.kind == kb.CHART_CHARGES:
            chart = await _charges_chart(session, account.id, account.number)
        elif callback_data.kind == kb.CHART_CONSUMPTION:
            chart = await _consumption_chart(session, account.id, account.number)
        else:
            chart = None
        if chart is None:
            await callback.answer(t.CHART_NO_DATA, show_alert=True)
            return
        await callback.answer(t.CHART_PREPARING)
        render, args, caption, filename = chart
        png = await run_cpu(render, *args)
        chat_id = callback.message.chat.id if callback.message else callback.from_user.id
        await bot.send_photo(chat_id, BufferedInputFile(png, filename), caption=caption)

    return r


async def _charges_chart(session: AsyncSession, account_id: int, number: str):  # type: ignore[no-untyped-def]
    data = await billing.group_charges(session, account_id)
    if data is None:
        return None
    periods, groups = data
    # months before the account's first charges are left out
    start = next((i for i in range(len(periods)) if any(v[i] for v in groups.values())), None)
    if start is None:
        return None
    periods = periods[start:]
    series = [
        charts.BarSeries(name or t.CHART_NO_GROUP, tuple(values[start:]))
        for name, values in groups.items()
    ]
    labels = [fmt.month_short(p) for p in periods]
    caption = t.CHARGES_CHART_CAPTION.format(
        span=view.span_name(periods[0], periods[-1]), number=fmt.esc(number)
    )
    return charts.stacked_bars, (t.CHARGES_CHART_TITLE, labels, series), caption, "charges.png"


async def _consumption_chart(session: AsyncSession, account_id: int, number: str):  # type: ignore[no-untyped-def]
    data = await billing.consumption(session, account_id)
    if data is None:
        return None
    periods, meters = data
    panels = []
    for meter in meters:
        by_period = dict(meter.points)
        if not any(p in by_period for p in periods):
            continue
        label, unit = view.meter_label(meter)
        values = tuple(by_period.get(p) for p in periods)
        panels.append((charts.BarSeries(label, values), unit))
    if not panels:
        return None
    labels = [fmt.month_short(p) for p in periods]
    caption = t.CONSUMPTION_CHART_CAPTION.format(
        span=view.span_name(periods[0], periods[-1]), number=fmt.esc(number)
    )
    return (
        charts.bar_panels,
        (t.CONSUMPTION_CHART_TITLE, labels, panels),
        caption,
        "consumption.png",
    )
