"""Appeals: the resident's keyboards and callback data (prefixes "a*")."""

from __future__ import annotations

from collections.abc import Sequence

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from keyboards.callbacks import AppealsHistory, NewAppeal
from keyboards.common import button
from storage.models import Account, Appeal
from texts.ru import appeals as t
from texts.ru import common as tc


class AppealAccount(CallbackData, prefix="aa"):
    """The account a new appeal is about (authorized again on use)."""

    account_id: int


class AppealTopic(CallbackData, prefix="at"):
    topic: str


class AppealStep(CallbackData, prefix="as"):
    """Buttons of the new-appeal dialogue: photos done / no photos / send / cancel."""

    action: str


class AppealView(CallbackData, prefix="av"):
    """One appeal's thread; page 0 is the newest messages."""

    appeal_id: int
    page: int = 0
    fresh: int = 0  # 1: send the thread as a new message (keep the one the button is on)


class AppealAction(CallbackData, prefix="ax"):
    """add (a message) / close / close_yes."""

    action: str
    appeal_id: int


def _cancel_row() -> list[InlineKeyboardButton]:
    return [button(t.BTN_CANCEL, AppealStep(action="cancel"))]


def choose_account(accounts: Sequence[Account], has_appeals: bool) -> InlineKeyboardMarkup:
    rows = [
        [
            button(
                f"{acc.number} · {acc.apartment.house.address}"[:60],
                AppealAccount(account_id=acc.id),
            )
        ]
        for acc in accounts
    ]
    if has_appeals:
        rows.append([button(t.BTN_MY_APPEALS, AppealsHistory(account_id=0, page=0))])
    rows.append(_cancel_row())
    return InlineKeyboardMarkup(inline_keyboard=rows)


def choose_topic(has_appeals: bool) -> InlineKeyboardMarkup:
    rows = [[button(label, AppealTopic(topic=code))] for code, label in t.TOPICS.items()]
    if has_appeals:
        rows.append([button(t.BTN_MY_APPEALS, AppealsHistory(account_id=0, page=0))])
    rows.append(_cancel_row())
    return InlineKeyboardMarkup(inline_keyboard=rows)


def text_step() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[_cancel_row()])


def photos_step(photos: int) -> InlineKeyboardMarkup:
    first = (
        button(t.BTN_PHOTOS_DONE, AppealStep(action="done"))
        if photos
        else button(t.BTN_NO_PHOTOS, AppealStep(action="done"))
    )
    return InlineKeyboardMarkup(inline_keyboard=[[first], _cancel_row()])


def confirm() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[[button(t.BTN_SEND, AppealStep(action="send"))], _cancel_row()]
    )


def appeals_list(
    appeals: Sequence[Appeal], account_id: int, page: int, pages: int
) -> InlineKeyboardMarkup:
    rows = [
        [
            button(
                t.LIST_ITEM.format(
                    icon=t.STATUS_ICONS.get(a.status, ""),
                    id=a.id,
                    topic=t.TOPICS.get(a.topic, a.topic),
                    status=t.STATUSES.get(a.status, a.status),
                ),
                AppealView(appeal_id=a.id),
            )
        ]
        for a in appeals
    ]
    nav = []
    if page > 0:
        nav.append(button(tc.BTN_PREV, AppealsHistory(account_id=account_id, page=page - 1)))
    if page + 1 < pages:
        nav.append(button(tc.BTN_NEXT, AppealsHistory(account_id=account_id, page=page + 1)))
    if nav:
        rows.append(nav)
    rows.append([_new_appealbutton(account_id)])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def _new_appealbutton(account_id: int) -> InlineKeyboardButton:
    if account_id:
        return button(t.BTN_NEW, NewAppeal(account_id=account_id))
    return button(t.BTN_NEW, AppealStep(action="new"))


def no_appeals(account_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[[_new_appealbutton(account_id)]])


def thread(appeal: Appeal, page: int, pages: int) -> InlineKeyboardMarkup:
    rows = []
    nav = []
    if page + 1 < pages:
        nav.append(button(t.BTN_OLDER, AppealView(appeal_id=appeal.id, page=page + 1)))
    if page > 0:
        nav.append(button(t.BTN_NEWER, AppealView(appeal_id=appeal.id, page=page - 1)))
    if nav:
        rows.append(nav)
    if appeal.status != "closed":
        rows.append(
            [
                button(t.BTN_ADD_MESSAGE, AppealAction(action="add", appeal_id=appeal.id)),
                button(t.BTN_CLOSE, AppealAction(action="close", appeal_id=appeal.id)),
            ]
        )
    rows.append([button(t.BTN_TO_LIST, AppealsHistory(account_id=0, page=0))])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def close_confirm(appeal_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                button(t.BTN_CLOSE_YES, AppealAction(action="close_yes", appeal_id=appeal_id)),
                button(t.BTN_CLOSE_NO, AppealView(appeal_id=appeal_id)),
            ]
        ]
    )


def answer_received(appeal_id: int, closed: bool = False) -> InlineKeyboardMarkup:
    """Under an operator's answer or a status notice in the resident's chat."""
    row = [button(t.BTN_OPEN_THREAD, AppealView(appeal_id=appeal_id, fresh=1))]
    if not closed:
        row.append(button(t.BTN_REPLY, AppealAction(action="add", appeal_id=appeal_id)))
    return InlineKeyboardMarkup(inline_keyboard=[row])
