"""Keyboards of the readings feature and its internal callbacks (prefixes "r*")."""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardMarkup

from keyboards.callbacks import OpenCard, OpenReadings, ReadingsHistory
from keyboards.card import HistoryMenu
from keyboards.common import button, nav_row
from texts.ru import readings as t


class PickMeter(CallbackData, prefix="rp"):
    """Which meter an ambiguous value is for: `item` in the pending list; `nonce` ties the button
    to the pending readings it was shown for."""

    nonce: int
    item: int
    meter_id: int


class ReadingsAction(StrEnum):
    SAVE = "save"
    FIX = "fix"
    CANCEL = "cancel"


class ConfirmReadings(CallbackData, prefix="rc"):
    nonce: int
    action: ReadingsAction


class RemindWhenOpen(CallbackData, prefix="rw"):
    """«Напомнить, когда откроется»: the window is worked out again when pressed."""


def window_closed_keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[[button(t.BTN_REMIND_WHEN_OPEN, RemindWhenOpen())], nav_row()]
    )


def accounts_keyboard(accounts: Sequence[tuple[int, str]]) -> InlineKeyboardMarkup:
    rows = [[button(label, OpenReadings(account_id=account_id))] for account_id, label in accounts]
    rows.append(nav_row())
    return InlineKeyboardMarkup(inline_keyboard=rows)


def meters_keyboard(account_id: int, meters: Sequence[tuple[int, str]]) -> InlineKeyboardMarkup:
    """Each meter's history, then back to the account's card."""
    rows = [
        [
            button(
                t.BTN_HISTORY.format(name=name),
                ReadingsHistory(account_id=account_id, meter_id=meter_id),
            )
        ]
        for meter_id, name in meters
    ]
    rows.append(nav_row(OpenCard(account_id=account_id)))
    return InlineKeyboardMarkup(inline_keyboard=rows)


def pick_meter_keyboard(
    nonce: int, item: int, meters: Sequence[tuple[int, str]]
) -> InlineKeyboardMarkup:
    rows = [
        [button(label, PickMeter(nonce=nonce, item=item, meter_id=meter_id))]
        for meter_id, label in meters
    ]
    rows.append([button(t.BTN_CANCEL, ConfirmReadings(nonce=nonce, action=ReadingsAction.CANCEL))])
    rows.append(nav_row())
    return InlineKeyboardMarkup(inline_keyboard=rows)


def confirm_keyboard(nonce: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                button(t.BTN_SAVE, ConfirmReadings(nonce=nonce, action=ReadingsAction.SAVE)),
                button(t.BTN_FIX, ConfirmReadings(nonce=nonce, action=ReadingsAction.FIX)),
            ],
            [
                button(t.BTN_CANCEL, ConfirmReadings(nonce=nonce, action=ReadingsAction.CANCEL)),
                *nav_row(),
            ],
        ]
    )


def history_keyboard(
    account_id: int, meter_id: int, page: int, has_older: bool, via: int = 0, several: bool = True
) -> InlineKeyboardMarkup:
    """A meter's history pages; «◀ Назад» to where it was opened from: the account's meters, or
    (`via` the history menu) the meter choice of the history menu, or that menu itself when the
    account has one meter (`several` False)."""
    nav = []
    if has_older:
        nav.append(
            button(
                t.BTN_OLDER,
                ReadingsHistory(account_id=account_id, meter_id=meter_id, page=page + 1, via=via),
            )
        )
    if page > 0:
        nav.append(
            button(
                t.BTN_NEWER,
                ReadingsHistory(account_id=account_id, meter_id=meter_id, page=page - 1, via=via),
            )
        )
    rows = [nav] if nav else []
    back: CallbackData = OpenReadings(account_id=account_id)
    if via and several:
        back = ReadingsHistory(account_id=account_id, via=via)
    elif via:
        back = HistoryMenu(account_id=account_id)
    rows.append(nav_row(back))
    return InlineKeyboardMarkup(inline_keyboard=rows)


def history_meters_keyboard(
    account_id: int, meters: Sequence[tuple[int, str]]
) -> InlineKeyboardMarkup:
    """One button per meter, then back to the account's history (no dead end)."""
    rows = [
        [button(name, ReadingsHistory(account_id=account_id, meter_id=meter_id, via=1))]
        for meter_id, name in meters
    ]
    rows.append(nav_row(HistoryMenu(account_id=account_id)))
    return InlineKeyboardMarkup(inline_keyboard=rows)
