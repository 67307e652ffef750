"""Profile keyboards and callbacks (prefix "p")."""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from keyboards.accounts import LinkStart
from keyboards.common import nav_row
from texts.ru import accounts as ta
from texts.ru import profile as t


class Act(StrEnum):
    SHOW = "show"
    PUSH_TELEGRAM = "tg"  # the switches
    PUSH_EMAIL = "em"
    REMINDERS = "rem"
    NOTIFY_PAYMENTS = "npay"
    NOTIFY_PAY_BY = "ndue"
    NOTIFY_VERIFICATION = "nver"
    EMAIL = "email"
    PHONE = "phone"
    UNLINK = "unlink"  # the list of linked accounts
    UNLINK_ASK = "unlink_ask"
    UNLINK_DO = "unlink_do"
    DELETE = "delete"
    DELETE_DO = "delete_do"


class ProfileAction(CallbackData, prefix="p"):
    """`account_id` only for the unlink steps (authorized by the account gate; 0 elsewhere)."""

    action: Act
    account_id: int = 0


def _button(text: str, action: Act, account_id: int = 0) -> InlineKeyboardButton:
    return InlineKeyboardButton(
        text=text, callback_data=ProfileAction(action=action, account_id=account_id).pack()
    )


def _mark(on: bool) -> str:
    return t.MARK_ON if on else t.MARK_OFF


def profile(
    *,
    push_telegram: bool,
    push_email: bool,
    reminders: bool,
    has_email: bool,
    email_available: bool,
    has_accounts: bool,
    notify_payments: bool = True,
    notify_pay_by: bool = True,
    notify_verification: bool = True,
) -> InlineKeyboardMarkup:
    rows = [[_button(t.BTN_PUSH_TELEGRAM.format(mark=_mark(push_telegram)), Act.PUSH_TELEGRAM)]]
    if has_email:
        rows.append([_button(t.BTN_PUSH_EMAIL.format(mark=_mark(push_email)), Act.PUSH_EMAIL)])
    rows.append([_button(t.BTN_REMINDERS.format(mark=_mark(reminders)), Act.REMINDERS)])
    for label, on, action in (
        (t.BTN_NOTIFY_PAYMENTS, notify_payments, Act.NOTIFY_PAYMENTS),
        (t.BTN_NOTIFY_PAY_BY, notify_pay_by, Act.NOTIFY_PAY_BY),
        (t.BTN_NOTIFY_VERIFICATION, notify_verification, Act.NOTIFY_VERIFICATION),
    ):
        rows.append([_button(label.format(mark=_mark(on)), action)])
    if email_available:
        rows.append([_button(t.BTN_CHANGE_EMAIL if has_email else t.BTN_ADD_EMAIL, Act.EMAIL)])
    rows.append([_button(t.BTN_PHONE, Act.PHONE)])
    rows.append([InlineKeyboardButton(text=ta.BTN_ADD_ACCOUNT, callback_data=LinkStart().pack())])
    if has_accounts:
        rows.append([_button(t.BTN_UNLINK, Act.UNLINK)])
    rows.append([_button(t.BTN_DELETE, Act.DELETE)])
    rows.append(nav_row())
    return InlineKeyboardMarkup(inline_keyboard=rows)


def unlink_choice(accounts: list[tuple[int, str]]) -> InlineKeyboardMarkup:
    rows = [[_button(label, Act.UNLINK_ASK, account_id)] for account_id, label in accounts]
    rows.append(nav_row(ProfileAction(action=Act.SHOW)))
    return InlineKeyboardMarkup(inline_keyboard=rows)


def unlink_confirm(account_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [_button(t.BTN_UNLINK_YES, Act.UNLINK_DO, account_id)],
            nav_row(ProfileAction(action=Act.UNLINK)),
        ]
    )


def delete_confirm() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [_button(t.BTN_DELETE_YES, Act.DELETE_DO)],
            [_button(t.BTN_DELETE_NO, Act.SHOW)],
            nav_row(),
        ]
    )
