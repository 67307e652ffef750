"""The main menu (reply keyboard) shown to registered residents."""

from aiogram.types import KeyboardButton, ReplyKeyboardMarkup

from texts.ru import common as t

MENU_BUTTONS = (
    t.BTN_ACCOUNTS, t.BTN_READINGS, t.BTN_RECEIPTS, t.BTN_APPEALS, t.BTN_PROFILE, t.BTN_CONTACTS,
)  # fmt: skip


def main_menu() -> ReplyKeyboardMarkup:
    return ReplyKeyboardMarkup(
        keyboard=[
            [KeyboardButton(text=t.BTN_ACCOUNTS), KeyboardButton(text=t.BTN_READINGS)],
            [KeyboardButton(text=t.BTN_RECEIPTS), KeyboardButton(text=t.BTN_APPEALS)],
            [KeyboardButton(text=t.BTN_PROFILE), KeyboardButton(text=t.BTN_CONTACTS)],
        ],
        resize_keyboard=True,
        is_persistent=True,
    )
