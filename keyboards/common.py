"""Pieces every keyboard module uses."""

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup


def button(text: str, data: CallbackData) -> InlineKeyboardButton:
    """An inline button carrying packed callback data."""
    return InlineKeyboardButton(text=text, callback_data=data.pack())


def one_row(*buttons: InlineKeyboardButton) -> InlineKeyboardMarkup:
    """A keyboard of one row: a question's answers side by side (load or cancel, undo or keep)."""
    return InlineKeyboardMarkup(inline_keyboard=[list(buttons)])
