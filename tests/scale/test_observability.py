"""Structured logs without personal data; metrics recorded by the dispatcher and by features."""

from __future__ import annotations

import io
import json
import logging

import pytest
from aiogram import Bot, Dispatcher, Router
from aiogram.filters import Command
from aiogram.types import Message
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import metrics
from bot.app import create_dispatcher
from bot.config import Settings
from bot.logging import configure, redact
from tests import harness
from tests.harness import BotClient


@pytest.fixture
def captured() -> io.StringIO:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    stream = io.StringIO()
    configure("INFO", "json", stream=stream)
    yield stream
    handlers, level = saved
    root.handlers[:] = handlers
    root.setLevel(level)


def lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_json_lines_carry_ids_and_extra_fields(captured: io.StringIO) -> None:
    logging.getLogger("bot.test").info("update %s handled", 123456789, extra={"update_id": 5})
    [entry] = lines(captured)
    assert entry["msg"] == "update 123456789 handled"
    assert entry["level"] == "INFO"
    assert entry["logger"] == "bot.test"
    assert entry["update_id"] == 5
    assert "ts" in entry


@pytest.mark.parametrize(
    "leak",
    ["+79991234567", "+7 (999) 123-45-67", "8 999 123 45 67", "ivan.petrov@mail.ru"],
)
def test_phones_and_emails_never_reach_the_log(captured: io.StringIO, leak: str) -> None:
    logging.getLogger("bot.test").warning("contact %s refused", leak)
    try:
        raise ValueError(f"bad {leak}")
    except ValueError:
        logging.getLogger("bot.test").exception("failed")
    output = captured.getvalue()
    assert leak not in output
    assert "<phone>" in output or "<email>" in output
    assert lines(captured)[1]["exc_type"] == "ValueError"


def test_ids_are_not_mistaken_for_phones() -> None:
    text = "update 123456789 chat -1001234567890 account 00000000 period 202003"
    assert redact(text) == text


async def test_sql_errors_do_not_quote_parameters(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    from sqlalchemy import text

    async with session_factory() as session:
        with pytest.raises(Exception) as caught:
            await session.execute(
                text("SELECT * FROM no_such_table WHERE x = :phone"), {"phone": "+79991234567"}
            )
    assert "+79991234567" not in str(caught.value)


def sample(name: str, **labels: str) -> float:
    return metrics.sample(name, labels)


async def test_dispatcher_counts_updates_by_type_and_outcome(
    settings: Settings, session_factory: async_sessionmaker[AsyncSession], bot: Bot
) -> None:
    dp: Dispatcher = create_dispatcher(settings, session_factory)

    boom = Router()

    @boom.message(Command("boom"))
    async def explode(message: Message) -> None:
        raise RuntimeError("boom")

    dp.include_router(boom)
    # A fresh router after the fallback never sees /boom... so put it first.
    dp.sub_routers.insert(0, dp.sub_routers.pop())
    handled = sample("cabinet_updates_total", type="message", outcome="handled")
    errors = sample("cabinet_updates_total", type="message", outcome="error")
    failures = sample("cabinet_errors_total", where="update", exception="RuntimeError")
    latency = sample("cabinet_handler_seconds_count", type="message")

    client = BotClient(dp, bot)
    await client.send("/help")
    await client.send("/boom")

    assert sample("cabinet_updates_total", type="message", outcome="handled") == handled + 1
    assert sample("cabinet_updates_total", type="message", outcome="error") == errors + 1
    assert sample("cabinet_errors_total", where="update", exception="RuntimeError") == failures + 1
    assert sample("cabinet_handler_seconds_count", type="message") == latency + 2
    await dp.storage.close()


def test_feature_counters() -> None:
    accepted = sample("cabinet_readings_total", outcome="accepted", reason="ok")
    refused = sample("cabinet_readings_total", outcome="refused", reason="below_previous")
    metrics.readings(accepted=True)
    metrics.readings(accepted=False, reason="below_previous")
    assert sample("cabinet_readings_total", outcome="accepted", reason="ok") == accepted + 1
    assert (
        sample("cabinet_readings_total", outcome="refused", reason="below_previous") == refused + 1
    )

    blocked = sample(
        "cabinet_push_deliveries_total", kind="receipt", channel="telegram", outcome="blocked"
    )
    metrics.delivery("blocked")
    assert (
        sample(
            "cabinet_push_deliveries_total", kind="receipt", channel="telegram", outcome="blocked"
        )
        == blocked + 1
    )
    metrics.push_progress("2020-03", done=3, total=10)
    assert sample("cabinet_push_done", period="2020-03") == 3
    assert sample("cabinet_push_total", period="2020-03") == 10


async def test_bot_api_outcomes_are_counted(bot: Bot, dp: Dispatcher) -> None:
    from aiogram.exceptions import TelegramForbiddenError

    ok = sample("cabinet_telegram_requests_total", method="sendMessage", outcome="ok")
    forbidden = sample("cabinet_telegram_requests_total", method="sendMessage", outcome="forbidden")
    await bot.send_message(1001, "x")
    bot.session.fail_with["sendMessage"] = harness.forbidden()
    with pytest.raises(TelegramForbiddenError):
        await bot.send_message(1001, "x")
    assert sample("cabinet_telegram_requests_total", method="sendMessage", outcome="ok") == ok + 1
    assert (
        sample("cabinet_telegram_requests_total", method="sendMessage", outcome="forbidden")
        == forbidden + 1
    )


async def test_push_progress_comes_from_the_database(
    session: AsyncSession, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    import datetime as dt

    from bot.metrics import refresh_push_progress
    from storage.models import Push, ReceiptDelivery
    from tests import factories

    account = await factories.golden(session)
    people = [await factories.resident(session, telegram_id=7000 + n) for n in range(3)]
    march = dt.date(2020, 3, 1)
    session.add(Push(period=march, status="running", total=3))
    for person in people[:2]:
        session.add(
            ReceiptDelivery(
                account_id=account.id,
                period=march,
                resident_id=person.id,
                channel="telegram",
                status="sent",
            )
        )
    await session.commit()
    await refresh_push_progress(session_factory)
    assert sample("cabinet_push_total", period="2020-03") == 3
    assert sample("cabinet_push_done", period="2020-03") == 2
    assert sample("cabinet_push_running", period="2020-03") == 1


def test_configure_leaves_logging_set_up_by_others_alone() -> None:
    """As logging.basicConfig: a host (here pytest's capture) that set up logging keeps it, so a
    CLI command run in-process does not write to a stream that closes after the test."""
    root = logging.getLogger()
    before = root.handlers[:], root.level
    foreign = logging.StreamHandler(io.StringIO())
    root.addHandler(foreign)
    try:
        configure("DEBUG", "json")
        assert root.handlers == [*before[0], foreign]
        assert root.level == before[1]
    finally:
        root.removeHandler(foreign)
