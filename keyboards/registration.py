"""Registration keyboards and callbacks (prefix "g")."""

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData
from aiogram.types import (
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
)

from keyboards.common import button
from texts.ru import registration as t


class RegAction(StrEnum):
    AGREE = "agree"
    READ_AGREEMENT = "read_agreement"
    DECLINE = "decline"
    CONSENT = "consent"
    READ_CONSENT = "read_consent"
    NO_CONSENT = "no_consent"


class RegStep(CallbackData, prefix="g"):
    action: RegAction


class EmailAction(StrEnum):
    SKIP = "skip"  # registration only: no e-mail
    RESEND = "resend"
    OTHER = "other"  # another address


class EmailStep(CallbackData, prefix="ge"):
    """The e-mail step of registration and of the profile."""

    action: EmailAction


def agreement(*, with_read: bool = True) -> InlineKeyboardMarkup:
    rows = [[button(t.BTN_ACCEPT, RegStep(action=RegAction.AGREE))]]
    if with_read:
        rows.append([button(t.BTN_READ_AGREEMENT, RegStep(action=RegAction.READ_AGREEMENT))])
    rows.append([button(t.BTN_DECLINE, RegStep(action=RegAction.DECLINE))])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def consent(*, with_read: bool = True) -> InlineKeyboardMarkup:
    rows = [[button(t.BTN_CONSENT, RegStep(action=RegAction.CONSENT))]]
    if with_read:
        rows.append([button(t.BTN_READ_CONSENT, RegStep(action=RegAction.READ_CONSENT))])
    rows.append([button(t.BTN_NO_CONSENT, RegStep(action=RegAction.NO_CONSENT))])
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
    return InlineKeyboardMarkup(
        inline_keyboard=[[button(t.BTN_SKIP, EmailStep(action=EmailAction.SKIP))]]
    )


def email_code(*, skippable: bool) -> InlineKeyboardMarkup:
    rows = [
        [button(t.BTN_RESEND, EmailStep(action=EmailAction.RESEND))],
        [button(t.BTN_OTHER_EMAIL, EmailStep(action=EmailAction.OTHER))],
    ]
    if skippable:
        rows.append([button(t.BTN_SKIP, EmailStep(action=EmailAction.SKIP))])
    return InlineKeyboardMarkup(inline_keyboard=rows)
