"""The billing month's long steps, run in the background (`handlers.operators.background`) so that
the operators' chat stays responsive: checking a batch of files, loading it, pushing receipts.
Each shows its progress by editing one message; each step is logged with the operator's id."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from dataclasses import dataclass

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from aiogram.types import BufferedInputFile, InlineKeyboardMarkup, Message, ReplyParameters
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.config import Settings
from handlers.operators import import_views as views
from handlers.operators.batches import Batch, batches
from keyboards import imports as kb
from receipts.push import PushStatus, push_statuses, wait_for_change
from services import imports, operator_files
from storage.periods import format_period, int_to_period
from texts import fmt
from texts.ru import imports as t

log = logging.getLogger(__name__)

PROGRESS_SECONDS = 3.0  # how often a long step's message is edited


async def edit(bot: Bot, message: Message, text: str, markup: InlineKeyboardMarkup | None = None):
    """Show a step's state in its one message; an unchanged text is not an error."""
    try:
        await bot.edit_message_text(
            text, chat_id=message.chat.id, message_id=message.message_id, reply_markup=markup
        )
    except TelegramBadRequest as error:
        if "not modified" not in error.message:
            log.warning("progress message not edited: %s", type(error).__name__)


async def send_report(bot: Bot, chat_id: int, text: str, name: str, caption: str) -> None:
    report = BufferedInputFile(text.encode("utf-8-sig"), filename=name)
    try:
        await bot.send_document(chat_id, report, caption=caption)
    except TelegramAPIError as error:
        log.warning("import report not sent: %s", type(error).__name__)


async def _download(bot: Bot, batch: Batch) -> str | None:
    """Fetch the batch's files; the name of the one that failed, if any."""
    for item, path in zip(batch.files, batch.make_paths(), strict=True):
        try:
            await bot.download(item.file_id, destination=path)
        except Exception as error:  # the API, the network, the disk: the batch is dropped
            log.warning("import batch %s: download failed: %s", batch.id, type(error).__name__)
            return item.name
    return None


async def check_batch(bot: Bot, engine: AsyncEngine, settings: Settings, batch: Batch) -> None:
    """Download, check without applying, show the preview with «Загрузить» / «Отмена»."""
    reply = ReplyParameters(message_id=batch.reply_to, allow_sending_without_reply=True)
    status = await bot.send_message(
        batch.chat_id, t.RECEIVED.format(n=len(batch.files)), reply_parameters=reply
    )
    failed = await _download(bot, batch)
    if failed is not None:
        batches.drop(batch.id)
        await edit(bot, status, t.DOWNLOAD_FAILED.format(name=fmt.esc(failed)))
        return
    result = await imports.preview(engine, batch.paths)
    log.info(
        "operator %s: import batch %s checked: %d files, %d rows, %d problems",
        batch.operator_id, batch.id, len(batch.files), result.rows, result.problem_count,
    )  # fmt: skip
    if not result.ok:
        batches.drop(batch.id)
        text, report = views.refused(result.problems, result.problem_count, result.problem_files)
        await edit(bot, status, text)
        if report:
            await send_report(
                bot, batch.chat_id, report, t.REFUSED_REPORT_NAME, t.REFUSED_REPORT_CAPTION
            )
        return
    batches.keep(batch, settings.import_keep_minutes * 60)
    text, report = views.preview(result)
    await edit(bot, status, text, kb.preview(batch.id))
    if report:
        await send_report(
            bot, batch.chat_id, report, t.PREVIEW_REPORT_NAME, t.PREVIEW_REPORT_CAPTION
        )


class EditedProgress(imports.Progress):
    """The import's progress, noted by the importer (from its worker thread too) and shown by
    `show`, which edits the message every few seconds while something changed."""

    def __init__(self) -> None:
        self.stage, self.total, self.unit, self.done = "", None, "", 0

    def start(self, stage: str, total: int | None, unit: str) -> None:
        self.stage, self.total, self.unit, self.done = stage, total, unit, 0

    def advance(self, amount: int) -> None:
        self.done += amount

    def text(self) -> str:
        total = f" из {self.total}" if self.total else ""
        return t.LOADING_STAGE.format(stage=self.stage, done=self.done, total=total, unit=self.unit)

    async def show(self, bot: Bot, message: Message) -> None:
        shown = ""
        while True:
            await asyncio.sleep(PROGRESS_SECONDS)
            if self.stage and self.text() != shown:
                shown = self.text()
                await edit(bot, message, shown)


async def _push_offer(
    session_factory: async_sessionmaker[AsyncSession], result: imports.Applied
) -> InlineKeyboardMarkup | None:
    if not result.published_periods:
        return None
    period = max(result.published_periods)
    async with session_factory() as session:
        residents = await operator_files.push_audience(session, period)
    if not residents:
        return None
    return kb.push_offer(period, views.month(period), residents)


async def load_batch(
    bot: Bot, engine: AsyncEngine, session_factory: async_sessionmaker[AsyncSession],
    batch: Batch, status: Message,
) -> None:  # fmt: skip
    """Apply the checked batch (all or nothing) and say what was loaded; offer the push."""
    progress = EditedProgress()
    ticker = asyncio.create_task(progress.show(bot, status))
    try:
        result = await imports.apply(engine, batch.paths, operator_id=batch.operator_id,
                                     progress=progress)  # fmt: skip
    except imports.ImportFailed as failed:  # the data changed since the check
        problems = failed.problems
        text, report = views.refused(list(problems.items), problems.count, len(problems.files))
        await edit(bot, status, text)
        if report:
            await send_report(
                bot, batch.chat_id, report, t.REFUSED_REPORT_NAME, t.REFUSED_REPORT_CAPTION
            )
        return
    except Exception:
        log.exception("import batch %s failed", batch.id)
        await edit(bot, status, t.LOAD_FAILED)
        return
    finally:
        ticker.cancel()
        batches.drop(batch.id)
    log.info(
        "operator %s: import %s loaded (batch %s): %d rows, periods %s, new %s",
        batch.operator_id, result.import_id, batch.id, result.rows, result.periods,
        result.published_periods,
    )  # fmt: skip
    await edit(bot, status, views.applied(result), await _push_offer(session_factory, result))


@dataclass(frozen=True)
class PushRequest:
    chat_id: int
    operator_id: int
    period: int  # YYYYMM
    asked_at: dt.datetime  # UTC, naive: a push finished since then has done it


def _status_line(template: str, request: PushRequest, status: PushStatus) -> str:
    return template.format(
        month=views.month(request.period),
        period=format_period(int_to_period(request.period)),
        sent=status.sent,
        total=status.total,
        blocked=status.blocked,
        failed=status.failed,
        rate=views.rate(status.recent_rate),
        eta=views.eta(status.remaining, status.recent_rate),
    )


async def watch_push(
    bot: Bot, session_factory: async_sessionmaker[AsyncSession], settings: Settings,
    request: PushRequest,
) -> None:  # fmt: skip
    """The period's receipt push, which the scheduler's push job runs (the one owner of every
    push: the button only asks for it), shown in one edited message until it is done."""
    month, period = views.month(request.period), int_to_period(request.period)
    asked_at = request.asked_at
    message = await bot.send_message(request.chat_id, t.PUSH_STARTED.format(month=month))
    log.info("operator %s: receipt push %s requested", request.operator_id, request.period)
    patience = max(3.0 * settings.push_poll_seconds, 60.0)  # no move this long: say so
    loop = asyncio.get_running_loop()
    moved_at, seen = loop.time(), None
    while True:
        async with session_factory() as session:
            status = next((s for s in await push_statuses(session) if s.period == period), None)
        finished_at = status.finished_at if status is not None else None
        if status is not None and finished_at is not None and finished_at >= asked_at:
            await edit(bot, message, _status_line(t.PUSH_DONE, request, status))
            return
        if status is not None and (status.status, status.sent) != seen:
            seen, moved_at = (status.status, status.sent), loop.time()
            if status.status == "running":
                await edit(bot, message, _status_line(t.PUSH_PROGRESS, request, status))
        if loop.time() - moved_at > patience:
            stalled = status or PushStatus(period, "", 0, 0, 0, 0, asked_at, None, None, 0.0)
            await edit(bot, message, _status_line(t.PUSH_STALLED, request, stalled))
            return
        await wait_for_change(PROGRESS_SECONDS)
