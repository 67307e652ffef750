"""Readings sent as plain messages: understood, confirmed with buttons, saved.

A reading is saved only after the resident confirms what the bot understood; the pending values
(`services.readings.dialogue.Pending`) live in the dialogue state between the updates.
"""

from __future__ import annotations

from typing import Any

from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.filters import Filter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message, Update
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.readings import views
from handlers.ui import edit_or_send
from keyboards import readings as kb
from keyboards.accounts import no_accounts
from keyboards.menu import MENU_BUTTONS
from services.readings import dialogue as service
from services.readings.parser import ParseResult, parse_readings
from services.readings.window import closed_window, remind_when_open
from storage.models import Resident
from texts.ru import readings as t

PENDING = "readings"  # the dialogue data key of the pending readings


class ReadingsFlow(StatesGroup):
    choosing = State()  # a value needs its meter chosen
    confirming = State()  # the resident is shown what was understood


class ReadingsText(Filter):
    """A registered resident's private text message that reads as meter readings; passes the
    parse to the handler as `parsed`. Anything else goes on to the other handlers."""

    async def __call__(
        self, message: Message, resident: Resident | None = None
    ) -> bool | dict[str, Any]:
        if message.chat.type != "private" or not message.text:
            return False
        if resident is None or not resident.is_registered:
            return False
        parsed = parse_readings(message.text)
        if parsed is None:
            return False
        return {"parsed": parsed}


class ReadingsPhoto(Filter):
    """A registered resident's private photo; passes the readings of its caption as `parsed`
    (None when the caption holds none). `captioned`: only a photo whose caption reads as
    readings (outside the dialogue a bare photo is not ours)."""

    def __init__(self, *, captioned: bool = False) -> None:
        self.captioned = captioned

    async def __call__(
        self, message: Message, resident: Resident | None = None
    ) -> bool | dict[str, Any]:
        if message.chat.type != "private" or not message.photo:
            return False
        if resident is None or not resident.is_registered:
            return False
        parsed = parse_readings(message.caption) if message.caption else None
        if parsed is None and self.captioned:
            return False
        return {"parsed": parsed}


async def on_readings_text(
    message: Message,
    parsed: ParseResult,
    session: AsyncSession,
    resident: Resident,
    state: FSMContext,
) -> None:
    kept = await _in_dialogue(state)  # new readings typed in the dialogue keep its photo
    await _take(message, parsed, session, resident, state, kept.photo if kept else "")


async def on_photo(
    message: Message,
    parsed: ParseResult | None,
    session: AsyncSession,
    resident: Resident,
    state: FSMContext,
) -> None:
    """A photo of the meter: with readings in its caption it is sent readings with evidence;
    during the dialogue a bare photo joins the pending readings."""
    photo = message.photo[-1].file_id if message.photo else ""
    if parsed is not None:
        await _take(message, parsed, session, resident, state, photo)
        return
    pending = await _in_dialogue(state)
    if pending is None:
        raise SkipHandler
    pending.photo = photo
    await state.update_data({PENDING: pending.to_state()})
    await message.answer(t.PHOTO_KEPT)


async def _take(
    message: Message,
    parsed: ParseResult,
    session: AsyncSession,
    resident: Resident,
    state: FSMContext,
    photo: str,
) -> None:
    """Readings sent: the closed window is said before anything is asked; a value only one
    meter can take goes to that meter without a question."""
    meters = await service.resident_meters(session, resident.id)
    if not meters.accounts or not meters.meters:
        await state.clear()
        if meters.accounts:
            await message.answer(t.NO_ACTIVE_METERS)
        else:
            await message.answer(t.NO_ACCOUNTS, reply_markup=no_accounts())
        return
    closed = closed_window(meters)
    if closed is not None:
        await state.clear()
        text, markup = views.window_closed_screen(closed)
        await message.answer(text, reply_markup=markup)
        return
    pending = service.understand(meters, parsed, nonce=message.message_id)
    pending.photo = photo
    await service.narrow(session, meters, pending)
    await _advance(message, session, state, meters, pending)


async def _in_dialogue(state: FSMContext) -> service.Pending | None:
    """The pending readings of the dialogue under way (None outside it)."""
    if await state.get_state() not in (ReadingsFlow.choosing.state, ReadingsFlow.confirming.state):
        return None
    return service.Pending.from_state((await state.get_data()).get(PENDING))


async def on_remind_when_open(
    callback: CallbackQuery, session: AsyncSession, resident: Resident
) -> None:
    """«Напомнить, когда откроется»: the window-opening reminder, asked for (once)."""
    window = await remind_when_open(session, resident.id)
    await callback.answer()
    if window is None:
        await edit_or_send(callback, t.WINDOW_ALREADY_OPEN)
        return
    await edit_or_send(callback, views.reminder_requested(window))


async def _advance(
    event: Message | CallbackQuery,
    session: AsyncSession,
    state: FSMContext,
    meters: service.ResidentMeters,
    pending: service.Pending,
) -> None:
    """The next step: choose a meter for an ambiguous value, or confirm what was understood."""
    choice = pending.next_choice()
    if choice is not None:
        await state.set_state(ReadingsFlow.choosing)
        await state.update_data({PENDING: pending.to_state()})
        text, markup = views.choose_meter_screen(pending, *choice, meters)
        await edit_or_send(event, text, markup)
        return
    accepted = await service.review(session, meters, pending)
    text, markup = views.confirm_screen(pending, accepted, meters)
    if accepted:
        await state.set_state(ReadingsFlow.confirming)
        await state.update_data({PENDING: pending.to_state()})
    else:
        await state.clear()
    await edit_or_send(event, text, markup)


async def waiting_for_buttons(message: Message, state: FSMContext) -> None:
    """Anything but readings while the dialogue waits for its buttons. Commands and the menu go on
    to their own handlers."""
    text = message.text or ""
    if text.startswith("/") or text in MENU_BUTTONS:
        raise SkipHandler
    choosing = await state.get_state() == ReadingsFlow.choosing.state
    await message.answer(t.WAITING_CHOICE if choosing else t.WAITING_CONFIRM)


async def _pending(state: FSMContext, nonce: int) -> service.Pending | None:
    pending = service.Pending.from_state((await state.get_data()).get(PENDING))
    return pending if pending is not None and pending.nonce == nonce else None


async def on_pick(
    callback: CallbackQuery,
    callback_data: kb.PickMeter,
    session: AsyncSession,
    resident: Resident,
    state: FSMContext,
) -> None:
    pending = await _pending(state, callback_data.nonce)
    choosing = await state.get_state() == ReadingsFlow.choosing.state
    if (
        pending is None
        or not choosing
        or not pending.choose(callback_data.item, callback_data.meter_id)
    ):
        await callback.answer(t.STALE, show_alert=True)  # forged or from another question
        return
    await callback.answer()
    meters = await service.resident_meters(session, resident.id)
    await _advance(callback, session, state, meters, pending)


async def on_confirm(
    callback: CallbackQuery,
    callback_data: kb.ConfirmReadings,
    session: AsyncSession,
    resident: Resident,
    state: FSMContext,
    event_update: Update,
) -> None:
    action = callback_data.action
    if action is kb.ReadingsAction.SAVE and await service.already_saved(
        session, event_update.update_id
    ):
        await state.clear()  # the same confirmation delivered again (after a crash)
        await callback.answer(t.ALREADY_SAVED)
        return
    pending = await _pending(state, callback_data.nonce)
    if pending is None:
        await callback.answer(t.STALE, show_alert=True)
        return
    if action is not kb.ReadingsAction.SAVE:
        await state.clear()
        await callback.answer()
        await edit_or_send(
            callback, t.CANCELLED if action is kb.ReadingsAction.CANCEL else t.FIX_PROMPT
        )
        return
    if await state.get_state() != ReadingsFlow.confirming.state:
        await callback.answer(t.STALE, show_alert=True)
        return
    # Saved (committed) before the dialogue state is dropped (the state lives outside the
    # transaction): a crash in between leaves the state, and the update id stops a resave.
    saved = await service.save(session, resident.id, pending, event_update.update_id)
    await state.clear()
    if saved.already_saved:
        await callback.answer(t.ALREADY_SAVED)
        return
    await callback.answer()
    await edit_or_send(callback, views.saved_screen(saved))
