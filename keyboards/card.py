"""The account card's keyboards and its callbacks (prefix "c*": OpenCard itself is shared)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from urllib.parse import urlencode

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, WebAppInfo

from keyboards.accounts import LinkStart, not_found_row
from keyboards.callbacks import NewAppeal, OpenCard, OpenContacts, OpenReadings, OpenReceipts
from keyboards.common import button, nav_row
from keyboards.payments import pay_buttons
from storage.periods import format_period, period_to_int
from texts import fmt
from texts.ru import card as t
from texts.ru import common as tc
from texts.ru import webapp as tw


class AccountsList(CallbackData, prefix="cl"):
    """Back to the list of the resident's accounts."""


class ChargesMonth(CallbackData, prefix="cm"):
    account_id: int
    period: int = 0  # YYYYMM; 0: the latest period with charges


class ChargesDetail(CallbackData, prefix="cd"):
    """The month's per-service detail behind «Подробно»."""

    account_id: int
    period: int  # YYYYMM


class StatementMenu(CallbackData, prefix="cs"):
    """The payments statement's period picker (handled in handlers/history.py)."""

    account_id: int


class HistoryMenu(CallbackData, prefix="ch"):
    account_id: int


def table_button(
    webapp_url: str, account_id: int, period: dt.date | None = None
) -> list[InlineKeyboardButton]:
    """«📋 Таблица»: the Mini App at this account (and month); no button without WEBAPP_URL.
    The address carries ids only, never personal data."""
    if not webapp_url:
        return []
    query = {"account": str(account_id)}
    if period is not None:
        query["period"] = format_period(period)
    url = f"{webapp_url}{'&' if '?' in webapp_url else '?'}{urlencode(query)}"
    return [InlineKeyboardButton(text=tw.BTN_TABLE, web_app=WebAppInfo(url=url))]


def card_keyboard(account_id: int, *, several: bool, webapp_url: str = "") -> InlineKeyboardMarkup:
    rows = [
        pay_buttons(account_id),
        [
            button(t.BTN_READINGS, OpenReadings(account_id=account_id)),
            button(t.BTN_RECEIPT, OpenReceipts(account_id=account_id)),
        ],
        [
            button(t.BTN_APPEAL, NewAppeal(account_id=account_id)),
            button(tc.BTN_CONTACTS, OpenContacts(account_id=account_id)),
        ],
        [
            button(t.BTN_CHARGES, ChargesMonth(account_id=account_id)),
            button(t.BTN_PAYMENTS, StatementMenu(account_id=account_id)),
        ],
        [button(t.BTN_HISTORY, HistoryMenu(account_id=account_id))],
    ]
    if table := table_button(webapp_url, account_id):
        rows.append(table)
    rows.append(nav_row(AccountsList() if several else None))
    return InlineKeyboardMarkup(inline_keyboard=rows)


def accounts_keyboard(items: Sequence[tuple[int, str]]) -> InlineKeyboardMarkup:
    """One button per account: (account id, label)."""
    rows = [[button(label, OpenCard(account_id=account_id))] for account_id, label in items]
    rows.append(nav_row())
    return InlineKeyboardMarkup(inline_keyboard=rows)


def link_keyboard() -> InlineKeyboardMarkup:
    """The linking dialogue's entry (handlers/accounts), or an appeal without an account."""
    return InlineKeyboardMarkup(
        inline_keyboard=[[button(t.BTN_LINK, LinkStart())], not_found_row(), nav_row()]
    )


def month_keyboard(
    account_id: int,
    period: dt.date,
    previous: dt.date | None,
    following: dt.date | None,
    *,
    webapp_url: str = "",
) -> InlineKeyboardMarkup:
    """The summary's «Подробно», ◀ ▶ only to months that have charges, then back to the card."""
    arrows = []
    if previous is not None:
        arrows.append(
            button(
                t.BTN_MONTH_PREV.format(month=fmt.month(previous)),
                ChargesMonth(account_id=account_id, period=period_to_int(previous)),
            )
        )
    if following is not None:
        arrows.append(
            button(
                t.BTN_MONTH_NEXT.format(month=fmt.month(following)),
                ChargesMonth(account_id=account_id, period=period_to_int(following)),
            )
        )
    detail = ChargesDetail(account_id=account_id, period=period_to_int(period))
    rows = [[button(t.BTN_MONTH_DETAIL, detail)]]
    if arrows:
        rows.append(arrows)
    if table := table_button(webapp_url, account_id, period):
        rows.append(table)
    rows.append([button(t.BTN_RECEIPT, OpenReceipts(account_id=account_id))])
    rows.append(nav_row(OpenCard(account_id=account_id)))
    return InlineKeyboardMarkup(inline_keyboard=rows)


def detail_keyboard(account_id: int, period: dt.date) -> InlineKeyboardMarkup:
    """From the detail back to the month's summary (the card is a step further back)."""
    back = ChargesMonth(account_id=account_id, period=period_to_int(period))
    return InlineKeyboardMarkup(inline_keyboard=[nav_row(back)])
