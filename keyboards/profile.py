"""Profile keyboards and callbacks (prefix "p")."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from keyboards.accounts import LinkStart
from texts.ru import accounts as ta
from texts.ru import profile as t

# Actions: show, tg, em, rem (toggles), email, phone, unlink (list), unlink_ask, unlink_do,
# delete, delete_do. `account_id` only for the unlink steps; authorized by the handler.


class ProfileAction(CallbackData, prefix="p"):
    action: str
    account_id: int = 0


def _button(text: str, action: str, account_id: int = 0) -> InlineKeyboardButton:
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
) -> InlineKeyboardMarkup:
    rows = [[_button(t.BTN_PUSH_TELEGRAM.format(mark=_mark(push_telegram)), "tg")]]
    if has_email:
        rows.append([_button(t.BTN_PUSH_EMAIL.format(mark=_mark(push_email)), "em")])
    rows.append([_button(t.BTN_REMINDERS.format(mark=_mark(reminders)), "rem")])
    if email_available:
        rows.append([_button(t.BTN_CHANGE_EMAIL if has_email else t.BTN_ADD_EMAIL, "email")])
    rows.append([_button(t.BTN_PHONE, "phone")])
    rows.append([InlineKeyboardButton(text=ta.BTN_ADD_ACCOUNT, callback_data=LinkStart().pack())])
    if has_accounts:
        rows.append([_button(t.BTN_UNLINK, "unlink")])
    rows.append([_button(t.BTN_DELETE, "delete")])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def unlink_choice(accounts: list[tuple[int, str]]) -> InlineKeyboardMarkup:
    rows = [[_button(label, "unlink_ask", account_id)] for account_id, label in accounts]
    rows.append([_button(t.BTN_BACK_TO_PROFILE, "show")])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def unlink_confirm(account_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [_button(t.BTN_UNLINK_YES, "unlink_do", account_id)],
            [_button(t.BTN_BACK_TO_PROFILE, "show")],
        ]
    )


def delete_confirm() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [_button(t.BTN_DELETE_YES, "delete_do")],
            [_button(t.BTN_DELETE_NO, "show")],
        ]
    )
