"""«📄 Выписка PDF»: the account statement over months the resident chooses (the first, then the
last, on a month grid), sent as a document.

The account every button names arrives authorized as `account` (`handlers.access.AccountAccess`);
the months in callback data can be forged, so they are parsed and checked here, and the PDF is
rendered in the render pool, never on the event loop.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from aiogram import Bot, Router
from aiogram.types import CallbackQuery
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.access import registered_only
from handlers.ui import edit_or_send, send_rendered
from keyboards import statement_pdf as kb
from receipts.statement_content import span_name, statement_pdf
from services import statements
from storage.models import Account
from storage.periods import format_period, int_to_period
from texts import fmt
from texts.ru import card as tc
from texts.ru import common
from texts.ru import statement_pdf as t


def router() -> Router:
    r = registered_only(Router(name="statement_pdf"))
    r.callback_query.register(on_months, kb.StatementPdfMonths.filter())
    r.callback_query.register(on_get, kb.StatementPdfGet.filter())
    return r


def _periods(*values: int) -> list[dt.date] | None:
    """Periods from callback data (None: a forged or broken value)."""
    try:
        return [int_to_period(value) for value in values]
    except ValueError:
        return None


async def on_months(
    callback: CallbackQuery,
    callback_data: kb.StatementPdfMonths,
    account: Account,
    session: AsyncSession,
) -> None:
    span = await statements.statement_span(session, account.id)
    if span is None:
        await callback.answer(tc.NO_CHARGES_YET, show_alert=True)
        return
    oldest, latest = span
    first = None
    if callback_data.first:
        parsed = _periods(callback_data.first)
        if parsed is None or not oldest <= parsed[0] <= latest:
            await callback.answer(common.STALE_BUTTON, show_alert=True)
            return
        first = parsed[0]
    lowest = first or oldest
    year = min(max(callback_data.year or latest.year, lowest.year), latest.year)
    number = fmt.esc(account.number)
    if first is None:
        text = t.CHOOSE_FIRST.format(number=number, first=fmt.month(oldest), last=fmt.month(latest))
    else:
        text = t.CHOOSE_LAST.format(number=number, first=fmt.month(first))
    await callback.answer()
    await edit_or_send(callback, text, kb.month_grid(account.id, year, lowest, latest, first))


async def on_get(
    callback: CallbackQuery,
    callback_data: kb.StatementPdfGet,
    account: Account,
    session: AsyncSession,
    bot: Bot,
) -> None:
    parsed = _periods(callback_data.first, callback_data.last)
    if parsed is None:
        await callback.answer(common.STALE_BUTTON, show_alert=True)
        return
    first, last = min(parsed), max(parsed)  # a reversed span is the same months
    if statements.span_months(first, last) > statements.MAX_SPAN_MONTHS:
        await callback.answer(t.TOO_LONG.format(months=statements.MAX_SPAN_MONTHS), show_alert=True)
        return
    document = await statements.statement_document(session, account.id, first, last)
    if document is None:
        await callback.answer(t.NO_CHARGES, show_alert=True)
        return
    await send_rendered(
        callback,
        bot,
        statement_pdf,
        document,
        texts=(t.PREPARING, t.RENDER_FAILED),
        filename=statement_filename(document.account_number, first, last),
        caption=t.CAPTION.format(
            number=fmt.esc(document.account_number),
            span=span_name(document.first, document.last),
            balance=_balance(document.end),
        ),
    )


def _balance(end: Decimal) -> str:
    if end > 0:
        return t.CAPTION_DEBT.format(amount=fmt.rub(end))
    if end < 0:
        return t.CAPTION_OVERPAYMENT.format(amount=fmt.rub(-end))
    return t.CAPTION_SETTLED


def statement_filename(number: str, first: dt.date, last: dt.date) -> str:
    return f"statement_{number}_{format_period(first)}_{format_period(last)}.pdf"
