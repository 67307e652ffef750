"""Meters and readings: the meters list, readings sent as plain messages, history.

`router()` serves the menu button, /readings, the card's buttons, the readings dialogue's
buttons and the dialogue's states; `free_text_router()` (after every other feature) takes plain
messages outside any dialogue that read as meter readings, and lets everything else through.

A reading is saved only after the resident confirms what the bot understood. The pending values
live in the FSM state; the save happens on the confirmation's callback, whose update id marks the
saved reading (`Reading.update_id`, unique), so a redelivered update saves nothing twice.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from aiogram import Router
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, Filter, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message, Update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.access import authorized, registered_only
from handlers.filters import TextIs
from keyboards import readings as kb
from keyboards.callbacks import OpenReadings, ReadingsHistory
from keyboards.menu import MENU_BUTTONS
from services.readings import rules as rules
from services.readings.parser import (
    NEGATIVE,
    NOT_A_NUMBER,
    TOO_LONG,
    UNCLEAR,
    ParseResult,
    parse_readings,
)
from storage.models import Account, Meter, Resident
from storage.repo import readings as repo
from storage.repo.accounts import linked_accounts
from texts import fmt
from texts.ru import common
from texts.ru import readings as t

log = logging.getLogger(__name__)

HISTORY_PERIODS = 12
PENDING = "readings"  # the FSM data key of the pending readings


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


def router() -> Router:
    r = registered_only(Router(name="readings"))
    r.message.register(show_readings, Command("readings"))
    r.message.register(show_readings, TextIs(common.BTN_READINGS))
    r.callback_query.register(open_readings, OpenReadings.filter())
    r.callback_query.register(open_history, ReadingsHistory.filter())
    r.callback_query.register(on_pick, kb.PickMeter.filter())
    r.callback_query.register(on_confirm, kb.ConfirmReadings.filter())
    dialogue = StateFilter(ReadingsFlow.choosing, ReadingsFlow.confirming)
    # New readings typed during the dialogue replace the pending ones.
    r.message.register(on_readings_text, dialogue, ReadingsText())
    r.message.register(waiting_for_buttons, dialogue)
    return r


def free_text_router() -> Router:
    """Readings sent as plain messages outside any dialogue: after every other router."""
    r = Router(name="readings_free_text")
    r.message.register(on_readings_text, StateFilter(None), ReadingsText())
    return r


# --- the meters list ---------------------------------------------------------------------------


def _address(account: Account) -> str:
    apartment = account.apartment
    return f"{apartment.house.address}, кв. {apartment.number}"


async def show_readings(message: Message, session: AsyncSession, resident: Resident) -> None:
    accounts = [a for a in await linked_accounts(session, resident.id) if not a.closed]
    if not accounts:
        await message.answer(common.NO_ACCOUNTS)
        return
    if len(accounts) == 1:
        text, markup = await _meters_view(session, accounts[0])
        await message.answer(text, reply_markup=markup)
        return
    await message.answer(
        t.CHOOSE_ACCOUNT,
        reply_markup=kb.accounts_keyboard(
            [
                (a.id, t.ACCOUNT_BUTTON.format(number=a.number, address=_address(a))[:60])
                for a in accounts
            ]
        ),
    )


async def open_readings(
    callback: CallbackQuery,
    callback_data: OpenReadings,
    session: AsyncSession,
    resident: Resident,
) -> None:
    account = await authorized(callback, session, resident, callback_data.account_id)
    if account is None:
        return
    await callback.answer()
    text, markup = await _meters_view(session, account)
    if callback.message is not None:
        await callback.message.answer(text, reply_markup=markup)


async def _meters_view(
    session: AsyncSession, account: Account
) -> tuple[str, InlineKeyboardMarkup | None]:
    org = account.organization
    window = rules.reading_window(org.timezone, org.readings_day_from, org.readings_day_to)
    meters = [m for m in await repo.meters_of_accounts(session, [account.id]) if not m.archived]
    if not meters:
        return t.NO_METERS.format(number=fmt.esc(account.number)), None
    ids = [m.id for m in meters]
    this_period = await repo.current_readings(session, ids, window.period)
    before = await repo.last_readings_before(session, ids, window.period)
    blocks = [t.meters_title(account.number, _address(account))]
    for meter in meters:
        lines = [
            t.METER_LINE.format(
                icon=t.RESOURCE_ICONS.get(meter.resource, "🔢"),
                name=fmt.esc(t.meter_name(meter.resource, meter.zone)),
                serial=fmt.esc(meter.serial or "—"),
            )
        ]
        last = before.get(meter.id)
        if last is not None:
            lines.append(
                t.METER_LAST.format(
                    value=t.value(last.value, meter.resource),
                    date=fmt.day(last.taken_on or last.created_at.date()),
                )
            )
        else:
            lines.append(t.METER_NO_LAST)
        current = this_period.get(meter.id)
        month = fmt.month(window.period)
        if current is not None:
            lines.append(
                t.METER_THIS_PERIOD.format(
                    month=month, value=t.value(current.value, meter.resource)
                )
            )
        else:
            lines.append(t.METER_THIS_PERIOD_MISSING.format(month=month))
        due = meter.verification_due
        if due is not None:
            if due < window.today:
                lines.append(t.METER_VERIFICATION_EXPIRED.format(date=fmt.day(due)))
            elif rules.verification_soon(meter, window.today):
                lines.append(t.METER_VERIFICATION_SOON.format(date=fmt.day(due)))
            else:
                lines.append(t.METER_VERIFICATION.format(date=fmt.day(due)))
        blocks.append("\n".join(lines))
    blocks.append(t.window_line(window.day_from, window.day_to, window.is_open, window.opens_on))
    blocks.append(t.HOW_TO_SEND)
    markup = kb.meters_keyboard(
        account.id, [(m.id, t.meter_short(m.resource, m.zone, m.serial)) for m in meters]
    )
    return "\n\n".join(blocks), markup


# --- history -----------------------------------------------------------------------------------


async def open_history(
    callback: CallbackQuery,
    callback_data: ReadingsHistory,
    session: AsyncSession,
    resident: Resident,
) -> None:
    account = await authorized(callback, session, resident, callback_data.account_id)
    if account is None:
        return
    meters = await repo.meters_of_accounts(session, [account.id])
    if callback_data.meter_id == 0:
        if len(meters) != 1:
            await callback.answer()
            if not meters:
                await _show(callback, t.NO_METERS.format(number=fmt.esc(account.number)), None)
                return
            await _reply(
                callback,
                t.CHOOSE_HISTORY_METER.format(number=fmt.esc(account.number)),
                kb.history_meters_keyboard(
                    account.id,
                    [(m.id, t.meter_short(m.resource, m.zone, m.serial)) for m in meters],
                ),
            )
            return
        meter = meters[0]
    else:
        meter = next((m for m in meters if m.id == callback_data.meter_id), None)
        if meter is None:
            await callback.answer(common.ACCOUNT_NOT_AVAILABLE, show_alert=True)
            return
    page = max(0, min(callback_data.page, 1000))
    rows, has_older = await repo.history(session, meter, periods=HISTORY_PERIODS, page=page)
    lines = [
        t.HISTORY_TITLE.format(
            name=fmt.esc(t.meter_name(meter.resource, meter.zone)),
            serial=fmt.esc(meter.serial or "—"),
            number=fmt.esc(account.number),
        ),
        "",
    ]
    for row in rows:
        lines.append(
            t.HISTORY_LINE.format(
                month=fmt.month(row.period),
                value=t.value(row.value, meter.resource),
                use=t.HISTORY_USE.format(use=t.value(row.consumption, meter.resource))
                if row.consumption is not None
                else "",
                source=t.HISTORY_SOURCE.format(source=t.SOURCE_NAMES.get(row.source, row.source)),
                versions=t.HISTORY_VERSIONS if row.versions > 1 else "",
                review=t.HISTORY_REVIEW if row.needs_review else "",
            )
        )
    if not rows:
        lines.append(t.HISTORY_EMPTY)
    markup = kb.history_keyboard(account.id, meter.id, page, has_older)
    await callback.answer()
    own_prefix = f"{ReadingsHistory.__prefix__}:{account.id}:{meter.id}:"
    if _has_button(callback.message, own_prefix):  # paging: turn the page in place
        await _show(callback, "\n".join(lines), markup)
    else:
        await _reply(callback, "\n".join(lines), markup)


def _has_button(message: Any, prefix: str) -> bool:
    markup = getattr(message, "reply_markup", None)
    if not isinstance(markup, InlineKeyboardMarkup):
        return False
    return any(
        (button.callback_data or "").startswith(prefix)
        for row in markup.inline_keyboard
        for button in row
    )


async def _reply(callback: CallbackQuery, text: str, markup: InlineKeyboardMarkup | None) -> None:
    if callback.message is not None:
        await callback.bot.send_message(callback.message.chat.id, text, reply_markup=markup)


async def _show(callback: CallbackQuery, text: str, markup: InlineKeyboardMarkup | None) -> None:
    """Replace the callback's message (a step of the same dialogue), or send a new one."""
    message = callback.message
    if isinstance(message, Message):
        try:
            await message.edit_text(text, reply_markup=markup)
            return
        except TelegramBadRequest:
            pass  # too old to edit, or unchanged: say it anew
    await _reply(callback, text, markup)


# --- readings as messages ----------------------------------------------------------------------


@dataclass
class Context:
    """The resident's accounts and active meters, for matching and judging values."""

    accounts: dict[int, Account]
    meters: dict[int, Meter]
    archived: dict[int, Meter]

    def account_of(self, meter: Meter) -> Account:
        return self.accounts[meter.account_id]

    def label(self, meter: Meter) -> str:
        name = t.meter_short(meter.resource, meter.zone, meter.serial)
        if len(self.accounts) > 1:
            return f"{name} · л/с {self.account_of(meter).number}"
        return name


async def _context(session: AsyncSession, resident: Resident) -> Context:
    accounts = {a.id: a for a in await linked_accounts(session, resident.id) if not a.closed}
    meters = await repo.meters_of_accounts(session, list(accounts))
    return Context(
        accounts,
        {m.id: m for m in meters if not m.archived},
        {m.id: m for m in meters if m.archived},
    )


def _parse_error_text(reason: str, typed: str) -> str:
    template = {
        NOT_A_NUMBER: t.ERR_NOT_A_NUMBER,
        NEGATIVE: t.ERR_NEGATIVE,
        TOO_LONG: t.ERR_TOO_LONG,
        UNCLEAR: t.ERR_UNCLEAR,
    }.get(reason, t.ERR_NOT_A_NUMBER)
    return template.format(typed=fmt.esc(typed[:60]))


async def on_readings_text(
    message: Message,
    parsed: ParseResult,
    session: AsyncSession,
    resident: Resident,
    state: FSMContext,
) -> None:
    context = await _context(session, resident)
    if not context.accounts:
        await state.clear()
        await message.answer(t.NO_ACCOUNTS)
        return
    if not context.meters:
        await state.clear()
        await message.answer(t.NO_ACTIVE_METERS)
        return
    refusals = [_parse_error_text(e.reason, e.typed) for e in parsed.errors]
    items = []
    for parsed_value in parsed.values:
        candidates = rules.match_meters(parsed_value.hint, context.meters.values())
        if not candidates and not parsed_value.hint.is_empty:
            retired = rules.match_meters(parsed_value.hint, context.archived.values())
            if retired:  # the resident named a meter taken out of service
                refusals.append(t.ERR_ARCHIVED.format(name=fmt.esc(context.label(retired[0]))))
                continue
        if not candidates:
            hint = parsed_value.hint
            refusals.append(
                t.ERR_NO_METER.format(
                    typed=fmt.esc(parsed_value.typed),
                    hint=fmt.esc(
                        t.hint_text(hint.resource, hint.zone, hint.serial_tail) or t.ANY_METER
                    ),
                )
            )
            continue
        items.append(
            {
                "value": str(parsed_value.value),
                "typed": parsed_value.typed,
                "candidates": [m.id for m in candidates],
                "meter_id": candidates[0].id if len(candidates) == 1 else None,
            }
        )
    pending = {"nonce": message.message_id, "items": items, "refusals": refusals}
    await _advance(message, None, session, state, context, pending)


def _drop_duplicates(context: Context, pending: dict[str, Any]) -> None:
    """Two values for one meter: keep neither, ask for one."""
    seen: dict[int, int] = {}
    for item in pending["items"]:
        if item["meter_id"] is not None:
            seen[item["meter_id"]] = seen.get(item["meter_id"], 0) + 1
    twice = {meter_id for meter_id, count in seen.items() if count > 1}
    if not twice:
        return
    pending["items"] = [i for i in pending["items"] if i["meter_id"] not in twice]
    for meter_id in twice:
        pending["refusals"].append(
            t.ERR_SAME_METER.format(name=fmt.esc(context.label(context.meters[meter_id])))
        )


async def _advance(
    message: Message | None,
    callback: CallbackQuery | None,
    session: AsyncSession,
    state: FSMContext,
    context: Context,
    pending: dict[str, Any],
) -> None:
    """The next step: choose a meter for an ambiguous value, or confirm what was understood."""

    async def say(text: str, markup: InlineKeyboardMarkup | None) -> None:
        if callback is not None:
            await _show(callback, text, markup)
        elif message is not None:
            await message.answer(text, reply_markup=markup)

    _drop_duplicates(context, pending)
    nonce = pending["nonce"]
    for index, item in enumerate(pending["items"]):
        if item["meter_id"] is None:
            await state.set_state(ReadingsFlow.choosing)
            await state.update_data({PENDING: pending})
            choices = [
                (meter_id, context.label(context.meters[meter_id]))
                for meter_id in item["candidates"]
                if meter_id in context.meters
            ]
            await say(
                _refusals_block(pending["refusals"])
                + t.CHOOSE_METER.format(value=fmt.esc(item["typed"])),
                kb.pick_meter_keyboard(nonce, index, choices),
            )
            return

    lines: list[str] = []
    accepted = []
    period: dt.date | None = None
    for item in pending["items"]:
        meter = context.meters.get(item["meter_id"])
        if meter is None:
            continue
        judged = await _judge(session, context, meter, Decimal(item["value"]))
        if judged.refusal:
            pending["refusals"].append(judged.refusal)
            continue
        item["warning"] = judged.verdict.warning or ""
        accepted.append(item)
        period = judged.period
        lines.append(
            t.CONFIRM_LINE.format(
                name=fmt.esc(t.meter_short(meter.resource, meter.zone, meter.serial)),
                account=fmt.esc(context.account_of(meter).number),
                value=t.value(Decimal(item["value"]), meter.resource),
            )
        )
        verdict = judged.verdict
        if verdict.warning == rules.ROLLOVER:
            lines.append(
                t.WARN_ROLLOVER.format(
                    previous=t.value(verdict.previous or Decimal(0), meter.resource),
                    use=t.value(verdict.consumption or Decimal(0), meter.resource),
                )
            )
        elif verdict.warning == rules.SPIKE:
            lines.append(
                t.WARN_SPIKE.format(
                    use=t.value(verdict.consumption or Decimal(0), meter.resource),
                    average=t.value(
                        (verdict.average or Decimal(0)).quantize(Decimal("0.001")),
                        meter.resource,
                    ),
                )
            )
        elif verdict.consumption is not None:
            lines.append(t.CONFIRM_USE.format(use=t.value(verdict.consumption, meter.resource)))
        if judged.replaces is not None:
            lines.append(t.CONFIRM_REPLACES.format(old=t.value(judged.replaces, meter.resource)))
    pending["items"] = accepted
    if not accepted or period is None:
        await state.clear()
        await say(_refusals_block(pending["refusals"]) + t.NOTHING_TO_SAVE, None)
        return
    await state.set_state(ReadingsFlow.confirming)
    await state.update_data({PENDING: pending})
    text = (
        _refusals_block(pending["refusals"])
        + t.CONFIRM_TITLE.format(month=fmt.month(period))
        + "\n"
        + "\n".join(lines)
        + "\n\n"
        + t.CONFIRM_QUESTION
    )
    await say(text, kb.confirm_keyboard(nonce))


def _refusals_block(refusals: Sequence[str]) -> str:
    if not refusals:
        return ""
    unique = dict.fromkeys(refusals)  # one closed window for several meters is said once
    return t.REFUSED_TITLE + "\n" + "\n".join(f"• {line}" for line in unique) + "\n\n"


@dataclass
class Judged:
    verdict: rules.Verdict
    period: dt.date
    today: dt.date
    last_day: dt.date
    refusal: str = ""
    replaces: Decimal | None = None


async def _judge(session: AsyncSession, context: Context, meter: Meter, value: Decimal) -> Judged:
    org = context.account_of(meter).organization
    window = rules.reading_window(org.timezone, org.readings_day_from, org.readings_day_to)
    period = window.period
    previous = (await repo.last_readings_before(session, [meter.id], period)).get(meter.id)
    recent = await repo.recent_values(session, meter.id, period, rules.SPIKE_PERIODS + 1)
    verdict = rules.judge(
        meter,
        value,
        today=window.today,
        window=window,
        previous=previous.value if previous else None,
        recent=recent,
    )
    judged = Judged(verdict, period, window.today, window.last)
    current = await repo.current_reading(session, meter.id, period)
    if current is not None:
        judged.replaces = current.value
    if verdict.error:
        judged.refusal = _refusal_text(verdict, meter, value, window, context)
    return judged


def _refusal_text(
    verdict: rules.Verdict, meter: Meter, value: Decimal, window: rules.Window, context: Context
) -> str:
    name = fmt.esc(context.label(meter))
    shown = t.value(value, meter.resource)
    error = verdict.error
    if error == rules.TOO_MANY_DECIMALS:
        if meter.decimals == 0:
            return t.ERR_NO_DECIMALS.format(name=name, value=shown)
        return t.ERR_TOO_MANY_DECIMALS.format(
            name=name, value=shown, decimals=meter.decimals, places=t.digits_word(meter.decimals)
        )
    if error == rules.TOO_MANY_DIGITS:
        return t.ERR_TOO_MANY_DIGITS.format(
            name=name, value=shown, digits=meter.digits, places=t.digits_word(meter.digits)
        )
    if error == rules.BELOW_PREVIOUS:
        return t.ERR_BELOW_PREVIOUS.format(
            name=name, value=shown, previous=t.value(verdict.previous or Decimal(0), meter.resource)
        )
    if error == rules.WINDOW_CLOSED:
        return t.ERR_WINDOW_CLOSED.format(
            day_from=window.day_from,
            day_to=window.day_to,
            opens=fmt.day_long(window.opens_on),
        )
    if error == rules.ARCHIVED:
        return t.ERR_ARCHIVED.format(name=name)
    due = meter.verification_due
    return t.ERR_VERIFICATION_EXPIRED.format(name=name, date=fmt.day(due) if due else "")


async def waiting_for_buttons(message: Message, state: FSMContext) -> None:
    """Anything but readings while the dialogue waits for its buttons. Commands and the menu go on
    to their own handlers."""
    text = message.text or ""
    if text.startswith("/") or text in MENU_BUTTONS:
        raise SkipHandler
    if await state.get_state() == ReadingsFlow.choosing.state:
        await message.answer(t.WAITING_CHOICE)
    else:
        await message.answer(t.WAITING_CONFIRM)


async def _pending(state: FSMContext, nonce: int) -> dict[str, Any] | None:
    pending = (await state.get_data()).get(PENDING)
    if not isinstance(pending, dict) or pending.get("nonce") != nonce:
        return None
    return pending


async def on_pick(
    callback: CallbackQuery,
    callback_data: kb.PickMeter,
    session: AsyncSession,
    resident: Resident,
    state: FSMContext,
) -> None:
    pending = await _pending(state, callback_data.nonce)
    if pending is None or await state.get_state() != ReadingsFlow.choosing.state:
        await callback.answer(t.STALE, show_alert=True)
        return
    items = pending["items"]
    index = callback_data.item
    if not 0 <= index < len(items) or callback_data.meter_id not in items[index]["candidates"]:
        await callback.answer(t.STALE, show_alert=True)  # forged or from another question
        return
    items[index]["meter_id"] = callback_data.meter_id
    await callback.answer()
    context = await _context(session, resident)
    await _advance(None, callback, session, state, context, pending)


async def on_confirm(
    callback: CallbackQuery,
    callback_data: kb.ConfirmReadings,
    session: AsyncSession,
    resident: Resident,
    state: FSMContext,
    event_update: Update,
) -> None:
    if callback_data.action == "save" and await repo.by_update_id(session, event_update.update_id):
        # The same confirmation delivered again (a redelivery after a crash): saved already.
        await state.clear()
        await callback.answer(t.ALREADY_SAVED)
        return
    pending = await _pending(state, callback_data.nonce)
    if pending is None:
        await callback.answer(t.STALE, show_alert=True)
        return
    if callback_data.action == "cancel":
        await state.clear()
        await callback.answer()
        await _show(callback, t.CANCELLED, None)
        return
    if callback_data.action == "fix":
        await state.clear()
        await callback.answer()
        await _show(callback, t.FIX_PROMPT, None)
        return
    if callback_data.action != "save" or await state.get_state() != ReadingsFlow.confirming.state:
        await callback.answer(t.STALE, show_alert=True)
        return
    await _save(callback, session, resident, state, pending, event_update.update_id)


async def _save(
    callback: CallbackQuery,
    session: AsyncSession,
    resident: Resident,
    state: FSMContext,
    pending: dict[str, Any],
    update_id: int,
) -> None:
    context = await _context(session, resident)  # links may have changed since the question
    refusals: list[str] = []
    saved: list[str] = []
    period: dt.date | None = None
    last_day: dt.date | None = None
    marker: int | None = update_id  # the first saved reading carries the update id
    for item in pending["items"]:
        meter = context.meters.get(item.get("meter_id") or 0)
        try:
            value = Decimal(item["value"])
        except (InvalidOperation, KeyError, TypeError):
            continue
        if meter is None:
            refusals.append(t.ERR_METER_GONE.format(typed=fmt.esc(item.get("typed", ""))))
            continue
        judged = await _judge(session, context, meter, value)
        if judged.refusal:  # the window closed or a reading changed since the question
            refusals.append(judged.refusal)
            continue
        warning = judged.verdict.warning or ""
        await repo.add_version(
            session,
            meter_id=meter.id,
            period=judged.period,
            value=value,
            taken_on=judged.today,
            resident_id=resident.id,
            update_id=marker,
            needs_review=bool(warning),
            review_reason=warning,
        )
        marker = None
        period, last_day = judged.period, judged.last_day
        line = t.SAVED_LINE.format(
            name=fmt.esc(context.label(meter)), value=t.value(value, meter.resource)
        )
        if judged.replaces is not None:
            line += t.SAVED_CORRECTION
        if warning:
            line += t.SAVED_REVIEW
        saved.append(line)
    try:
        # Commit before the dialogue state is dropped (the state lives outside this
        # transaction): a crash in between leaves the state, and the update id stops a resave.
        await session.commit()
    except IntegrityError:
        await session.rollback()
        await state.clear()
        await callback.answer(t.ALREADY_SAVED)
        return
    await state.clear()
    await callback.answer()
    if not saved or period is None or last_day is None:
        await _show(callback, _refusals_block(refusals) + t.NOTHING_TO_SAVE, None)
        return
    log.info("readings saved: %d value(s), update %s", len(saved), update_id)
    text = (
        _refusals_block(refusals)
        + t.SAVED_TITLE.format(month=fmt.month(period))
        + "\n"
        + "\n".join(saved)
        + "\n\n"
        + t.SAVED_FOOTER.format(last=fmt.day_long(last_day))
    )
    await _show(callback, text, None)
