"""The contacts screen's keyboard: from an account's card, back to it."""

from __future__ import annotations

from aiogram.types import InlineKeyboardMarkup

from keyboards.callbacks import OpenCard
from keyboards.common import button
from texts.ru import common as tc


def back_to_card(account_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[[button(tc.BTN_BACK, OpenCard(account_id=account_id))]]
    )
