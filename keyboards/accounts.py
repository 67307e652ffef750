"""Linking keyboards and callbacks (prefix "l"). Lists show no personal data: addresses,
apartment and account numbers only. `LinkStart` is the entry point other features' buttons use."""

from __future__ import annotations

from collections.abc import Sequence

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from keyboards.callbacks import NotFound, OpenCard
from keyboards.common import nav_row
from storage.models import Account
from texts import fmt
from texts.ru import accounts as t
from texts.ru import common as tc

MAX_BUTTON_TEXT = 60
# A grid row of a phone's width: this many characters (the buttons' own margins counted as two
# each) fit in one row; never more than MAX_PER_ROW buttons.
ROW_CHARS = 36
MAX_PER_ROW = 5


class LinkStart(CallbackData, prefix="l"):
    """Start adding a personal account (from the registration offer, "Мои счета", the profile)."""


class LinkOrgs(CallbackData, prefix="lo"):
    page: int = 0


class LinkHouses(CallbackData, prefix="lh"):
    org_id: int
    page: int = 0


class LinkClearSearch(CallbackData, prefix="ls"):
    org_id: int


class LinkApartments(CallbackData, prefix="la"):
    house_id: int
    page: int = 0


class LinkAccounts(CallbackData, prefix="lc"):
    apartment_id: int
    page: int = 0


class LinkPick(CallbackData, prefix="lp"):
    account_id: int


class LinkNewCaptcha(CallbackData, prefix="lk"):
    """Another captcha picture."""


class LinkByPhone(CallbackData, prefix="lf"):
    """An account offered right after registration: its phone on record is the resident's
    verified phone. Authorized again when pressed (services.linking.link_by_phone)."""

    account_id: int


def _button(text: str, data: CallbackData) -> InlineKeyboardButton:
    if len(text) > MAX_BUTTON_TEXT:
        text = text[: MAX_BUTTON_TEXT - 1] + "…"
    return InlineKeyboardButton(text=text, callback_data=data.pack())


def per_row(labels: Sequence[str]) -> int:
    """As many buttons a row as the longest label allows (1 to MAX_PER_ROW): apartment numbers
    sit 4-5 a row, short house addresses two, long ones one."""
    longest = max((len(label) for label in labels), default=1)
    return max(1, min(MAX_PER_ROW, ROW_CHARS // (longest + 2)))


def paged(
    items: Sequence[tuple[str, CallbackData]],
    *,
    page: int,
    pages: int,
    page_data: type[CallbackData] | None = None,
    page_fields: dict[str, int] | None = None,
    extra: Sequence[tuple[str, CallbackData]] = (),
    back: CallbackData | None = None,
    not_found: int | None = None,
    grid: bool = False,
) -> InlineKeyboardMarkup:
    """The items (one a row, or with `grid` as many a row as their labels allow), then ◀ ▶, then
    extra buttons, «Не нашли свой счёт?» (to the organization `not_found`, 0: to be chosen) and
    "Назад"."""
    buttons = [_button(text, data) for text, data in items]
    width = per_row([text for text, _ in items]) if grid else 1
    rows = [buttons[i : i + width] for i in range(0, len(buttons), width)]
    if page_data is not None and pages > 1:
        fields = page_fields or {}
        nav = []
        if page > 0:
            nav.append(_button(tc.BTN_PREV, page_data(**fields, page=page - 1)))
        if page + 1 < pages:
            nav.append(_button(tc.BTN_NEXT, page_data(**fields, page=page + 1)))
        rows.append(nav)
    rows.extend([_button(text, data)] for text, data in extra)
    if not_found is not None:
        rows.append(not_found_row(not_found))
    rows.append(nav_row(back))
    return InlineKeyboardMarkup(inline_keyboard=rows)


def not_found_row(org_id: int = 0) -> list[InlineKeyboardButton]:
    return [_button(tc.BTN_NOT_FOUND, NotFound(org_id=org_id))]


def back_only(back: CallbackData, org_id: int) -> InlineKeyboardMarkup:
    """A proof step: "Назад" to the accounts, or an appeal to the account's organization."""
    return InlineKeyboardMarkup(inline_keyboard=[not_found_row(org_id), nav_row(back)])


def captcha(back: CallbackData, org_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [_button(t.BTN_NEW_CAPTCHA, LinkNewCaptcha())],
            not_found_row(org_id),
            nav_row(back),
        ]
    )


def no_accounts() -> InlineKeyboardMarkup:
    """Every "no linked account" screen: link one, or write without one."""
    return InlineKeyboardMarkup(
        inline_keyboard=[[_button(t.BTN_ADD_ACCOUNT, LinkStart())], not_found_row(), nav_row()]
    )


def start_button(text: str = t.BTN_ADD_ACCOUNT) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[[_button(text, LinkStart())], nav_row()])


def phone_offer(accounts: Sequence[Account], opened: int | None = None) -> InlineKeyboardMarkup:
    """One tap per account found by the resident's phone; another account through the
    directory; after a link, its card (`opened`)."""
    rows = [
        [
            _button(
                t.BTN_LINK_BY_PHONE.format(
                    label=fmt.account_label(a.number, a.apartment.house.address, a.apartment.number)
                ),
                LinkByPhone(account_id=a.id),
            )
        ]
        for a in accounts
    ]
    if opened is not None:
        rows.append([_button(t.BTN_OPEN_CARD, OpenCard(account_id=opened))])
    rows.append([_button(t.BTN_LINK_OTHER, LinkStart())])
    rows.append(nav_row())
    return InlineKeyboardMarkup(inline_keyboard=rows)


def linked(account_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [_button(t.BTN_OPEN_CARD, OpenCard(account_id=account_id))],
            [_button(t.BTN_ADD_ANOTHER, LinkStart())],
            nav_row(),
        ]
    )
