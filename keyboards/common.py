"""Pieces every keyboard module uses."""

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from keyboards.callbacks import OpenMenu
from texts.ru import common as t


def button(text: str, data: CallbackData) -> InlineKeyboardButton:
    """An inline button carrying packed callback data."""
    return InlineKeyboardButton(text=text, callback_data=data.pack())


def one_row(*buttons: InlineKeyboardButton) -> InlineKeyboardMarkup:
    """A keyboard of one row: a question's answers side by side (load or cancel, undo or keep)."""
    return InlineKeyboardMarkup(inline_keyboard=[list(buttons)])


def nav_row(back: CallbackData | None = None) -> list[InlineKeyboardButton]:
    """The last row of every screen: «◀ Назад» to the screen it came from (when there is one) and
    «🏠 Меню» (issue 16: no dead ends, one way back everywhere)."""
    row = [button(t.BTN_BACK, back)] if back is not None else []
    row.append(button(t.BTN_MENU, OpenMenu()))
    return row
