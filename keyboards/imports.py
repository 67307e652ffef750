"""The operators' billing imports: the preview's buttons, the push offer, the undo question
(prefixes "oi*", next to the operators' "o*")."""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardMarkup

from keyboards.common import button, one_row
from texts.ru import imports as t


class BatchAction(StrEnum):
    LOAD = "load"
    CANCEL = "cancel"


class UndoAction(StrEnum):
    UNDO = "undo"
    KEEP = "keep"


class ImportBatch(CallbackData, prefix="oib"):
    """On a preview: load or drop the checked files (`batch`: the bot's number of the batch)."""

    action: BatchAction
    batch: int


class PushPeriod(CallbackData, prefix="oip"):
    period: int  # YYYYMM


class UndoImport(CallbackData, prefix="oiu"):
    action: UndoAction
    import_id: int


def preview(batch: int) -> InlineKeyboardMarkup:
    return one_row(
        button(t.BTN_LOAD, ImportBatch(action=BatchAction.LOAD, batch=batch)),
        button(t.BTN_CANCEL, ImportBatch(action=BatchAction.CANCEL, batch=batch)),
    )


def push_offer(period: int, month: str, residents: int) -> InlineKeyboardMarkup:
    text = t.BTN_PUSH.format(month=month, n=t.to_residents(residents))
    return one_row(button(text, PushPeriod(period=period)))


def undo_confirm(import_id: int) -> InlineKeyboardMarkup:
    return one_row(
        button(
            t.BTN_UNDO.format(id=import_id), UndoImport(action=UndoAction.UNDO, import_id=import_id)
        ),
        button(t.BTN_KEEP, UndoImport(action=UndoAction.KEEP, import_id=import_id)),
    )
