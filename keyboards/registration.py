"""Registration keyboards and callbacks (prefix "g")."""

from aiogram.filters.callback_data import CallbackData
from aiogram.types import (
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
)

from keyboards.common import button
from texts.ru import registration as t


class RegStep(CallbackData, prefix="g"):
    """agree, read_agreement, decline, consent, read_consent, no_consent."""

    action: str


class EmailStep(CallbackData, prefix="ge"):
    """skip, resend, other: the e-mail step of registration and of the profile."""

    action: str


def agreement(*, with_read: bool = True) -> InlineKeyboardMarkup:
    rows = [[button(t.BTN_ACCEPT, RegStep(action="agree"))]]
    if with_read:
        rows.append([button(t.BTN_READ_AGREEMENT, RegStep(action="read_agreement"))])
    rows.append([button(t.BTN_DECLINE, RegStep(action="decline"))])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def consent(*, with_read: bool = True) -> InlineKeyboardMarkup:
    rows = [[button(t.BTN_CONSENT, RegStep(action="consent"))]]
    if with_read:
        rows.append([button(t.BTN_READ_CONSENT, RegStep(action="read_consent"))])
    rows.append([button(t.BTN_NO_CONSENT, RegStep(action="no_consent"))])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def share_phone() -> ReplyKeyboardMarkup:
    return ReplyKeyboardMarkup(
        keyboard=[[KeyboardButton(text=t.BTN_SHARE_PHONE, request_contact=True)]],
        resize_keyboard=True,
        is_persistent=True,
    )


def email_ask(*, skippable: bool) -> InlineKeyboardMarkup | None:
    if not skippable:
        return None
    return InlineKeyboardMarkup(inline_keyboard=[[button(t.BTN_SKIP, EmailStep(action="skip"))]])


def email_code(*, skippable: bool) -> InlineKeyboardMarkup:
    rows = [
        [button(t.BTN_RESEND, EmailStep(action="resend"))],
        [button(t.BTN_OTHER_EMAIL, EmailStep(action="other"))],
    ]
    if skippable:
        rows.append([button(t.BTN_SKIP, EmailStep(action="skip"))])
    return InlineKeyboardMarkup(inline_keyboard=rows)
