"""Receipts: the account and month pickers (callback prefixes "q*")."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardMarkup

from keyboards.callbacks import OpenCard
from keyboards.common import button, nav_row
from storage.models import Account
from storage.periods import period_to_int
from texts import fmt
from texts.ru import receipts as t

MONTHS_PER_PAGE = 12
MONTHS_PER_ROW = 3


class ReceiptAccounts(CallbackData, prefix="qa"):
    """Back to the account picker."""


class ReceiptMonths(CallbackData, prefix="qm"):
    """A page of the account's months, latest first (page 0)."""

    account_id: int
    page: int = 0


class ReceiptGet(CallbackData, prefix="qg"):
    """The PDF of one month: `period` is YYYYMM."""

    account_id: int
    period: int


def _account_label(account: Account) -> str:
    """The number and the full address: two apartments in one house must not look alike."""
    apartment = account.apartment
    address = fmt.address(apartment.house.address, apartment.number)
    return t.BTN_ACCOUNT.format(number=account.number, address=address)[:64]


def choose_account(accounts: Sequence[Account]) -> InlineKeyboardMarkup:
    rows = [[button(_account_label(acc), ReceiptMonths(account_id=acc.id))] for acc in accounts]
    rows.append(nav_row())
    return InlineKeyboardMarkup(inline_keyboard=rows)


def page_count(total: int) -> int:
    return max((total + MONTHS_PER_PAGE - 1) // MONTHS_PER_PAGE, 1)


def choose_month(
    account_id: int, periods: Sequence[dt.date], page: int, *, several_accounts: bool
) -> InlineKeyboardMarkup:
    """Months of `page` (latest first); «◀ Ранее» to older months, «Позже ▶» to newer ones (◀
    always means earlier), and back: to the accounts when there are several, else to the card."""
    pages = page_count(len(periods))
    page = min(max(page, 0), pages - 1)
    shown = periods[page * MONTHS_PER_PAGE : (page + 1) * MONTHS_PER_PAGE]
    buttons = [
        button(fmt.month(period), ReceiptGet(account_id=account_id, period=period_to_int(period)))
        for period in shown
    ]
    rows = [buttons[i : i + MONTHS_PER_ROW] for i in range(0, len(buttons), MONTHS_PER_ROW)]
    navigation = []
    if page < pages - 1:
        navigation.append(button(t.BTN_OLDER, ReceiptMonths(account_id=account_id, page=page + 1)))
    if page > 0:
        navigation.append(button(t.BTN_NEWER, ReceiptMonths(account_id=account_id, page=page - 1)))
    if navigation:
        rows.append(navigation)
    back = ReceiptAccounts() if several_accounts else OpenCard(account_id=account_id)
    rows.append(nav_row(back))
    return InlineKeyboardMarkup(inline_keyboard=rows)
