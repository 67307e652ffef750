"""The monthly push against the recording Bot API session: who gets what, exactly once,
403 and 429 handling, e-mail, the lease, resuming, and when a period is due. The pacer's
arithmetic is checked on a virtual clock (no real waiting)."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import datetime as dt
import heapq
import itertools
import random
from typing import Any

import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramRetryAfter
from aiogram.methods import SendDocument, TelegramMethod
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import metrics
from bot.app import create_bot
from bot.config import Settings
from receipts import push as push_module
from receipts.data import ReceiptData
from receipts.pacing import Pacer
from receipts.pdf import render_receipt
from receipts.push import DeliveryStatus, ReceiptPush, periods_to_push, push_statuses
from storage.demo import GOLDEN_PERIOD
from storage.models import (
    Account,
    Charge,
    ImportRun,
    Lease,
    Push,
    ReceiptDelivery,
    Resident,
    Service,
    utcnow,
)
from storage.periods import add_months
from storage.repo import leases
from tests import factories
from tests.harness import RecordingSession, bad_request, forbidden, too_many_requests

# --- the pacer, on a virtual clock --------------------------------------------------------------


class VirtualTime:
    """A clock and a sleep for the pacer: sleepers wake in the order of their wake times, and the
    clock jumps to each wake time (never back). Many concurrent senders may share it."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()
        self._driver: asyncio.Task[None] | None = None

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        woken: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self.now + seconds, next(self._order), woken))
        if self._driver is None or self._driver.done():
            self._driver = asyncio.create_task(self._drive())
        await woken

    async def _drive(self) -> None:
        while self._sleepers:
            for _ in range(20):  # let every sender that can run reach its next wait first
                await asyncio.sleep(0)
            at, _, woken = heapq.heappop(self._sleepers)
            self.now = max(self.now, at)
            if not woken.done():
                woken.set_result(None)


def test_slots_are_evenly_spaced_overall() -> None:
    time = VirtualTime()
    pacer = Pacer(20, 1.0, clock=time.clock)
    delays = [pacer.reserve(chat) for chat in range(5)]
    assert delays == pytest.approx([0, 0.05, 0.10, 0.15, 0.20])


def test_one_chat_waits_its_interval() -> None:
    time = VirtualTime()
    pacer = Pacer(30, 1.0, clock=time.clock)
    assert pacer.reserve(7) == 0
    assert pacer.reserve(8) == pytest.approx(1 / 30)
    assert pacer.reserve(7) == pytest.approx(1.0)  # the same chat: a second after its last


async def test_retry_after_pauses_and_retries() -> None:
    time = VirtualTime()
    pacer = Pacer(30, 1.0, clock=time.clock, sleep=time.sleep)
    calls = 0

    async def call() -> str:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise TelegramRetryAfter(method=None, message="Too Many Requests", retry_after=7)  # type: ignore[arg-type]
        return "ok"

    assert await pacer.send(1, call) == "ok"
    assert calls == 2 and pacer.retries_after == 1
    assert sum(time.sleeps) >= 7  # waited what Telegram asked before trying again
    # and every later sender waits for the pause too
    assert pacer.reserve(2) >= 0


# --- the push -----------------------------------------------------------------------------------


class ScriptedSession(RecordingSession):
    """The recording session, with per-chat answers: blocked chats (403), a number of 429s,
    bad requests."""

    def __init__(self) -> None:
        super().__init__()
        self.blocked: set[int] = set()
        self.flood: int = 0  # the next N sendDocument calls get 429
        self.bad: set[int] = set()
        self.clock: Any = None  # the pacer's (virtual) clock: when each document was sent
        self.sent_at: dict[int, float] = {}  # request index -> clock
        self.responses["sendDocument"] = self.script

    def script(self, method: TelegramMethod[Any]) -> Any:
        chat = int(method.chat_id)  # type: ignore[attr-defined]
        if self.clock is not None:
            self.sent_at[len(self.requests) - 1] = self.clock()  # this request's index
        if self.flood > 0:
            self.flood -= 1
            # longer than bot.middlewares.retry waits by itself: the pacer must handle it
            return too_many_requests(retry_after=7)
        if chat in self.blocked:
            return forbidden()
        if chat in self.bad:
            return bad_request("chat not found")
        return self.answer(method)

    def delivered(self) -> list[tuple[int, str]]:
        """(chat, file name) of every document Telegram accepted."""
        return [(chat, name) for chat, name, _ in self.delivered_at()]

    def delivered_at(self) -> list[tuple[int, str, float | None]]:
        """(chat, file name, pacer clock) of every document Telegram accepted."""
        return [
            (int(m.chat_id), m.document.filename, self.sent_at.get(index))
            for index, (m, r) in enumerate(zip(self.requests, self.results, strict=True))
            if isinstance(m, SendDocument) and r is not None and not isinstance(r, Exception)
        ]

    def attempts_at(self) -> list[float]:
        """The pacer clock of every sendDocument, accepted or not."""
        return [self.sent_at[index] for index in sorted(self.sent_at)]


@pytest.fixture
async def scripted_bot(settings: Settings):
    session = ScriptedSession()
    bot = create_bot(settings, session=session)
    yield bot
    await bot.session.close()


def make_push(bot: Bot, session_factory, **kwargs: Any) -> tuple[ReceiptPush, VirtualTime]:
    time = VirtualTime()
    pacer = Pacer(30, 1.0, clock=time.clock, sleep=time.sleep)
    bot.session.clock = time.clock
    return ReceiptPush(bot, session_factory, pacer=pacer, **kwargs), time


async def add_charge(session: AsyncSession, account: Account, period: dt.date = GOLDEN_PERIOD):
    service = Service(
        organization_id=account.organization_id, code=f"s{account.id}", name="ХВС", unit="куб.м"
    )
    session.add(service)
    await session.flush()
    session.add(
        Charge(account_id=account.id, period=period, service_id=service.id,
               charged=100, closing=100)
    )  # fmt: skip
    await session.flush()


@pytest.fixture
async def town(session: AsyncSession) -> dict[str, Any]:
    """Anna (2 accounts), Boris (the golden one too), Vera (push off), Gleb (unregistered),
    Dina (e-mail too), and an account without March charges."""
    golden = await factories.golden(session)
    second = await factories.account(session, number="11111111")
    await add_charge(session, second)
    quiet = await factories.account(session, number="22222222")
    await add_charge(session, quiet, add_months(GOLDEN_PERIOD, -1))
    anna = await factories.resident(session, telegram_id=2001, phone="+79990002001")
    boris = await factories.resident(session, telegram_id=2002, phone="+79990002002")
    vera = await factories.resident(
        session, telegram_id=2003, phone="+79990002003", push_telegram=False
    )
    gleb = await factories.resident(session, telegram_id=2004, phone=None, registered=False)
    dina = await factories.resident(
        session, telegram_id=2005, phone="+79990002005", push_email=True,
        email="dina@example.org", email_confirmed_at=utcnow(),
    )  # fmt: skip
    eva = await factories.resident(
        session, telegram_id=2006, phone="+79990002006", push_email=True,
        email="eva@example.org", email_confirmed_at=None, push_telegram=False,
    )  # fmt: skip
    for person, account in (
        (anna, golden), (anna, second), (anna, quiet), (boris, golden), (vera, golden),
        (gleb, golden), (dina, second), (eva, second),
    ):  # fmt: skip
        await factories.link(session, person, account)
    await session.commit()
    return {"golden": golden, "second": second, "anna": anna, "boris": boris, "dina": dina}


async def deliveries(session_factory) -> list[tuple[str, int, str, str]]:
    async with session_factory() as session:
        rows = await session.execute(
            select(Account.number, Resident.telegram_id, ReceiptDelivery.channel,
                   ReceiptDelivery.status)
            .join(Account, Account.id == ReceiptDelivery.account_id)
            .join(Resident, Resident.id == ReceiptDelivery.resident_id)
            .order_by(ReceiptDelivery.id)
        )  # fmt: skip
        return [tuple(row) for row in rows]


async def test_every_subscriber_gets_each_linked_receipt_once(
    scripted_bot: Bot, session_factory: async_sessionmaker[AsyncSession], town: dict
) -> None:
    mails: list[tuple[str, str, list]] = []

    async def mailer(settings, to, subject, text, attachments) -> None:
        mails.append((to, subject, attachments))

    push, _ = make_push(scripted_bot, session_factory, mailer=mailer)
    progress = await push.run(GOLDEN_PERIOD)
    assert progress is not None
    assert (progress.sent, progress.failed, progress.blocked, progress.remaining) == (5, 0, 0, 0)
    delivered = scripted_bot.session.delivered()
    assert sorted(delivered) == sorted([
        (2001, "receipt_00000000_2020-03.pdf"),
        (2001, "receipt_11111111_2020-03.pdf"),
        (2002, "receipt_00000000_2020-03.pdf"),
        (2005, "receipt_11111111_2020-03.pdf"),
    ])  # fmt: skip
    # round-robin and one a second per chat: Anna's second receipt comes after everyone's first,
    # a second after her first (eight senders in flight do not make it a burst; which of her
    # two is first depends on which PDF was ready first)
    assert delivered[-1][0] == 2001
    anna = [at for chat, _, at in scripted_bot.session.delivered_at() if chat == 2001]
    assert anna[1] - anna[0] >= 1.0 - 1e-9
    golden_caption = next(
        m.caption for m in scripted_bot.session.requests
        if isinstance(m, SendDocument) and m.document.filename.startswith("receipt_0000")
    )  # fmt: skip
    assert "март 2020" in golden_caption and "2\u00a0383,29\u00a0₽" in golden_caption
    assert [(to, name) for to, _, ((name, _, _),) in mails] == [
        ("dina@example.org", "receipt_11111111_2020-03.pdf")
    ]
    assert mails[0][2][0][1].startswith(b"%PDF") and mails[0][2][0][2] == "application/pdf"
    assert sorted(await deliveries(session_factory)) == sorted([
        ("00000000", 2001, "telegram", "sent"),
        ("11111111", 2001, "telegram", "sent"),
        ("00000000", 2002, "telegram", "sent"),
        ("11111111", 2005, "telegram", "sent"),
        ("11111111", 2005, "email", "sent"),
    ])  # fmt: skip
    async with session_factory() as session:
        row = await session.scalar(select(Push))
        assert (row.status, row.total, row.finished_at is not None) == ("done", 5, True)
        assert await session.scalar(select(Lease)) is None  # released

    again, _ = make_push(scripted_bot, session_factory, mailer=mailer)
    progress = await again.run(GOLDEN_PERIOD)
    assert progress is not None and progress.sent == 0 and progress.done_before == 5
    assert len(scripted_bot.session.delivered()) == 4 and len(mails) == 1


async def test_a_blocked_resident_is_marked_and_skipped(
    scripted_bot: Bot, session_factory: async_sessionmaker[AsyncSession], town: dict
) -> None:
    scripted_bot.session.blocked.add(2001)
    push, _ = make_push(scripted_bot, session_factory)
    progress = await push.run(GOLDEN_PERIOD)
    assert progress is not None
    assert (progress.sent, progress.blocked) == (2, 2)
    attempts_to_anna = [
        m for m in scripted_bot.session.requests
        if isinstance(m, SendDocument) and int(m.chat_id) == 2001
    ]  # fmt: skip
    assert len(attempts_to_anna) == 1  # her second receipt is not even tried
    async with session_factory() as session:
        anna = await session.get(Resident, town["anna"].id)
        assert anna.unreachable_at is not None
    rows = await deliveries(session_factory)
    assert ("00000000", 2001, "telegram", "blocked") in rows
    assert ("11111111", 2001, "telegram", "blocked") in rows
    assert ("00000000", 2002, "telegram", "sent") in rows


def pushed(channel: str, outcome: str) -> float:
    labels = {"kind": "receipt", "channel": channel, "outcome": outcome}
    return metrics.sample("cabinet_push_deliveries_total", labels)


@pytest.mark.skipif(not metrics.ENABLED, reason="prometheus-client (the metrics extra)")
async def test_deliveries_are_counted_in_the_metrics(
    scripted_bot: Bot, session_factory: async_sessionmaker[AsyncSession], town: dict
) -> None:
    outcomes = [("telegram", "sent"), ("telegram", "blocked"), ("email", "sent")]
    before = [pushed(*o) for o in outcomes]
    scripted_bot.session.blocked.add(2001)

    async def mailer(settings, to, subject, text, attachments) -> None:
        pass

    push, _ = make_push(scripted_bot, session_factory, mailer=mailer)
    progress = await push.run(GOLDEN_PERIOD)
    assert progress is not None and (progress.sent, progress.blocked) == (3, 2)
    assert [pushed(*o) - b for o, b in zip(outcomes, before, strict=True)] == [2, 2, 1]
    rows = await deliveries(session_factory)
    assert {DeliveryStatus(status) for *_, status in rows} == {
        DeliveryStatus.SENT,
        DeliveryStatus.BLOCKED,
    }


async def test_429_is_honoured_and_nothing_is_lost(
    scripted_bot: Bot, session_factory: async_sessionmaker[AsyncSession], town: dict
) -> None:
    scripted_bot.session.flood = 2
    push, _ = make_push(scripted_bot, session_factory)
    progress = await push.run(GOLDEN_PERIOD)
    assert progress is not None and progress.sent == 4 and progress.failed == 0
    assert push.pacer.retries_after == 2
    delivered = scripted_bot.session.delivered()
    assert len(delivered) == len(set(delivered)) == 4
    # one pause shared by every sender: nothing was sent within 7 s of the first 429
    first_429, *later = scripted_bot.session.attempts_at()
    assert all(at == first_429 or at >= first_429 + 7 - 1e-9 for at in later)
    assert max(later) >= first_429 + 7


async def test_failures_are_logged_and_retried_by_the_next_run(
    scripted_bot: Bot, session_factory: async_sessionmaker[AsyncSession], town: dict
) -> None:
    scripted_bot.session.bad.add(2002)
    push, _ = make_push(scripted_bot, session_factory)
    progress = await push.run(GOLDEN_PERIOD)
    assert progress is not None and (progress.sent, progress.failed) == (3, 1)
    assert ("00000000", 2002, "telegram", "failed") in await deliveries(session_factory)

    scripted_bot.session.bad.clear()
    again, _ = make_push(scripted_bot, session_factory)
    progress = await again.run(GOLDEN_PERIOD)
    assert progress is not None and (progress.sent, progress.failed) == (1, 0)
    async with session_factory() as session:
        row = await session.scalar(
            select(ReceiptDelivery).where(
                ReceiptDelivery.resident_id == town["boris"].id,
                ReceiptDelivery.channel == "telegram",
            )
        )
        assert (row.status, row.attempts) == ("sent", 2)


async def test_a_run_resumes_where_the_log_stops(
    scripted_bot: Bot, session_factory: async_sessionmaker[AsyncSession], town: dict
) -> None:
    async with session_factory() as session:
        session.add(
            ReceiptDelivery(account_id=town["golden"].id, period=GOLDEN_PERIOD,
                            resident_id=town["anna"].id, channel="telegram", status="sent")
        )  # fmt: skip
        await session.commit()
    push, _ = make_push(scripted_bot, session_factory)
    progress = await push.run(GOLDEN_PERIOD)
    assert progress is not None and (progress.sent, progress.done_before) == (3, 1)
    assert (2001, "receipt_00000000_2020-03.pdf") not in scripted_bot.session.delivered()


async def test_only_one_process_pushes_a_period(
    scripted_bot: Bot, session_factory: async_sessionmaker[AsyncSession], town: dict
) -> None:
    async with session_factory() as session:
        assert await leases.acquire(session, "push:202003", "other:1", dt.timedelta(minutes=5))
        await session.commit()
    push, _ = make_push(scripted_bot, session_factory)
    assert await push.run(GOLDEN_PERIOD) is None
    assert scripted_bot.session.delivered() == []


async def test_a_receipt_that_cannot_be_rendered_fails_alone(
    scripted_bot: Bot, session_factory: async_sessionmaker[AsyncSession], town: dict
) -> None:
    push, _ = make_push(scripted_bot, session_factory, render=render_or_fail_golden)
    progress = await push.run(GOLDEN_PERIOD)
    assert progress is not None and (progress.sent, progress.failed) == (2, 2)
    assert all(name.startswith("receipt_1111") for _, name in scripted_bot.session.delivered())


def render_or_fail_golden(receipt: ReceiptData) -> bytes:
    if receipt.account_number == "00000000":
        raise ValueError("broken")
    return render_receipt(receipt)


async def test_status_counts_from_the_log(
    scripted_bot: Bot, session_factory: async_sessionmaker[AsyncSession], town: dict
) -> None:
    scripted_bot.session.blocked.add(2002)
    push, _ = make_push(scripted_bot, session_factory)
    await push.run(GOLDEN_PERIOD)
    async with session_factory() as session:
        (status,) = await push_statuses(session)
    assert (status.period, status.status, status.total) == (GOLDEN_PERIOD, "done", 4)
    assert (status.sent, status.failed, status.blocked, status.remaining) == (3, 0, 1, 0)


async def test_a_freshly_imported_newest_period_is_due_once(
    session: AsyncSession, scripted_bot: Bot, session_factory, town: dict
) -> None:
    assert await periods_to_push(session) == []  # nothing imported
    session.add(ImportRun(files="march.csv", rows=10, periods=["2020-03", "2020-02"]))
    await session.commit()
    assert await periods_to_push(session) == [GOLDEN_PERIOD]  # the newest only

    await push_module.push_due(scripted_bot, session_factory, _settings(scripted_bot))
    assert len(scripted_bot.session.delivered()) == 4
    assert await periods_to_push(session) == []  # pushed since the import

    session.add(ImportRun(files="old.csv", rows=1, periods=["2019-05"]))
    session.add(
        ImportRun(files="ancient.csv", periods=["2020-03"],
                  created_at=utcnow() - dt.timedelta(days=90))
    )  # fmt: skip
    await session.commit()
    assert await periods_to_push(session) == []


def _settings(bot: Bot) -> Settings:
    return Settings(
        _env_file=None,
        bot_token="42:x",
        push_rate_per_second=1000,
        push_per_chat_interval=0,
        render_workers=0,
        receipt_spool_dir="",
    )


async def test_prepared_pdfs_are_sent_from_the_spool_then_cleared(
    scripted_bot: Bot, session_factory: async_sessionmaker[AsyncSession], town: dict, tmp_path
) -> None:
    spool = tmp_path / "spool"
    preparer, _ = make_push(scripted_bot, session_factory, spool=spool)
    assert await preparer.prepare(GOLDEN_PERIOD) == (2, 0)  # two accounts to send
    assert len(list((spool / "2020-03").glob("*.pdf"))) == 2
    assert scripted_bot.session.delivered() == []  # preparing sends nothing
    assert await preparer.prepare(GOLDEN_PERIOD) == (0, 2)  # already there

    push, _ = make_push(scripted_bot, session_factory, spool=spool, render=refuse_to_render)
    progress = await push.run(GOLDEN_PERIOD)
    assert progress is not None and (progress.sent, progress.failed) == (4, 0)
    assert not (spool / "2020-03").exists()  # the push is done: its spool is gone


def refuse_to_render(receipt: ReceiptData) -> bytes:
    raise AssertionError("the spool has this PDF: it must not be rendered again")


async def test_the_bots_scheduler_pushes_a_fresh_import_once(
    scripted_bot: Bot, session_factory, session: AsyncSession, town: dict
) -> None:
    """The bot's own scheduler polls for a fresh import every push_poll_seconds and checks again
    daily at 10:15 local time; either job pushes a due period, and only once."""
    from zoneinfo import ZoneInfo

    from bot.scheduler import create_scheduler

    settings = _settings(scripted_bot).model_copy(
        update={"scheduler_enabled": True, "push_poll_seconds": 45}
    )
    scheduler = create_scheduler(settings, scripted_bot, session_factory)
    assert scheduler is not None
    poll, daily = (
        scheduler.get_job(name) for name in ("receipts_push_poll", "receipts_push_daily")
    )
    assert poll is not None and daily is not None
    local = ZoneInfo(settings.default_timezone)
    morning = dt.datetime(2020, 4, 1, 9, 0, tzinfo=local)
    assert poll.trigger.get_next_fire_time(morning, morning) == morning + dt.timedelta(seconds=45)
    assert daily.trigger.get_next_fire_time(None, morning) == morning.replace(hour=10, minute=15)

    await poll.func(*poll.args)
    assert scripted_bot.session.delivered() == []  # nothing imported yet
    session.add(ImportRun(files="march.csv", rows=10, periods=["2020-03"]))
    await session.commit()
    await poll.func(*poll.args)
    assert len(scripted_bot.session.delivered()) == 4
    await daily.func(*daily.args)
    await poll.func(*poll.args)
    assert len(scripted_bot.session.delivered()) == 4  # once


# --- several sends in flight ----------------------------------------------------------------------


async def test_concurrent_senders_share_the_rate_the_chat_interval_and_one_pause() -> None:
    time = VirtualTime()
    pacer = Pacer(10, 1.0, clock=time.clock, sleep=time.sleep)
    sent: list[tuple[float, int]] = []
    flooded_at: list[float] = []

    async def sender(chats: list[int]) -> None:
        for chat in chats:

            async def call(chat: int = chat) -> None:
                if len(sent) == 5 and not flooded_at:
                    flooded_at.append(time.now)
                    raise TelegramRetryAfter(
                        method=None, message="Too Many Requests", retry_after=3
                    )  # type: ignore[arg-type]
                sent.append((time.now, chat))

            await pacer.send(chat, call)

    # eight senders; chat 1 is in every list (a resident with eight accounts)
    await asyncio.gather(*(sender([1, 10 + n, 20 + n]) for n in range(8)))
    assert len(sent) == 24 and pacer.retries_after == 1
    times = sorted(at for at, _ in sent)
    assert all(b - a >= 0.1 - 1e-9 for a, b in itertools.pairwise(times))  # 10/s overall
    chat_one = sorted(at for at, chat in sent if chat == 1)
    assert all(b - a >= 1.0 - 1e-9 for a, b in itertools.pairwise(chat_one))  # never a burst
    (pause,) = flooded_at
    assert not [at for at in times if pause < at < pause + 3 - 1e-9]  # every sender waited


async def test_a_paced_429_goes_to_the_pacer_not_to_a_private_retry(bot: Bot) -> None:
    """The bot's request middleware waits and retries short 429s of ordinary replies; inside a
    paced send it must not (the other senders would go on meanwhile)."""
    bot.session.fail_with["sendMessage"] = too_many_requests(retry_after=1)
    time = VirtualTime()
    pacer = Pacer(30, 1.0, clock=time.clock, sleep=time.sleep)
    with pytest.raises(TelegramRetryAfter):
        await pacer.send(1001, lambda: bot.send_message(1001, "текст"), max_retries=0)
    assert len(bot.session.requests) == 1


async def test_a_receipt_left_in_doubt_by_a_kill_is_sent_again(
    scripted_bot: Bot, session_factory: async_sessionmaker[AsyncSession], town: dict
) -> None:
    async with session_factory() as session:  # a killed run had Boris's receipt in flight
        session.add(
            ReceiptDelivery(account_id=town["golden"].id, period=GOLDEN_PERIOD,
                            resident_id=town["boris"].id, channel="telegram", status="sending")
        )  # fmt: skip
        await session.commit()
    push, _ = make_push(scripted_bot, session_factory)
    progress = await push.run(GOLDEN_PERIOD)
    assert progress is not None and (progress.sent, progress.in_doubt) == (4, 1)
    assert (2002, "receipt_00000000_2020-03.pdf") in scripted_bot.session.delivered()
    async with session_factory() as session:
        row = await session.scalar(
            select(ReceiptDelivery).where(ReceiptDelivery.resident_id == town["boris"].id)
        )
        assert (row.status, row.attempts) == ("sent", 2)


class KillingSession(ScriptedSession):
    """Uploads that overlap (each answer comes after a random number of loop turns), and a kill
    of the push at a chosen upload: before Telegram accepts it, or after (the push never hears
    the answer). A cancellation, gentler than SIGKILL (the e2e test): writes already handed to
    the delivery log still commit."""

    def __init__(self, rng: random.Random) -> None:
        super().__init__()
        self.rng = rng
        self.uploads = 0
        self.kill_at = 0
        self.kill_after_accept = False
        self.victim: asyncio.Task[Any] | None = None

    async def make_request(
        self, bot: Bot, method: TelegramMethod[Any], timeout: int | None = None
    ) -> Any:
        if not isinstance(method, SendDocument):
            return await super().make_request(bot, method, timeout)
        self.uploads += 1
        killing = self.uploads == self.kill_at and self.victim is not None
        for _ in range(self.rng.randint(0, 4)):
            await asyncio.sleep(0)
        if killing and not self.kill_after_accept:
            self.victim.cancel()  # type: ignore[union-attr]
            for _ in range(10):  # the cancellation reaches this upload before it is accepted
                await asyncio.sleep(0)
        result = await super().make_request(bot, method, timeout)
        if killing and self.kill_after_accept:  # accepted, but the answer dies with the process
            self.victim.cancel()  # type: ignore[union-attr]
            raise asyncio.CancelledError
        return result


@pytest.mark.parametrize("seed", range(6))
async def test_killed_at_random_moments_with_sends_in_flight_nothing_is_lost(
    seed: int,
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    session: AsyncSession,
    tmp_path,
) -> None:
    rng = random.Random(seed)
    org = await factories.organization(session)
    accounts = []
    for n in range(4):
        account = await factories.account(session, org, number=f"5000000{n}")
        await add_charge(session, account)
        accounts.append(account)
    expected = set()
    for n in range(24):
        person = await factories.resident(session, telegram_id=4000 + n, phone=f"+7999300{n:04d}")
        for account in rng.sample(accounts, rng.randint(1, 2)):
            await factories.link(session, person, account)
            expected.add((person.chat_id, f"receipt_{account.number}_2020-03.pdf"))
    await session.commit()
    recording = KillingSession(rng)
    bot = create_bot(settings, session=recording)
    spool = tmp_path / "spool"  # rendered once, reused by every restart
    concurrency, kills = 4, 3
    try:
        for kill in range(1, kills + 1):
            push, _ = make_push(bot, session_factory, concurrency=concurrency, spool=spool)
            recording.victim = asyncio.create_task(push.run(GOLDEN_PERIOD))
            recording.kill_at = recording.uploads + rng.randint(1, 10)
            recording.kill_after_accept = rng.random() < 0.5
            with contextlib.suppress(asyncio.CancelledError):
                await recording.victim
            async with session_factory() as check:
                in_doubt = await check.scalar(
                    select(func.count()).where(ReceiptDelivery.status == "sending")
                )
            # the intents without a result: those in flight at each kill so far, at most
            assert in_doubt is not None and in_doubt <= concurrency * kill
        recording.victim = None
        push, _ = make_push(bot, session_factory, concurrency=concurrency, spool=spool)
        progress = await push.run(GOLDEN_PERIOD)
    finally:
        await bot.session.close()
    assert progress is not None and progress.remaining == 0
    delivered = collections.Counter(recording.delivered())
    assert set(delivered) == expected  # none lost
    duplicates = sum(count - 1 for count in delivered.values())
    assert duplicates <= concurrency * kills, delivered.most_common(5)
    async with session_factory() as check:
        statuses = collections.Counter(await check.scalars(select(ReceiptDelivery.status)))
    assert statuses == {"sent": len(expected)}
