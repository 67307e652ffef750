"""Keyboards of the account statement PDF: the first month, then the last (prefix "cx", "cy").

Months come as a year's grid (4 a row, «мар 2020») with the neighbouring years at ◀ and ▶
(◀ earlier, ▶ later); only months from the account's first month with charges to its last are
offered, and, for the last month, none before the first one chosen.
"""

from __future__ import annotations

import datetime as dt

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from keyboards.card import StatementMenu
from keyboards.common import button, nav_row
from storage.periods import period_to_int
from texts import fmt
from texts.ru import statement_pdf as t

MONTHS_PER_ROW = 4


class StatementPdfMonths(CallbackData, prefix="cx"):
    """The month grid of `year` (0: the latest month's year): the first month while `first` is
    0, else the last month of a statement from `first` (a period as 202003)."""

    account_id: int
    first: int = 0
    year: int = 0


class StatementPdfGet(CallbackData, prefix="cy"):
    """The statement PDF over the months from `first` to `last` (periods as 202003)."""

    account_id: int
    first: int
    last: int


def open_button(account_id: int) -> list[InlineKeyboardButton]:
    return [button(t.BTN_STATEMENT_PDF, StatementPdfMonths(account_id=account_id))]


def month_grid(
    account_id: int,
    year: int,
    lowest: dt.date,
    latest: dt.date,
    first: dt.date | None,
) -> InlineKeyboardMarkup:
    """The months of `year` between `lowest` and `latest`; a month is the first one of the
    statement while `first` is None, else its last one."""
    chosen = period_to_int(first) if first is not None else 0
    buttons = []
    for month in range(1, 13):
        period = dt.date(year, month, 1)
        if not lowest <= period <= latest:
            continue
        if first is None:
            data: CallbackData = StatementPdfMonths(
                account_id=account_id, first=period_to_int(period), year=latest.year
            )
        else:
            data = StatementPdfGet(account_id=account_id, first=chosen, last=period_to_int(period))
        buttons.append(button(fmt.month_abbr(period), data))
    rows = [buttons[i : i + MONTHS_PER_ROW] for i in range(0, len(buttons), MONTHS_PER_ROW)]
    years = []
    if year > lowest.year:
        years.append(
            button(
                t.BTN_EARLIER_YEAR.format(year=year - 1),
                StatementPdfMonths(account_id=account_id, first=chosen, year=year - 1),
            )
        )
    if year < latest.year:
        years.append(
            button(
                t.BTN_LATER_YEAR.format(year=year + 1),
                StatementPdfMonths(account_id=account_id, first=chosen, year=year + 1),
            )
        )
    if years:
        rows.append(years)
    if first is not None:
        rows.append([button(t.BTN_OTHER_FIRST, StatementPdfMonths(account_id=account_id))])
    rows.append(nav_row(StatementMenu(account_id=account_id)))  # «◀ Назад» and «🏠 Меню»
    return InlineKeyboardMarkup(inline_keyboard=rows)
