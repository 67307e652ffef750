"""Appeals: the resident's keyboards and callback data (prefixes "a*")."""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from keyboards.callbacks import AppealsHistory, NewAppeal
from keyboards.card import HistoryMenu
from keyboards.common import button, nav_row
from storage.models import Account, Appeal
from storage.repo.appeals import Status, Topic
from texts import fmt
from texts.ru import appeals as t


class AppealAccount(CallbackData, prefix="aa"):
    """The account a new appeal is about (authorized again on use)."""

    account_id: int


class StepAction(StrEnum):
    NEW = "new"
    CANCEL = "cancel"
    DONE = "done"  # photos done / no photos
    SEND = "send"


class ThreadAction(StrEnum):
    ADD = "add"  # a message to the appeal
    CLOSE = "close"  # asks to confirm
    CLOSE_YES = "close_yes"


class AppealTopic(CallbackData, prefix="at"):
    topic: Topic


class AppealStep(CallbackData, prefix="as"):
    """Buttons of the new-appeal dialogue."""

    action: StepAction


class AppealView(CallbackData, prefix="av"):
    """One appeal's thread; page 0 is the newest messages."""

    appeal_id: int
    page: int = 0
    fresh: int = 0  # 1: send the thread as a new message (keep the one the button is on)


class AppealAction(CallbackData, prefix="ax"):
    action: ThreadAction
    appeal_id: int


def _cancel_row() -> list[InlineKeyboardButton]:
    return [button(t.BTN_CANCEL, AppealStep(action=StepAction.CANCEL)), *nav_row()]


def choose_account(accounts: Sequence[Account], has_appeals: bool) -> InlineKeyboardMarkup:
    rows = [
        [
            button(
                fmt.account_label(acc.number, acc.apartment.house.address, acc.apartment.number),
                AppealAccount(account_id=acc.id),
            )
        ]
        for acc in accounts
    ]
    if has_appeals:
        rows.append([button(t.BTN_MY_APPEALS, AppealsHistory(account_id=0, page=0))])
    rows.append(_cancel_row())
    rows.append(nav_row())
    return InlineKeyboardMarkup(inline_keyboard=rows)


def choose_topic(has_appeals: bool) -> InlineKeyboardMarkup:
    rows = [[button(t.TOPICS[topic], AppealTopic(topic=topic))] for topic in Topic]
    if has_appeals:
        rows.append([button(t.BTN_MY_APPEALS, AppealsHistory(account_id=0, page=0))])
    rows.append(_cancel_row())
    rows.append(nav_row())
    return InlineKeyboardMarkup(inline_keyboard=rows)


def text_step() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[_cancel_row()])


def photos_step(photos: int) -> InlineKeyboardMarkup:
    first = (
        button(t.BTN_PHOTOS_DONE, AppealStep(action=StepAction.DONE))
        if photos
        else button(t.BTN_NO_PHOTOS, AppealStep(action=StepAction.DONE))
    )
    return InlineKeyboardMarkup(inline_keyboard=[[first], _cancel_row()])


def confirm() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[[button(t.BTN_SEND, AppealStep(action=StepAction.SEND))], _cancel_row()]
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
    nav = []  # newest first: «◀ Раньше» to older appeals, «Позже ▶» to newer ones
    if page + 1 < pages:
        nav.append(button(t.BTN_OLDER, AppealsHistory(account_id=account_id, page=page + 1)))
    if page > 0:
        nav.append(button(t.BTN_NEWER, AppealsHistory(account_id=account_id, page=page - 1)))
    if nav:
        rows.append(nav)
    rows.append([_new_appealbutton(account_id)])
    rows.append(nav_row(_list_back(account_id)))
    return InlineKeyboardMarkup(inline_keyboard=rows)


def _list_back(account_id: int) -> HistoryMenu | None:
    """An account's appeals are opened from its history; all of them from the menu."""
    return HistoryMenu(account_id=account_id) if account_id else None


def _new_appealbutton(account_id: int) -> InlineKeyboardButton:
    if account_id:
        return button(t.BTN_NEW, NewAppeal(account_id=account_id))
    return button(t.BTN_NEW, AppealStep(action=StepAction.NEW))


def no_appeals(account_id: int) -> InlineKeyboardMarkup:
    """«Обращений пока нет»: write one, or back (about an account: to its history)."""
    rows = [[_new_appealbutton(account_id)], nav_row(_list_back(account_id))]
    return InlineKeyboardMarkup(inline_keyboard=rows)


def thread(appeal: Appeal, page: int, pages: int) -> InlineKeyboardMarkup:
    rows = []
    nav = []
    if page + 1 < pages:
        nav.append(button(t.BTN_OLDER, AppealView(appeal_id=appeal.id, page=page + 1)))
    if page > 0:
        nav.append(button(t.BTN_NEWER, AppealView(appeal_id=appeal.id, page=page - 1)))
    if nav:
        rows.append(nav)
    if appeal.status != Status.CLOSED:
        rows.append(
            [
                button(
                    t.BTN_ADD_MESSAGE, AppealAction(action=ThreadAction.ADD, appeal_id=appeal.id)
                ),
                button(t.BTN_CLOSE, AppealAction(action=ThreadAction.CLOSE, appeal_id=appeal.id)),
            ]
        )
    rows.append(nav_row(AppealsHistory(account_id=0, page=0)))  # the list of appeals
    return InlineKeyboardMarkup(inline_keyboard=rows)


def close_confirm(appeal_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                button(
                    t.BTN_CLOSE_YES,
                    AppealAction(action=ThreadAction.CLOSE_YES, appeal_id=appeal_id),
                ),
                button(t.BTN_CLOSE_NO, AppealView(appeal_id=appeal_id)),
            ],
            nav_row(),
        ]
    )


def answer_received(appeal_id: int, closed: bool = False) -> InlineKeyboardMarkup:
    """Under an operator's answer or a status notice in the resident's chat."""
    row = [button(t.BTN_OPEN_THREAD, AppealView(appeal_id=appeal_id, fresh=1))]
    if not closed:
        row.append(button(t.BTN_REPLY, AppealAction(action=ThreadAction.ADD, appeal_id=appeal_id)))
    return InlineKeyboardMarkup(inline_keyboard=[row])
