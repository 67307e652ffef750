"""Pieces every keyboard module uses."""

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton


def button(text: str, data: CallbackData) -> InlineKeyboardButton:
    """An inline button carrying packed callback data."""
    return InlineKeyboardButton(text=text, callback_data=data.pack())
