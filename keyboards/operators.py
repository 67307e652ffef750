"""The operators' chat and the administrators' dialogues (prefixes "o*")."""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardMarkup

from keyboards.common import button, one_row
from storage.models import House, Organization
from storage.repo.appeals import Status
from texts.ru import common as tc
from texts.ru import operators as t


class PostAction(StrEnum):
    TAKE = "take"
    CLOSE = "close"


class AnnounceAction(StrEnum):
    SEND = "send"
    CANCEL = "cancel"


class OperatorAppeal(CallbackData, prefix="oa"):
    """On the appeal's post in the operators' chat."""

    action: PostAction
    appeal_id: int


class AnnounceOrg(CallbackData, prefix="oo"):
    organization_id: int


class AnnounceHouse(CallbackData, prefix="oh"):
    house_id: int  # 0: the whole organization


class AnnounceHousesPage(CallbackData, prefix="op"):
    page: int


class AnnounceStep(CallbackData, prefix="os"):
    action: AnnounceAction


def appeal_post(appeal_id: int, status: str) -> InlineKeyboardMarkup | None:
    if status == Status.CLOSED:
        return None
    row = []
    if status == Status.NEW:
        row.append(button(t.BTN_TAKE, OperatorAppeal(action=PostAction.TAKE, appeal_id=appeal_id)))
    row.append(button(t.BTN_CLOSE, OperatorAppeal(action=PostAction.CLOSE, appeal_id=appeal_id)))
    return InlineKeyboardMarkup(inline_keyboard=[row])


def organizations(orgs: Sequence[Organization]) -> InlineKeyboardMarkup:
    rows = [[button(org.name[:60], AnnounceOrg(organization_id=org.id))] for org in orgs]
    rows.append([button(t.BTN_ANNOUNCE_CANCEL, AnnounceStep(action=AnnounceAction.CANCEL))])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def houses(items: Sequence[House], page: int, pages: int) -> InlineKeyboardMarkup:
    rows = [[button(t.BTN_WHOLE_ORG, AnnounceHouse(house_id=0))]]
    rows += [[button(house.address[:60], AnnounceHouse(house_id=house.id))] for house in items]
    nav = []
    if page > 0:
        nav.append(button(tc.BTN_PREV, AnnounceHousesPage(page=page - 1)))
    if page + 1 < pages:
        nav.append(button(tc.BTN_NEXT, AnnounceHousesPage(page=page + 1)))
    if nav:
        rows.append(nav)
    rows.append([button(t.BTN_ANNOUNCE_CANCEL, AnnounceStep(action=AnnounceAction.CANCEL))])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def announce_cancel() -> InlineKeyboardMarkup:
    return one_row(button(t.BTN_ANNOUNCE_CANCEL, AnnounceStep(action=AnnounceAction.CANCEL)))


def announce_confirm() -> InlineKeyboardMarkup:
    return one_row(
        button(t.BTN_ANNOUNCE_SEND, AnnounceStep(action=AnnounceAction.SEND)),
        button(t.BTN_ANNOUNCE_CANCEL, AnnounceStep(action=AnnounceAction.CANCEL)),
    )
