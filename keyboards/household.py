"""Household keyboards and callbacks (prefix "h")."""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from keyboards.callbacks import OpenCard
from keyboards.common import button, nav_row
from keyboards.profile import Act, ProfileAction
from texts.ru import household as t


class HouseholdAct(StrEnum):
    SHOW = "show"
    INVITE = "inv"
    REVOKE = "rv"  # a pending link
    REMOVE_ASK = "ra"  # an invitee's access: asks to confirm
    REMOVE = "rm"


class HouseholdAction(CallbackData, prefix="h"):
    """`account_id` (authorized by the account gate) for everything about one account; the
    invite is checked to be the resident's own by the service."""

    action: HouseholdAct
    account_id: int = 0
    invite_id: int = 0


def _button(
    text: str, action: HouseholdAct, account_id: int = 0, invite_id: int = 0
) -> InlineKeyboardButton:
    return button(text, HouseholdAction(action=action, account_id=account_id, invite_id=invite_id))


def household_button() -> list[InlineKeyboardButton]:
    """The profile's row that opens the household screen."""
    return [_button(t.BTN_HOUSEHOLD, HouseholdAct.SHOW)]


def household(buttons: list[tuple[str, HouseholdAct, int, int]]) -> InlineKeyboardMarkup:
    """A row per (text, action, account id, invite id), then back to the profile."""
    rows = [[_button(*spec)] for spec in buttons]
    rows.append(nav_row(ProfileAction(action=Act.SHOW)))
    return InlineKeyboardMarkup(inline_keyboard=rows)


def remove_confirm(account_id: int, invite_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [_button(t.BTN_REMOVE_YES, HouseholdAct.REMOVE, account_id, invite_id)],
            nav_row(HouseholdAction(action=HouseholdAct.SHOW)),
        ]
    )


def back_to_household() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[nav_row(HouseholdAction(action=HouseholdAct.SHOW))]
    )


def open_account(account_id: int, number: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [button(t.BTN_OPEN_ACCOUNT.format(number=number), OpenCard(account_id=account_id))]
        ]
    )
