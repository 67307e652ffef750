"""Several real bot processes on one PostgreSQL and one Redis (webhook mode), and a receipt push
that survives the death of the process running it."""

from __future__ import annotations

import asyncio
import datetime as dt
import socket
from collections import Counter
from typing import Any

import aiohttp
from aiogram.fsm.storage.base import DefaultKeyBuilder, StorageKey
from redis.asyncio import Redis
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.fakeapi.server import FakeTelegram
from storage.models import FsmRecord, Lease, ReceiptDelivery, Resident
from tests import factories
from tests.databases import needs_servers
from tests.e2e.conftest import BotProcess, StartBot
from tests.harness import BOT_ID
from texts.ru import registration as reg

SECRET = "webhook-secret-of-the-test_42"
HOOK_URL = "https://bot.example.org/telegram/hook"
HOOK_PATH = "/telegram/hook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
STARTUP_TIMEOUT = 120  # generous: a loaded CI machine imports aiogram slowly


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class WebhookBot:
    """A `python -m bot run --webhook` process and the address Telegram would post to."""

    def __init__(self, process: BotProcess, port: int) -> None:
        self.process = process
        self.base = f"http://127.0.0.1:{port}"

    async def post(self, update: dict[str, Any], secret: str = SECRET) -> int:
        async with (
            aiohttp.ClientSession() as http,
            http.post(self.base + HOOK_PATH, json=update, headers={SECRET_HEADER: secret}) as r,
        ):
            return r.status

    async def get(self, path: str) -> tuple[int, str]:
        async with aiohttp.ClientSession() as http, http.get(self.base + path) as response:
            return response.status, await response.text()


async def start_webhook_bots(
    start_bot: StartBot, tg: FakeTelegram, db_url: str, redis_url: str, count: int = 1
) -> list[WebhookBot]:
    """`count` processes of `python -m bot run --webhook`, each on its own port, all ready."""
    mark = tg.mark()
    bots = []
    for _ in range(count):
        port = free_port()
        process = await start_bot(
            db_url,
            env={
                "REDIS_URL": redis_url,
                "WEBHOOK_URL": HOOK_URL,
                "WEBHOOK_SECRET": SECRET,
                "WEBHOOK_HOST": "127.0.0.1",
                "WEBHOOK_PORT": str(port),
                "LOG_FORMAT": "json",
            },
            args=["run", "--webhook"],
            ready=False,
        )
        bots.append(WebhookBot(process, port))

    # Each process sets the webhook once it listens: from then on it takes updates.
    def all_set(call: Any) -> bool:
        return len([c for c in tg.calls(method="setWebhook") if c.index >= mark and c.ok]) >= count

    ready = asyncio.ensure_future(
        tg.wait_for_call("setWebhook", all_set, after=mark, timeout=STARTUP_TIMEOUT)
    )
    exits = [asyncio.ensure_future(bot.process.process.wait()) for bot in bots]
    await asyncio.wait({ready, *exits}, return_when=asyncio.FIRST_COMPLETED)
    for exit_ in exits:
        exit_.cancel()
    if not ready.done():
        ready.cancel()
        errors = "\n".join(b.process.stderr_text() for b in bots if b.process.returncode)
        raise AssertionError(f"a webhook process exited: {errors}")
    ready.result()
    return bots


async def relay(tg: FakeTelegram, to: WebhookBot) -> None:
    """Telegram's side of the webhook: post what the user did to one of the processes. The
    process answers after handling the update, so its replies are in `tg` when this returns."""
    updates = tg.take_pending_updates()  # delivered by webhook now, not by getUpdates
    assert updates, "the user did nothing to deliver"
    for item in updates:
        assert await to.post(item) == 200


async def redis_state(redis_url: str, user_id: int) -> str | None:
    redis = Redis.from_url(redis_url, decode_responses=True)
    try:
        key = DefaultKeyBuilder(with_destiny=True).build(
            StorageKey(bot_id=BOT_ID, chat_id=user_id, user_id=user_id), "state"
        )
        return await redis.get(key)
    finally:
        await redis.aclose()


@needs_servers
async def test_a_dialogue_goes_on_whichever_process_gets_each_step(
    fake_tg: FakeTelegram,
    start_bot: StartBot,
    db_url: str,
    redis_url: str,
    session: AsyncSession,
) -> None:
    first, second = await start_webhook_bots(start_bot, fake_tg, db_url, redis_url, count=2)
    assert fake_tg.webhook is not None
    assert fake_tg.webhook["url"] == HOOK_URL
    assert fake_tg.webhook["secret_token"] == SECRET

    anna = fake_tg.user(1001)
    await anna.send("/start")
    await relay(fake_tg, first)
    await anna.wait_for(reg.AGREEMENT_ASK[:30])

    await anna.click(reg.BTN_ACCEPT)
    await relay(fake_tg, second)
    await anna.wait_for(reg.CONSENT_STEP_TITLE)

    await anna.click(reg.BTN_CONSENT)
    await relay(fake_tg, first)
    await anna.wait_for(reg.PHONE_ASK[:30])
    # The dialogue's place is kept in Redis, not in either process nor in the database.
    assert await redis_state(redis_url, 1001) == "Registration:phone"
    assert await session.scalar(select(func.count()).select_from(FsmRecord)) == 0

    # The phone step needs what the first two steps stored in the dialogue's data (Redis).
    await anna.share_contact("+79991234567")
    await relay(fake_tg, second)
    await anna.wait_for("+7")
    await anna.wait_for(reg.DONE[:30])

    person = await session.scalar(select(Resident).where(Resident.telegram_id == 1001))
    assert person is not None and person.is_registered
    assert person.phone == "+79991234567"

    # Both processes took part, and each counts what it handled.
    for process in (first, second):
        status, exposition = await process.get("/metrics")
        assert status == 200
        assert 'cabinet_updates_total{outcome="handled"' in exposition
        assert (await process.get("/healthz"))[0] == 200

    for process in (first, second):
        assert await process.process.stop() == 0
    logs = first.process.stderr_text() + second.process.stderr_text()
    assert "+79991234567" not in logs and "79991234567" not in logs


@needs_servers
async def test_a_webhook_process_refuses_updates_without_the_secret(
    fake_tg: FakeTelegram, start_bot: StartBot, db_url: str, redis_url: str
) -> None:
    [bot] = await start_webhook_bots(start_bot, fake_tg, db_url, redis_url)
    anna = fake_tg.user(1001)
    await anna.send("/help")
    [update_] = fake_tg.pending_updates()
    mark = fake_tg.mark()
    assert await bot.post(update_, secret="not-the-secret") == 401
    assert await bot.post(update_, secret="") == 401
    assert [c for c in fake_tg.calls()[mark:] if c.method == "sendMessage"] == []
    assert await bot.post(update_) == 200
    assert fake_tg.calls(chat_id=1001, method="sendMessage")
    assert await bot.process.stop() == 0


PERIOD = "2020-03"
RESIDENTS = 12
SENT_BEFORE_THE_CRASH = 4


async def test_a_push_killed_midway_is_completed_by_another_process_once(
    fake_tg: FakeTelegram, start_bot: StartBot, db_url: str, session: AsyncSession
) -> None:
    account = await factories.golden(session)
    chats = []
    for n in range(RESIDENTS):
        person = await factories.resident(session, telegram_id=5000 + n, phone=f"+7999000{n:04d}")
        await factories.link(session, person, account)
        chats.append(person.chat_id)
    await session.commit()

    def documents() -> list[int]:
        return [c.chat_id for c in fake_tg.delivered(method="sendDocument")]

    # Telegram stops answering after SENT_BEFORE_THE_CRASH documents: the sender waits on its
    # next one (or, timed out on a slow machine, on the one after), and the test kills it there,
    # in the middle of the push. One sender, so that the
    # count at the kill is exact: this test is about two processes and the period's lease; the
    # bound with several sends in flight is tested in test_push_e2e.py.
    one_sender = {"PUSH_CONCURRENCY": "1"}
    hanging = fake_tg.hang("sendDocument", after=SENT_BEFORE_THE_CRASH)
    first = await start_bot(db_url, env=one_sender, args=["push", "--period", PERIOD])
    async with asyncio.timeout(120):
        await hanging.wait()

    # While the first holds the period's lease, another process refuses to run the same push.
    rival = await start_bot(db_url, env=one_sender, args=["push", "--period", PERIOD])
    assert await rival.wait(timeout=120) == 2, rival.stdout_text() + rival.stderr_text()
    assert "already running" in rival.stderr_text()

    await first.kill()
    assert len(documents()) == SENT_BEFORE_THE_CRASH
    hanging.release()

    # The dead process's lease would expire after its time to live; skip the wait.
    await session.execute(update(Lease).values(expires_at=dt.datetime(2000, 1, 1)))
    await session.commit()

    second = await start_bot(db_url, env=one_sender, args=["push", "--period", PERIOD])
    assert await second.wait(timeout=120) == 0, second.stderr_text()

    received = Counter(documents())
    assert set(received) == set(chats), "somebody got no receipt"
    assert all(count == 1 for count in received.values()), received
    rows = (
        await session.execute(select(ReceiptDelivery.resident_id, ReceiptDelivery.status))
    ).all()
    assert len(rows) == RESIDENTS
    assert {status for _, status in rows} == {"sent"}
