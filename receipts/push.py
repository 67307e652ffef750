"""The monthly receipt push: every subscribed resident gets the period's receipt of each linked
account, in Telegram and (when chosen and confirmed) by e-mail.

How it keeps its promises:
- One process per period: a database lease `push:YYYYMM`, renewed with each progress report; a
  run that loses it stops.
- Several sends in flight (`concurrency`, PUSH_CONCURRENCY, default 8): at a real upload round
  trip (150-250 ms) one send at a time reaches a fifth of Telegram's rate; eight reach all of it.
- Exactly once across restarts, with a bound: `ReceiptDelivery` has one row per (account,
  period, resident, channel). Before a send its row says `sending` (the intent, committed), after
  it `sent`, `failed` or `blocked` (the result). A sender commits its result together with its
  next intent, in one transaction, so each of the `concurrency` senders (both channels together;
  two when concurrency is 1 and some go by e-mail) has at most one row in `sending` at any moment.
  A kill therefore leaves at most `concurrency` rows in `sending`: receipts Telegram may or may
  not have accepted. The next run sends those again first (at most `concurrency` duplicates per
  kill) and skips what is `sent` or `blocked`; nothing without a result is ever skipped, so
  nothing is lost. The writes of all senders are committed in groups (what arrived during one
  commit goes in the next), so the log costs about one commit per send, not two.
- Paced by `receipts.pacing.Pacer` (rate overall, interval per chat, one shared pause for every
  429): the senders share it, so the rate holds whatever the concurrency, a resident with several
  accounts gets them one per chat interval, and a 429 stops every sender. The jobs go round-robin
  over residents, so a resident's second account comes long after the first.
- A 403 marks the resident unreachable; their remaining receipts are logged as `blocked`.
- PDFs are rendered ahead in the render pool (`receipts.pool.run_cpu`) while earlier ones are
  being sent, a bounded number at a time (`lookahead`). With a spool folder the PDFs wait on disk,
  not in memory, so memory stays flat whatever the count; without one, a PDF is kept in memory
  until every recipient of the account has it.
- Progress (counts and rate, never personal data) goes to the log and to the `pushes` row that
  `python -m bot push-status` reads.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import logging
import shutil
import time
import uuid
import weakref
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import BufferedInputFile
from sqlalchemy import bindparam, exists, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
)

import metrics
from bot.config import Settings
from receipts import pool
from receipts.data import ReceiptData, load_receipts, receipt_filename
from receipts.pacing import Pacer
from receipts.render import receipt_pdf as render_receipt
from receipts.spool import Renderer, render_to_spool
from storage.models import (
    AccountLink,
    Charge,
    ImportRun,
    Push,
    ReceiptDelivery,
    Resident,
    utcnow,
)
from storage.periods import format_period, parse_period, period_to_int
from storage.repo import leases
from storage.repo.residents import mark_unreachable
from storage.repo.versions import visible
from texts import fmt
from texts.ru import receipts as t

if TYPE_CHECKING:
    from apscheduler.schedulers.base import BaseScheduler

    from bot.scheduler import JobContext

log = logging.getLogger(__name__)


class Channel(StrEnum):
    TELEGRAM = "telegram"
    EMAIL = "email"


class DeliveryStatus(StrEnum):
    """`receipt_deliveries.status`; each finished delivery is also counted in the metrics
    (`cabinet_push_deliveries_total{kind="receipt", channel, outcome}`)."""

    SENDING = "sending"  # the intent: committed before the send, replaced by its result after it
    SENT = "sent"
    FAILED = "failed"
    BLOCKED = "blocked"


TELEGRAM, EMAIL = Channel.TELEGRAM, Channel.EMAIL
SENDING, SENT, FAILED = DeliveryStatus.SENDING, DeliveryStatus.SENT, DeliveryStatus.FAILED
BLOCKED = DeliveryStatus.BLOCKED
MAX_ATTEMPTS = 3  # a failed delivery is tried again by later runs this many times in all
NETWORK_RETRIES = 3

Mailer = Callable[..., Awaitable[None]]  # send_mail(settings, to, subject, text, attachments)
Write = tuple[Any, dict[str, Any]]  # a delivery log statement and its parameters


_KEY = (
    ReceiptDelivery.account_id == bindparam("key_account_id"),
    ReceiptDelivery.period == bindparam("key_period"),
    ReceiptDelivery.resident_id == bindparam("key_resident_id"),
    ReceiptDelivery.channel == bindparam("key_channel"),
)
# The delivery log's writes, built once: the first row of a delivery, a send's result after its
# intent (status, error and time; attempts stay), and a later attempt's row (the same, and
# attempts).
_LOG_FIRST = insert(ReceiptDelivery)
_LOG_RESULT = (
    update(ReceiptDelivery)
    .where(*_KEY)
    .values(
        status=bindparam("new_status"),
        error=bindparam("new_error"),
        sent_at=bindparam("new_sent_at"),
    )
)
_LOG_AGAIN = _LOG_RESULT.values(attempts=bindparam("new_attempts"))


class _DeliveryLog:
    """The delivery log's writes, committed in groups on one connection kept for the run.

    `write_all` returns once its rows are committed, with each row's error (e.g. the
    IntegrityError of an erased registration). Writes that arrive while a commit is under way go
    together into the next one: with N senders, one commit carries up to N rows."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._connection: AsyncConnection | None = None
        self._pending: list[tuple[Any, dict[str, Any], asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def write_all(self, writes: Sequence[Write]) -> list[BaseException | None]:
        """Commit the writes (in one transaction unless one of them fails); each one's error."""
        loop = asyncio.get_running_loop()
        futures: list[asyncio.Future[None]] = []
        for statement, row in writes:
            futures.append(loop.create_future())
            self._pending.append((statement, row, futures[-1]))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._drain())
        results = await asyncio.gather(*futures, return_exceptions=True)
        return [error if isinstance(error, BaseException) else None for error in results]

    async def _drain(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, []
            try:
                await self._commit(batch)
            except Exception:  # one bad row must not fail the others: each on its own
                for item in batch:
                    try:
                        await self._commit([item])
                    except Exception as error:
                        if not item[2].done():
                            item[2].set_exception(error)
                    else:
                        if not item[2].done():
                            item[2].set_result(None)
                continue
            for _, _, future in batch:
                if not future.done():
                    future.set_result(None)

    async def _commit(self, batch: list[tuple[Any, dict[str, Any], asyncio.Future[None]]]) -> None:
        if self._connection is None:
            self._connection = await self._engine.connect()
        async with self._connection.begin():
            for statement, row, _ in batch:
                await self._connection.execute(statement, row)

    async def close(self) -> None:
        """Let the writes under way finish (they were promised), then give the connection back."""
        if self._writer is not None:
            await asyncio.gather(self._writer, return_exceptions=True)
        for _, _, future in self._pending:
            future.cancel()
        self._pending = []
        if self._connection is not None:
            with contextlib.suppress(Exception):
                await self._connection.close()
            self._connection = None


def lease_name(period: dt.date) -> str:
    return f"push:{period_to_int(period)}"


@dataclass(frozen=True, slots=True)
class Job:
    account_id: int
    resident_id: int
    channel: Channel
    chat_id: int
    email: str | None
    attempts: int = 0  # earlier attempts (a row exists when > 0)
    in_doubt: bool = False  # its row says `sending`: a killed run may or may not have sent it


def _row(job: Job, period: dt.date, **values: Any) -> dict[str, Any]:
    return {
        "key_account_id": job.account_id,
        "key_period": period,
        "key_resident_id": job.resident_id,
        "key_channel": job.channel,
        "new_sent_at": utcnow(),
        **{f"new_{name}": value for name, value in values.items()},
    }


def _settled(job: Job, period: dt.date, status: DeliveryStatus, error: str) -> Write:
    """A delivery's row with a new attempt: the first one inserted, a later one updated."""
    if job.attempts:
        return _LOG_AGAIN, _row(job, period, status=status, error=error, attempts=job.attempts + 1)
    row = {
        "account_id": job.account_id,
        "period": period,
        "resident_id": job.resident_id,
        "channel": job.channel,
        "status": status,
        "error": error,
        "attempts": 1,
        "sent_at": utcnow(),
    }
    return _LOG_FIRST, row


def _intent(job: Job, period: dt.date) -> Write:
    """Committed before the send: a kill leaves this row `sending`, and the next run sends again."""
    return _settled(job, period, SENDING, "")


def _result(job: Job, period: dt.date, status: DeliveryStatus, error: str) -> Write:
    """Committed after the send, over its intent."""
    return _LOG_RESULT, _row(job, period, status=status, error=error)


@dataclass
class Progress:
    period: dt.date
    total: int = 0
    done_before: int = 0  # delivered (or settled) by earlier runs
    in_doubt: int = 0  # in flight when an earlier run was killed: sent again by this one
    sent: int = 0
    failed: int = 0
    blocked: int = 0
    started: float = field(default_factory=time.monotonic)

    @property
    def remaining(self) -> int:
        return max(self.total - self.done_before - self.sent - self.failed - self.blocked, 0)

    @property
    def rate(self) -> float:
        elapsed = time.monotonic() - self.started
        return self.sent / elapsed if elapsed > 0 else 0.0

    def line(self) -> str:
        return (
            f"receipt push {format_period(self.period)}: sent {self.sent}, failed {self.failed}, "
            f"blocked {self.blocked}, remaining {self.remaining} of {self.total}, "
            f"{self.rate:.1f}/s"
        )


def spool_path(spool: Path, data: ReceiptData) -> Path:
    """Named by the receipt's content: changed charges never reuse an old PDF."""
    digest = hashlib.sha256(repr(data).encode()).hexdigest()[:20]
    return spool / format_period(data.period) / f"{data.account_id}-{digest}.pdf"


class _Renders:
    """PDFs rendered ahead of the senders, at most `lookahead` ready and not yet taken. Receipt
    data is loaded in chunks; with a spool, a PDF rendered before (an earlier run, `push
    --prepare`) is used instead of rendered again, and a ready PDF waits on disk (its path in
    memory, read when a sender takes it), so memory does not grow with the count."""

    CHUNK = 32

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        period: dt.date,
        account_order: Sequence[int],
        uses: dict[int, int],
        render: Renderer,
        lookahead: int,
        spool: Path | None = None,
    ) -> None:
        self._session_factory = session_factory
        self._period = period
        self._order = list(account_order)
        self._uses = dict(uses)
        self._render = render
        self._spool = spool
        self._slots = asyncio.Semaphore(lookahead)
        loop = asyncio.get_running_loop()
        self._ready: dict[int, asyncio.Future[tuple[ReceiptData, bytes | Path]]] = {
            account_id: loop.create_future() for account_id in self._order
        }
        self._tasks: set[asyncio.Task[None]] = set()
        self._consumed: set[int] = set()
        self.rendered = 0
        self.reused = 0

    async def produce(self) -> None:
        for start in range(0, len(self._order), self.CHUNK):
            chunk = self._order[start : start + self.CHUNK]
            try:
                async with self._session_factory() as session:
                    loaded = await load_receipts(session, chunk, self._period)
            except Exception as error:  # the chunk's receipts fail; the push goes on
                log.warning("receipt data not loaded: %s", type(error).__name__)
                loaded = {}
            for account_id in chunk:
                await self._slots.acquire()
                task = asyncio.create_task(self._one(account_id, loaded.get(account_id)))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    async def _one(self, account_id: int, data: ReceiptData | None) -> None:
        future = self._ready[account_id]
        try:
            if data is None:
                raise LookupError("no receipt data for the period")
            pdf = await self._pdf(data)
            if not future.done():
                future.set_result((data, pdf))
        except Exception as error:  # a receipt that cannot be made fails its deliveries only
            log.warning("receipt not rendered: %s", type(error).__name__)
            if not future.done():
                future.set_exception(error)

    async def _pdf(self, data: ReceiptData) -> bytes | Path:
        if self._spool is None:
            self.rendered += 1
            return await pool.run_cpu(self._render, data)
        path = spool_path(self._spool, data)
        if await asyncio.to_thread(path.is_file):
            self.reused += 1
            return path
        self.rendered += 1
        return await pool.run_cpu(render_to_spool, self._render, data, path)

    async def ready(self, account_id: int) -> tuple[ReceiptData, bytes | Path]:
        """The receipt's data and its PDF (bytes, or its path in the spool), once made."""
        future = self._ready[account_id]
        try:
            return await future
        finally:
            # The render slot frees at the first use: an account that a later round needs
            # again (linked by several residents) must not hold up the renders in between.
            if account_id not in self._consumed:
                self._consumed.add(account_id)
                self._slots.release()

    async def get(self, account_id: int) -> tuple[ReceiptData, bytes]:
        data, pdf = await self.ready(account_id)
        if isinstance(pdf, Path):
            # gone only if the spool was cleared under a running push: render it again
            try:
                return data, await asyncio.to_thread(pdf.read_bytes)
            except OSError:
                return data, await pool.run_cpu(self._render, data)
        return data, pdf

    def used(self, account_id: int) -> None:
        """One delivery of the account is settled; the PDF goes when the last one is."""
        self._uses[account_id] -= 1
        if self._uses[account_id] == 0:
            future = self._ready.pop(account_id)
            if future.done() and not future.cancelled():
                future.exception()  # mark retrieved: no "never retrieved" warning

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for future in self._ready.values():
            if not future.done():
                future.cancel()
            elif not future.cancelled():
                future.exception()
        await asyncio.gather(*self._tasks, return_exceptions=True)


async def _together(coroutines: Sequence[Awaitable[None]]) -> None:
    """Run them all; the first error (or a cancellation) stops the others and is raised as is."""
    tasks = [asyncio.ensure_future(coroutine) for coroutine in coroutines]
    try:
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


class ReceiptPush:
    """One run of the push for one period. `run()` returns the progress, or None when another
    process holds the period's lease."""

    def __init__(
        self,
        bot: Bot,
        session_factory: async_sessionmaker[AsyncSession],
        *,
        rate_per_second: float = 25.0,
        per_chat_interval: float = 1.0,
        concurrency: int = 8,
        mailer: Mailer | None = None,
        mail_settings: Settings | None = None,
        render: Renderer = render_receipt,
        lookahead: int = 16,
        progress_interval: float = 10.0,
        lease_ttl: float = 90.0,
        owner: str | None = None,
        pacer: Pacer | None = None,
        spool: Path | None = None,
        markup: Callable[[int], Any] | None = None,
    ) -> None:
        self.bot = bot
        # the buttons under each pushed receipt, by account id (the pay buttons: bot/ wires them,
        # receipts/ may not import keyboards)
        self.markup = markup
        self.session_factory = session_factory
        self.pacer = pacer or Pacer(rate_per_second, per_chat_interval)
        self.concurrency = max(concurrency, 1)
        self.mailer = mailer
        self.mail_settings = mail_settings
        self.render = render
        # ready PDFs: enough that every sender finds its next one made
        self.lookahead = max(lookahead, self.concurrency, 1)
        self.progress_interval = progress_interval
        self.lease_ttl = dt.timedelta(seconds=lease_ttl)
        self.spool = spool
        # unique per run: two runs in one process (the poll and the daily job) must not share it
        self.owner = owner or f"{leases.process_owner()}:{uuid.uuid4().hex[:8]}"
        self._lease_lost = asyncio.Event()
        self._blocked: set[int] = set()
        self._log: _DeliveryLog | None = None

    # -- the run ------------------------------------------------------------------------------

    async def run(self, period: dt.date) -> Progress | None:
        name = lease_name(period)
        async with self.session_factory() as session:
            taken = await leases.acquire(session, name, self.owner, self.lease_ttl)
            await session.commit()
        if not taken:
            log.info("receipt push %s: another process is running it", format_period(period))
            return None
        try:
            return await self._run(period)
        finally:
            with contextlib.suppress(Exception):
                async with self.session_factory() as session:
                    await leases.release(session, name, self.owner)
                    await session.commit()
            _changed()

    async def _run(self, period: dt.date) -> Progress:
        jobs, done_before = await self._plan(period)
        progress = Progress(period, total=len(jobs) + done_before, done_before=done_before)
        progress.in_doubt = sum(1 for job in jobs if job.in_doubt)
        push_id = await self._start_row(period, progress.total)
        log.info("receipt push %s started: %d to send (%d in doubt after an interruption: sent "
                 "again), %d done before", format_period(period), len(jobs), progress.in_doubt,
                 done_before)  # fmt: skip
        self._log = _DeliveryLog(self._engine())
        lanes = []
        pipelines = []
        # Telegram gets the senders, e-mail one of its own (a slow mail server must not hold
        # up Telegram); each channel has its own render pipeline, read in its own order.
        # The senders of both channels together are `concurrency` (e-mail's one included, unless
        # concurrency is 1): each has at most one delivery in doubt at any moment.
        with_email = any(job.channel == EMAIL for job in jobs)
        telegram = self.concurrency - 1 if with_email and self.concurrency > 1 else self.concurrency
        for channel, senders in ((TELEGRAM, telegram), (EMAIL, 1)):
            lane_jobs = [job for job in jobs if job.channel == channel]
            if not lane_jobs:
                continue
            uses: dict[int, int] = defaultdict(int)
            order: list[int] = []
            for job in lane_jobs:
                if uses[job.account_id] == 0:
                    order.append(job.account_id)
                uses[job.account_id] += 1
            renders = _Renders(
                self.session_factory, period, order, uses, self.render, self.lookahead, self.spool
            )
            pipelines.append((renders, asyncio.create_task(renders.produce())))
            lanes.append(self._lane(lane_jobs, senders, period, renders, progress))
        reporter = asyncio.create_task(self._report(period, push_id, progress))
        completed = False
        try:
            await _together(lanes)
            completed = not self._lease_lost.is_set()
        finally:
            reporter.cancel()
            for renders, producer in pipelines:
                producer.cancel()
                await asyncio.gather(producer, return_exceptions=True)
                await renders.close()
            await asyncio.gather(reporter, return_exceptions=True)
            await self._log.close()
            with contextlib.suppress(Exception):
                await self._finish_row(push_id, completed)
            if completed and self.spool is not None:
                # every PDF of the period went out: its spool is of no more use
                await asyncio.to_thread(
                    shutil.rmtree, self.spool / format_period(period), ignore_errors=True
                )
        log.info("%s%s", progress.line(), "" if completed else " (stopped)")
        return progress

    async def prepare(self, period: dt.date) -> tuple[int, int]:
        """Render every PDF this period's push would send into the spool, sending nothing
        (`python -m bot push --prepare`: right after an import, so that the push itself runs
        at the full sending rate). Returns (rendered, already in the spool)."""
        if self.spool is None:
            raise ValueError("no spool folder configured")
        jobs, _ = await self._plan(period)
        order = list(dict.fromkeys(job.account_id for job in jobs))
        renders = _Renders(
            self.session_factory, period, order, dict.fromkeys(order, 1), self.render,
            self.lookahead, self.spool,
        )  # fmt: skip
        producer = asyncio.create_task(renders.produce())
        try:
            for account_id in order:
                with contextlib.suppress(Exception):  # logged by the renderer
                    await renders.ready(account_id)
                renders.used(account_id)
        finally:
            producer.cancel()
            await asyncio.gather(producer, return_exceptions=True)
            await renders.close()
        return renders.rendered, renders.reused

    async def _lane(
        self, jobs: list[Job], senders: int, period: dt.date, renders: _Renders, progress: Progress
    ) -> None:
        """One channel's deliveries: `senders` tasks, each taking the next job in order. A
        sender's result is committed together with its next intent (one commit per send, and
        still at most one row per sender in doubt); the last one when the sender ends."""
        queue = iter(jobs)

        async def sender() -> None:
            held: list[Write] = []
            try:
                for job in queue:
                    if self._lease_lost.is_set():
                        return
                    try:
                        status, held = await self._deliver(job, period, renders, held)
                    finally:
                        renders.used(job.account_id)
                    metrics.delivery(status, kind="receipt", channel=job.channel)
                    if status == SENT:
                        progress.sent += 1
                    elif status == BLOCKED:
                        progress.blocked += 1
                    else:
                        progress.failed += 1
            finally:
                if held:
                    await self._commit(held, None)

        await _together([sender() for _ in range(min(senders, len(jobs)))])

    async def _deliver(
        self, job: Job, period: dt.date, renders: _Renders, held: list[Write]
    ) -> tuple[DeliveryStatus, list[Write]]:
        """Deliver one job; returns its status and its result, still to be committed."""
        if job.channel == TELEGRAM and job.resident_id in self._blocked:
            await self._commit(held, _settled(job, period, BLOCKED, "forbidden"))
            return BLOCKED, []
        try:
            data, pdf = await renders.get(job.account_id)
        except Exception as exc:
            await self._commit(held, _settled(job, period, FAILED, f"render: {type(exc).__name__}"))
            return FAILED, []
        if not await self._commit(held, _intent(job, period)):
            return FAILED, []  # the resident erased the registration meanwhile: no send
        filename = receipt_filename(data.account_number, period)
        if job.channel == EMAIL:
            status, error = await self._send_email(job, period, data, filename, pdf)
        else:
            status, error = await self._send_telegram(job, period, data, filename, pdf)
        return status, [_result(job, period, status, error)]

    async def _send_telegram(
        self, job: Job, period: dt.date, data: ReceiptData, filename: str, pdf: bytes
    ) -> tuple[DeliveryStatus, str]:
        caption = t.PUSH_CAPTION.format(
            month=fmt.month(period),
            number=fmt.esc(data.account_number),
            total=fmt.rub(data.to_pay),
            pay_by=t.PAY_BY.format(day=fmt.day(data.pay_by)) if data.to_pay > 0 else "",
        )

        async def send() -> bool:
            if job.resident_id in self._blocked:  # a 403 came while this one waited its turn
                return False
            await self.bot.send_document(
                job.chat_id,
                BufferedInputFile(pdf, filename),
                caption=caption,
                reply_markup=self.markup(job.account_id) if self.markup else None,
            )
            return True

        status, error = DeliveryStatus.SENT, ""
        for attempt in range(NETWORK_RETRIES + 1):
            try:
                if not await self.pacer.send(job.chat_id, send):
                    return BLOCKED, "forbidden"
                return SENT, ""
            except TelegramForbiddenError:
                self._blocked.add(job.resident_id)
                async with self.session_factory() as session:
                    await mark_unreachable(session, job.resident_id)
                    await session.commit()
                return BLOCKED, "forbidden"
            except (TelegramNetworkError, TelegramServerError) as exc:
                status, error = FAILED, type(exc).__name__
                if attempt < NETWORK_RETRIES:
                    await asyncio.sleep(2**attempt)
            except TelegramRetryAfter:
                return FAILED, "flood control"
            except TelegramBadRequest as exc:
                return FAILED, f"bad request: {exc.message}"[:200]
            except TelegramAPIError as exc:
                return FAILED, type(exc).__name__
        return status, error

    async def _send_email(
        self, job: Job, period: dt.date, data: ReceiptData, filename: str, pdf: bytes
    ) -> tuple[DeliveryStatus, str]:
        assert self.mailer is not None and job.email
        month = fmt.month(period)
        total = fmt.rub(data.to_pay)
        try:
            await self.mailer(
                self.mail_settings,
                job.email,
                t.EMAIL_SUBJECT.format(month=month, number=data.account_number),
                t.EMAIL_BODY.format(month=month, number=data.account_number, total=total),
                [(filename, pdf, "application/pdf")],
            )
        except Exception as exc:  # the mailer's own error type belongs to another layer
            return FAILED, f"mail: {type(exc).__name__}"
        return SENT, ""

    # -- the database -------------------------------------------------------------------------

    async def _plan(self, period: dt.date) -> tuple[list[Job], int]:
        """What this run sends, round-robin over residents, and how many were settled before."""
        rows, logged = await self._recipients(period)
        with_email = self.mailer is not None
        rounds: dict[int, list[Job]] = defaultdict(list)
        per_resident: dict[tuple[int, str], int] = defaultdict(int)
        done_before = 0
        for (
            account_id,
            resident_id,
            chat_id,
            push_tg,
            unreachable,
            push_mail,
            email,
            confirmed,
        ) in rows:
            channels = []
            if push_tg and unreachable is None:
                channels.append((TELEGRAM, None))
            if with_email and push_mail and email and confirmed is not None:
                channels.append((EMAIL, email))
            for channel, address in channels:
                status, attempts = logged.get((account_id, resident_id, channel), (None, 0))
                if status in (SENT, BLOCKED) or (status == FAILED and attempts >= MAX_ATTEMPTS):
                    done_before += 1
                    continue
                index = per_resident[(resident_id, channel)]
                per_resident[(resident_id, channel)] += 1
                rounds[index].append(
                    Job(account_id, resident_id, channel, chat_id, address, attempts,
                        in_doubt=status == SENDING)
                )  # fmt: skip
        jobs = [job for index in sorted(rounds) for job in rounds[index]]
        jobs.sort(key=lambda job: not job.in_doubt)  # settle what a kill left in doubt first
        return jobs, done_before

    async def _recipients(
        self, period: dt.date
    ) -> tuple[Sequence[Any], dict[tuple[int, int, str], tuple[str, int]]]:
        """Every registered resident's link to an account with the period's charges (with the
        resident's channels), and the period's delivery log."""
        async with self.session_factory() as session:
            has_charges = exists().where(
                Charge.account_id == AccountLink.account_id,
                Charge.period == period,
                visible(Charge),
            )
            rows = (
                await session.execute(
                    select(
                        AccountLink.account_id,
                        Resident.id,
                        Resident.chat_id,
                        Resident.push_telegram,
                        Resident.unreachable_at,
                        Resident.push_email,
                        Resident.email,
                        Resident.email_confirmed_at,
                    )
                    .join(Resident, Resident.id == AccountLink.resident_id)
                    .where(Resident.registered_at.is_not(None), has_charges)
                    .order_by(Resident.id, AccountLink.id)
                )
            ).all()
            logged = {
                (account_id, resident_id, channel): (status, attempts)
                for account_id, resident_id, channel, status, attempts in await session.execute(
                    select(
                        ReceiptDelivery.account_id,
                        ReceiptDelivery.resident_id,
                        ReceiptDelivery.channel,
                        ReceiptDelivery.status,
                        ReceiptDelivery.attempts,
                    ).where(ReceiptDelivery.period == period)
                )
            }
        return rows, logged

    async def _commit(self, held: list[Write], write: Write | None) -> bool:
        """Commit a sender's held result together with its next write (an intent or a settled
        row). False when that write's registration is gone (IntegrityError); errors raise."""
        assert self._log is not None
        errors = await self._log.write_all([*held, write] if write is not None else held)
        mine = errors.pop() if write is not None else None
        for error in errors:
            if error is not None:
                raise error
        if isinstance(mine, IntegrityError):
            log.info("receipt push: a delivery of an erased registration was not logged")
            return False
        if mine is not None:
            raise mine
        return True

    def _engine(self) -> AsyncEngine:
        bind = self.session_factory.kw.get("bind")
        if not isinstance(bind, AsyncEngine):
            raise TypeError("the session factory must be bound to an AsyncEngine")
        return bind

    async def _start_row(self, period: dt.date, total: int) -> int:
        async with self.session_factory() as session:
            # take up the operator's request or resume the interrupted run (the latest of
            # them: any older one is over, we hold the period's lease)
            pending = list(
                await session.scalars(
                    select(Push)
                    .where(Push.period == period, Push.status.in_((RUNNING, REQUESTED)))
                    .order_by(Push.id.desc())
                )
            )
            for older in pending[1:]:
                older.status = "failed"
            row = pending[0] if pending else Push(period=period, status=RUNNING)
            session.add(row)
            row.status = RUNNING
            row.total = total
            row.owner = self.owner
            row.heartbeat_at = utcnow()
            await session.commit()
            push_id = row.id
        _changed()
        return push_id

    async def _finish_row(self, push_id: int, completed: bool) -> None:
        values: dict[str, Any] = {"heartbeat_at": utcnow()}
        if completed:
            values.update(status="done", finished_at=utcnow())
        async with self.session_factory() as session:
            await session.execute(update(Push).where(Push.id == push_id).values(**values))
            await session.commit()

    async def _report(self, period: dt.date, push_id: int, progress: Progress) -> None:
        """Renew the lease (every third of its time to live) and beat the heart; log the
        progress every `progress_interval`."""
        tick = min(self.progress_interval, self.lease_ttl.total_seconds() / 3)
        logged_at = time.monotonic()
        while True:
            await asyncio.sleep(tick)
            if time.monotonic() - logged_at >= self.progress_interval:
                logged_at = time.monotonic()
                log.info("%s", progress.line())
            try:
                async with self.session_factory() as session:
                    held = await leases.renew(
                        session, lease_name(period), self.owner, self.lease_ttl
                    )
                    await session.execute(
                        update(Push).where(Push.id == push_id).values(heartbeat_at=utcnow())
                    )
                    await session.commit()
            except Exception as error:  # a busy database: try again at the next beat
                log.warning("receipt push heartbeat failed: %s", type(error).__name__)
                continue
            if not held:
                log.warning("receipt push %s: lease lost, stopping", format_period(period))
                self._lease_lost.set()
                return


# --- status, for `python -m bot push-status` --------------------------------------------------


@dataclass(frozen=True, slots=True)
class PushStatus:
    period: dt.date
    status: str
    total: int
    sent: int
    failed: int
    blocked: int
    started_at: dt.datetime
    finished_at: dt.datetime | None
    heartbeat_at: dt.datetime | None
    recent_rate: float  # sent per second over the last minute

    @property
    def remaining(self) -> int:
        return max(self.total - self.sent - self.failed - self.blocked, 0)


async def push_statuses(session: AsyncSession, limit: int = 12) -> list[PushStatus]:
    """The latest run of each recently pushed period, with counts from the delivery log."""
    latest = select(Push.period, func.max(Push.id).label("id")).group_by(Push.period).subquery()
    pushes = list(
        await session.scalars(
            select(Push)
            .join(latest, latest.c.id == Push.id)
            .order_by(Push.period.desc())
            .limit(limit)
        )
    )
    out = []
    minute_ago = utcnow() - dt.timedelta(minutes=1)
    for push in pushes:
        counts = dict(
            (
                await session.execute(
                    select(ReceiptDelivery.status, func.count())
                    .where(ReceiptDelivery.period == push.period)
                    .group_by(ReceiptDelivery.status)
                )
            ).all()
        )
        recent = await session.scalar(
            select(func.count()).where(
                ReceiptDelivery.period == push.period,
                ReceiptDelivery.status == SENT,
                ReceiptDelivery.sent_at >= minute_ago,
            )
        )
        out.append(
            PushStatus(
                period=push.period,
                status=push.status,
                total=push.total,
                sent=counts.get(SENT, 0),
                failed=counts.get(FAILED, 0),
                blocked=counts.get(BLOCKED, 0),
                started_at=push.started_at,
                finished_at=push.finished_at,
                heartbeat_at=push.heartbeat_at,
                recent_rate=(recent or 0) / 60,
            )
        )
    return out


# --- when to push ------------------------------------------------------------------------------

RUNNING, REQUESTED = "running", "requested"
POLL_JOB_ID = "receipts_push_poll"
_changes: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Event] = (
    weakref.WeakKeyDictionary()
)


def _change_event() -> asyncio.Event:
    loop = asyncio.get_running_loop()
    event = _changes.get(loop)
    if event is None:
        event = _changes[loop] = asyncio.Event()
    return event


def _changed() -> None:
    """A push of this process started or ended: wake whoever waits for it (`wait_for_change`)."""
    event = _change_event()
    _changes[asyncio.get_running_loop()] = asyncio.Event()
    event.set()


async def wait_for_change(timeout: float) -> None:
    """Until a push of this process starts or ends, or `timeout` seconds (a push run by
    another process shows only in the database: look there again after the timeout)."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(_change_event().wait(), timeout)


async def request(
    session_factory: async_sessionmaker[AsyncSession], period: dt.date
) -> dt.datetime:
    """The operator asks for the period's push: noted for the scheduler's push job, which is
    the only one that runs it (`push_due`); one request of a period waits at a time, and none
    while a push of the period is on (that one is it). The time of the request: a push that
    finished after it has done it."""
    asked_at = utcnow()
    async with session_factory() as session:
        if await leases.held(session, lease_name(period)):
            return asked_at  # a push of the period is on (the poll got there first): it is it
        pending = await session.scalar(
            select(Push.id).where(Push.period == period, Push.status == REQUESTED)
        )
        if pending is None:
            session.add(Push(period=period, status=REQUESTED))
            await session.commit()
    log.info("receipt push %s requested", format_period(period))
    return asked_at


def _import_periods(values: Sequence[Any]) -> set[dt.date]:
    periods = set()
    for value in values or ():
        try:
            if isinstance(value, int):
                periods.add(dt.date(value // 100, value % 100, 1))
            else:
                periods.add(parse_period(str(value)))
        except ValueError:
            continue
    return periods


async def periods_to_push(
    session: AsyncSession, *, within: dt.timedelta = dt.timedelta(days=45)
) -> list[dt.date]:
    """Periods imported recently and not pushed since their import, and those an operator asked
    for («📨 Разослать квитанции» records the request: `request`).

    Of the imported ones only the newest period that has charges qualifies: loading an old
    month again (a correction, history) must not send everyone an old receipt."""
    newest = await session.scalar(select(func.max(Charge.period)).where(visible(Charge)))
    if newest is None:
        return []
    since = utcnow() - within
    imports = (
        await session.execute(
            select(ImportRun.periods, ImportRun.created_at).where(
                ImportRun.status == "published", ImportRun.created_at >= since
            )
        )
    ).all()
    imported_at: dict[dt.date, dt.datetime] = {}
    for periods, created_at in imports:
        for period in _import_periods(periods):
            if period == newest:
                imported_at[period] = max(imported_at.get(period, created_at), created_at)
    due = []
    for period, at in imported_at.items():
        done = await session.scalar(
            select(func.count()).where(
                Push.period == period, Push.status == "done", Push.started_at >= at
            )
        )
        if not done:
            due.append(period)
    requested = await session.scalars(
        select(Push.period).where(Push.status == REQUESTED).distinct()
    )
    return sorted(set(due) | set(requested))


# --- wiring: the scheduler and the command line -------------------------------------------------


def build_push(
    bot: Bot,
    session_factory: async_sessionmaker[AsyncSession],
    settings: Settings,
    markup: Callable[[int], Any] | None = None,
) -> ReceiptPush:
    """A push configured from the settings (pacing, e-mail when SMTP is set up)."""
    mailer = None
    if getattr(settings, "smtp_host", None):
        from receipts.mail import send_mail

        mailer = send_mail
    return ReceiptPush(
        bot,
        session_factory,
        rate_per_second=settings.push_rate_per_second,
        per_chat_interval=settings.push_per_chat_interval,
        concurrency=settings.push_concurrency,
        mailer=mailer,
        mail_settings=settings,
        lookahead=max(16, 2 * settings.push_concurrency, 4 * max(settings.render_workers, 1)),
        progress_interval=settings.push_progress_interval,
        lease_ttl=settings.push_lease_seconds,
        spool=Path(settings.receipt_spool_dir) if settings.receipt_spool_dir else None,
        markup=markup,
    )


async def push_due(
    bot: Bot,
    session_factory: async_sessionmaker[AsyncSession],
    settings: Settings,
    markup: Callable[[int], Any] | None = None,
) -> None:
    """The scheduled job, the one owner of every push: push each period that is due (each
    under its own lease), then those an operator asked for meanwhile."""
    tried: set[dt.date] = set()
    while True:
        async with session_factory() as session:
            due = [period for period in await periods_to_push(session) if period not in tried]
        if not due:
            return
        for period in due:
            tried.add(period)
            await build_push(bot, session_factory, settings, markup).run(period)


def schedule(scheduler: BaseScheduler, context: JobContext) -> None:
    """JOB_PROVIDERS hook: poll for freshly imported periods, and a daily safety net."""
    # the buttons under a pushed receipt, when the context offers them (bot.scheduler does)
    markup = getattr(context, "receipt_markup", None)
    args = (context.bot, context.session_factory, context.settings, markup)
    scheduler.add_job(
        push_due,
        "interval",
        seconds=context.settings.push_poll_seconds,
        args=args,
        id=POLL_JOB_ID,
        max_instances=1,
        coalesce=True,
        replace_existing=True,
    )
    scheduler.add_job(
        push_due,
        "cron",
        hour=10,
        minute=15,
        args=args,
        id="receipts_push_daily",
        max_instances=1,
        coalesce=True,
        misfire_grace_time=3600,
        replace_existing=True,
    )
