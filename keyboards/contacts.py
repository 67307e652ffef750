"""The contacts screen's keyboard: from an account's card, back to it."""

from __future__ import annotations

from aiogram.types import InlineKeyboardMarkup

from keyboards.callbacks import OpenCard
from keyboards.common import nav_row


def back_to_card(account_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[nav_row(OpenCard(account_id=account_id))])
