"""The operators' billing month from Telegram: billing files sent as documents are checked and
previewed, then loaded on «Загрузить» (`import_jobs`); the receipts push; /imports,
/undo_import N, /export_readings [ММ.ГГГГ].

Works in the operators' chat (its members) and in a private chat with an administrator. A
resident who sends a billing file in a private chat gets a polite refusal; in the operators'
chat, what a non-member sends is left alone. In a group, a bot in privacy mode receives documents
only as replies to its own messages (or when it is an administrator): `check_operators_chat` says
so in the log at start-up; docs/operators.md says what to do.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from functools import partial
from zoneinfo import ZoneInfo

from aiogram import Bot, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command, CommandObject
from aiogram.types import BufferedInputFile, CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from handlers.filters import PrivateChat
from handlers.operators import background, import_jobs
from handlers.operators import import_views as views
from handlers.operators.batches import Incoming, Stage, batches
from handlers.operators.filters import MEMBER_STATUSES, HasDocument, OperatorCheck, OperatorHere
from handlers.ui import arguments, drop_buttons, edit_or_send, on_usage, say
from keyboards import imports as kb
from keyboards.imports import BatchAction, UndoAction
from receipts import push
from services import imports, operator_files
from services.readings import export as readings_export
from storage.periods import int_to_period, period_to_int
from texts import fmt
from texts.ru import imports as t

log = logging.getLogger(__name__)

MAX_DOWNLOAD = 20 * 1024 * 1024  # what the Bot API lets a bot download


def router() -> Router:
    r = Router(name="operators_imports")
    here = OperatorHere(OperatorCheck())  # one membership cache per router
    r.message.register(on_document, HasDocument(), here)
    r.message.register(on_imports, Command("imports"), here)
    r.message.register(
        on_undo_command, Command("undo_import", magic=arguments("number", _import_number)), here
    )
    r.message.register(on_usage, Command("undo_import"), here, flags={"usage": t.UNDO_USAGE})
    r.message.register(on_export, Command("export_readings"), here)
    r.callback_query.register(on_batch, kb.ImportBatch.filter(), here)
    r.callback_query.register(on_push, kb.PushPeriod.filter(), here)
    r.callback_query.register(on_undo, kb.UndoImport.filter(), here)
    r.message.register(refuse_document, PrivateChat(), HasDocument())
    r.startup.register(check_operators_chat)
    r.shutdown.register(batches.close)
    return r


def _operator(event: Message | CallbackQuery) -> int:
    return event.from_user.id if event.from_user is not None else 0


async def on_document(
    message: Message, bot: Bot, session: AsyncSession, settings: Settings
) -> None:
    """A billing file: noted into the operator's batch, checked once the batch is complete."""
    document = message.document
    assert document is not None  # HasDocument
    name = document.file_name or "file"
    if not name.lower().endswith(operator_files.SUFFIXES):
        await message.reply(t.NOT_BILLING_FILE.format(name=fmt.esc(name)))
        return
    size = document.file_size or 0
    log.info("operator %s sent a billing file of %d bytes", _operator(message), size)
    if size > MAX_DOWNLOAD:
        megabytes = fmt.decimal_ru(round(size / 1024 / 1024, 1), 1)
        await message.reply(t.TOO_BIG.format(name=fmt.esc(name), size=megabytes))
        return
    batches.add(
        message.chat.id,
        _operator(message),
        message.message_id,
        Incoming(document.file_id, name, document.file_size),
        settings.import_batch_seconds,
        partial(import_jobs.check_batch, bot, session.bind, settings),
    )


async def refuse_document(message: Message) -> None:
    name = (message.document.file_name or "") if message.document else ""
    if name.lower().endswith(operator_files.SUFFIXES):
        await message.answer(t.NOT_FOR_RESIDENTS)


async def on_batch(
    callback: CallbackQuery, callback_data: kb.ImportBatch, bot: Bot, session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:  # fmt: skip
    chat_id = callback.message.chat.id if callback.message else 0
    found = batches.get(callback_data.batch)
    if found is None or found.chat_id != chat_id:
        await callback.answer(t.EXPIRED, show_alert=True)
        return
    if callback_data.action is BatchAction.CANCEL:
        if found.stage is Stage.LOADING:
            await callback.answer(t.BUSY, show_alert=True)
            return
        batches.drop(found.id)
        log.info("operator %s cancelled import batch %s", _operator(callback), found.id)
        await edit_or_send(callback, t.CANCELLED, None)
        await callback.answer()
        return
    batch = batches.take(found.id, chat_id)
    if batch is None:
        await callback.answer(t.BUSY, show_alert=True)
        return
    batch.operator_id = _operator(callback)  # who pressed «Загрузить» is who loaded it
    log.info("operator %s: loading import batch %s", batch.operator_id, batch.id)
    await callback.answer()
    await drop_buttons(callback)
    status = await say(callback, t.LOADING)
    if status is None:
        batches.drop(batch.id)
        return
    background.spawn(
        import_jobs.load_batch(bot, session.bind, session_factory, batch, status), "import"
    )


async def on_push(
    callback: CallbackQuery, callback_data: kb.PushPeriod, bot: Bot, settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    wake_push_job: Callable[[], None] | None = None,
) -> None:  # fmt: skip
    """Ask the scheduler's push job for the period's push (it alone runs pushes, so that the
    button and the job's own poll never both start one) and show its progress."""
    chat_id = callback.message.chat.id if callback.message else _operator(callback)
    try:
        period = int_to_period(callback_data.period)
        views.month(callback_data.period)
    except ValueError:  # forged
        await callback.answer(t.EXPIRED, show_alert=True)
        return
    await callback.answer()
    await drop_buttons(callback)
    asked_at = await push.request(session_factory, period)
    if wake_push_job is not None:  # this process runs the scheduler: now, not at its next poll
        wake_push_job()
    request = import_jobs.PushRequest(chat_id, _operator(callback), callback_data.period, asked_at)
    background.spawn(import_jobs.watch_push(bot, session_factory, settings, request), "push")


async def on_imports(message: Message, session: AsyncSession, settings: Settings) -> None:
    log.info("operator %s listed the imports", _operator(message))
    items = await imports.list_imports(session)
    await message.answer(views.imports_list(items, settings.default_timezone))


def _import_number(text: str) -> int | None:
    digits = text.strip().lstrip("№#").strip()
    if not digits.isascii() or not digits.isdigit() or len(digits) > 9:
        return None  # an id no row can have is not looked up (SQLite's integers end at 2**63)
    return int(digits)


async def on_undo_command(
    message: Message, number: int, session: AsyncSession, settings: Settings
) -> None:
    log.info("operator %s asked to undo import %s", _operator(message), number)
    check = await imports.undo(session.bind, number, settings=settings, dry_run=True)
    if not check.ok:
        await message.answer(t.UNDO_IMPOSSIBLE.format(id=number, reason=fmt.esc(check.reason)))
        return
    text = t.UNDO_ASK.format(id=number, periods=views.periods_label(check.periods))
    if check.residents_with_receipts:
        text += t.UNDO_ASK_RECEIPTS.format(received=t.received(check.residents_with_receipts))
    await message.answer(text, reply_markup=kb.undo_confirm(number))


async def on_undo(
    callback: CallbackQuery, callback_data: kb.UndoImport, session: AsyncSession,
    settings: Settings,
) -> None:  # fmt: skip
    import_id = callback_data.import_id
    await callback.answer()
    if callback_data.action is UndoAction.KEEP:
        await edit_or_send(callback, t.UNDO_KEPT.format(id=import_id), None)
        return
    operator = _operator(callback)
    undone = await imports.undo(session.bind, import_id, operator_id=operator, settings=settings)
    if not undone.ok:
        reason = fmt.esc(undone.reason)
        await edit_or_send(callback, t.UNDO_IMPOSSIBLE.format(id=import_id, reason=reason), None)
        return
    log.info("operator %s undid import %s", operator, import_id)
    periods = views.periods_label(undone.periods)
    await edit_or_send(callback, t.UNDO_DONE.format(id=import_id, periods=periods), None)


def _export_period(text: str | None, timezone: str) -> dt.date | None:
    value = (text or "").strip()
    if not value:
        today = dt.datetime.now(ZoneInfo(timezone)).date()
        return today.replace(day=1)
    month, _, year = value.replace("-", ".").replace("/", ".").partition(".")
    if len(month) == 4 and year:  # 2020.04
        month, year = year, month
    if not (month.isdigit() and year.isdigit() and len(year) == 4 and 1 <= int(month) <= 12):
        return None
    return dt.date(int(year), int(month), 1)


async def on_export(
    message: Message, command: CommandObject, session: AsyncSession, settings: Settings
) -> None:
    period = _export_period(command.args, settings.default_timezone)
    if period is None:
        await message.answer(t.EXPORT_USAGE)
        return
    log.info("operator %s exported the readings of %s", _operator(message), period_to_int(period))
    exported = await readings_export.export(session, period)
    month = fmt.month(period)
    if not exported.readings:
        await message.answer(t.EXPORT_EMPTY.format(month=month))
        return
    document = BufferedInputFile(exported.encoded(), filename=readings_export.filename(period))
    caption = t.EXPORT_CAPTION.format(
        month=month, readings=t.readings(exported.readings), review=exported.to_review
    )
    await message.answer_document(document, caption=caption)


async def check_operators_chat(bot: Bot, settings: Settings) -> None:
    """Start-up: can the bot see plain documents in the operators' chat? Says so in the log."""
    if settings.operators_chat_id is None:
        return
    try:
        me = await bot.get_me()
        member = await bot.get_chat_member(settings.operators_chat_id, me.id)
    except TelegramAPIError as error:
        log.warning("operators' chat: the bot's membership unknown: %s", type(error).__name__)
        return
    raw = getattr(member, "status", None)
    if raw is None:  # not a ChatMember: nothing to judge by, and a start-up check never fails it
        log.warning("operators' chat: the bot's membership unknown: unexpected answer")
        return
    status = str(getattr(raw, "value", raw))
    if status not in MEMBER_STATUSES:
        log.warning("operators' chat: the bot is not a member of it (%s): add it there", status)
    elif status in ("administrator", "creator") or me.can_read_all_group_messages:
        log.info("operators' chat: the bot sees every message there")
    else:
        log.warning(
            "operators' chat: the bot is not an administrator there and its privacy mode is on, "
            "so billing files sent there as plain messages do not reach it; make it an "
            "administrator of the chat or turn privacy mode off (BotFather: /setprivacy → "
            "Disable), or send the files as a reply to one of the bot's messages "
            "(docs/operators.md)"
        )
