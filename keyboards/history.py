"""Keyboards of the payments statement, the histories and the charts (prefix "c*")."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from enum import IntEnum

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from keyboards import statement_pdf
from keyboards.callbacks import AppealsHistory, OpenCard, ReadingsHistory
from keyboards.card import ChargesMonth, HistoryMenu, StatementMenu
from keyboards.common import button, nav_row
from storage.periods import period_to_int
from texts import fmt
from texts.ru import history as t

SPAN_MONTHS = (1, 3, 12)


class StatementSpan(CallbackData, prefix="cp"):
    """A statement over the last `months` periods with charges, or over a calendar `year`."""

    account_id: int
    months: int = 0
    year: int = 0


class ChargesHistory(CallbackData, prefix="chc"):
    account_id: int
    page: int = 0  # 0: the newest months


class PaymentsHistory(CallbackData, prefix="chp"):
    account_id: int
    page: int = 0


class ChartKind(IntEnum):
    """What a chart shows. Integers, as the buttons already in residents' chats carry them."""

    CHARGES = 1
    CONSUMPTION = 2


class Chart(CallbackData, prefix="cg"):
    account_id: int
    kind: int  # a ChartKind; a plain int so that a forged kind reaches the handler's refusal


CHART_CHARGES = ChartKind.CHARGES
CHART_CONSUMPTION = ChartKind.CONSUMPTION


def _to_card(account_id: int) -> list[InlineKeyboardButton]:
    return nav_row(OpenCard(account_id=account_id))


def _to_history(account_id: int) -> list[InlineKeyboardButton]:
    return nav_row(HistoryMenu(account_id=account_id))


def statement_menu(account_id: int, latest: dt.date, years: Sequence[int]) -> InlineKeyboardMarkup:
    rows = [
        [
            button(
                t.BTN_SPAN_MONTH.format(month=fmt.month(latest)),
                StatementSpan(account_id=account_id, months=1),
            )
        ],
        [
            button(t.BTN_SPAN_3, StatementSpan(account_id=account_id, months=3)),
            button(t.BTN_SPAN_12, StatementSpan(account_id=account_id, months=12)),
        ],
    ]
    year_buttons = [
        button(t.BTN_SPAN_YEAR.format(year=year), StatementSpan(account_id=account_id, year=year))
        for year in years
    ]
    rows.extend(year_buttons[i : i + 3] for i in range(0, len(year_buttons), 3))
    rows.append(statement_pdf.open_button(account_id))
    rows.append(_to_card(account_id))
    return InlineKeyboardMarkup(inline_keyboard=rows)


def statement_keyboard(account_id: int) -> InlineKeyboardMarkup:
    """The whole payments history, or back to the choice of the period."""
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [button(t.BTN_ALL_PAYMENTS, PaymentsHistory(account_id=account_id))],
            nav_row(StatementMenu(account_id=account_id)),
        ]
    )


def history_menu(account_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                button(t.BTN_CHARGES_HISTORY, ChargesHistory(account_id=account_id)),
                button(t.BTN_PAYMENTS_HISTORY, PaymentsHistory(account_id=account_id)),
            ],
            [
                button(t.BTN_READINGS_HISTORY, ReadingsHistory(account_id=account_id, via=1)),
                button(t.BTN_APPEALS_HISTORY, AppealsHistory(account_id=account_id)),
            ],
            [
                button(t.BTN_CHARGES_CHART, Chart(account_id=account_id, kind=CHART_CHARGES)),
                button(
                    t.BTN_CONSUMPTION_CHART, Chart(account_id=account_id, kind=CHART_CONSUMPTION)
                ),
            ],
            statement_pdf.open_button(account_id),
            _to_card(account_id),
        ]
    )


def _pager(
    account_id: int, page: int, has_more: bool, factory: type[ChargesHistory | PaymentsHistory]
) -> list[InlineKeyboardButton]:
    buttons = []
    if has_more:
        buttons.append(button(t.BTN_OLDER, factory(account_id=account_id, page=page + 1)))
    if page > 0:
        buttons.append(button(t.BTN_NEWER, factory(account_id=account_id, page=page - 1)))
    return buttons


def charges_history_keyboard(
    account_id: int, periods: Sequence[dt.date], page: int, has_more: bool
) -> InlineKeyboardMarkup:
    """A month grid (each opens that month's charges), paging, back."""
    months = [
        button(
            fmt.month_abbr(period),
            ChargesMonth(account_id=account_id, period=period_to_int(period)),
        )
        for period in periods
    ]
    rows = [months[i : i + 4] for i in range(0, len(months), 4)]
    pager = _pager(account_id, page, has_more, ChargesHistory)
    if pager:
        rows.append(pager)
    rows.append(_to_history(account_id))
    return InlineKeyboardMarkup(inline_keyboard=rows)


def payments_history_keyboard(account_id: int, page: int, has_more: bool) -> InlineKeyboardMarkup:
    rows = []
    pager = _pager(account_id, page, has_more, PaymentsHistory)
    if pager:
        rows.append(pager)
    rows.append(_to_history(account_id))
    return InlineKeyboardMarkup(inline_keyboard=rows)
