"""Meters and readings: the meters list, readings sent as plain messages, history.

`router()` serves the menu button, /readings, the card's buttons, the readings dialogue's
buttons and the dialogue's states; `free_text_router()` (after every other feature) takes plain
messages outside any dialogue that read as meter readings, and lets everything else through.
"""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command, StateFilter

from handlers.access import registered_only
from handlers.filters import TextIs
from handlers.readings.dialogue import (
    ReadingsFlow,
    ReadingsPhoto,
    ReadingsText,
    on_confirm,
    on_photo,
    on_pick,
    on_readings_text,
    on_remind_when_open,
    waiting_for_buttons,
)
from handlers.readings.meters import open_history, open_readings, show_readings
from keyboards import readings as kb
from keyboards.callbacks import OpenReadings, ReadingsHistory
from texts.ru import common

__all__ = ["ReadingsFlow", "free_text_router", "router"]


def router() -> Router:
    r = registered_only(Router(name="readings"))
    r.message.register(show_readings, Command("readings"))
    r.message.register(show_readings, TextIs(common.BTN_READINGS))
    r.callback_query.register(open_readings, OpenReadings.filter())
    r.callback_query.register(open_history, ReadingsHistory.filter())
    r.callback_query.register(on_pick, kb.PickMeter.filter())
    r.callback_query.register(on_confirm, kb.ConfirmReadings.filter())
    r.callback_query.register(on_remind_when_open, kb.RemindWhenOpen.filter())
    dialogue = StateFilter(ReadingsFlow.choosing, ReadingsFlow.confirming)
    # New readings typed during the dialogue replace the pending ones.
    r.message.register(on_readings_text, dialogue, ReadingsText())
    r.message.register(on_photo, dialogue, ReadingsPhoto())  # evidence for the operators
    r.message.register(waiting_for_buttons, dialogue)
    return r


def free_text_router() -> Router:
    """Readings sent as plain messages outside any dialogue: after every other router."""
    r = Router(name="readings_free_text")
    r.message.register(on_readings_text, StateFilter(None), ReadingsText())
    r.message.register(on_photo, StateFilter(None), ReadingsPhoto(captioned=True))
    return r
