"""Webhook mode in process: the real dispatcher behind aiohttp, a recording Bot API session."""

from __future__ import annotations

import datetime as dt
import itertools
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiogram import Bot, Dispatcher
from aiogram.methods import SendMessage, SetWebhook
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

from bot.config import Settings
from bot.webhook import build_app, set_webhook, webhook_path
from tests.harness import RecordingSession
from texts.ru import common as t

SECRET = "s3cret-token_for-tests"
_ids = itertools.count(1)


@pytest.fixture
def webhook_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "webhook_url": "https://bot.example.org/tg/hook",
            "webhook_secret": SecretStr(SECRET),
        }
    )


@pytest.fixture
async def http(webhook_settings: Settings, bot: Bot, dp: Dispatcher) -> AsyncIterator[TestClient]:
    app = build_app(webhook_settings, bot, dp)
    async with TestClient(TestServer(app)) as client:
        yield client


def message_update(user_id: int, text: str) -> dict[str, Any]:
    return {
        "update_id": next(_ids),
        "message": {
            "message_id": next(_ids),
            "date": int(dt.datetime.now(dt.UTC).timestamp()),
            "chat": {"id": user_id, "type": "private", "first_name": "Анна"},
            "from": {"id": user_id, "is_bot": False, "first_name": "Анна"},
            "text": text,
        },
    }


def sent_texts(bot: Bot) -> list[str]:
    session: RecordingSession = bot.session  # type: ignore[assignment]
    return [r.text for r in session.requests if isinstance(r, SendMessage)]


def test_path_comes_from_the_webhook_url(webhook_settings: Settings) -> None:
    assert webhook_path(webhook_settings) == "/tg/hook"


async def test_update_with_the_secret_is_handled_before_the_answer(
    http: TestClient, bot: Bot
) -> None:
    response = await http.post(
        "/tg/hook",
        json=message_update(1001, "/help"),
        headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
    )
    assert response.status == 200
    assert sent_texts(bot) == [t.HELP]


DEEP = b"[" * 100_000 + b"]" * 100_000


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b'{"update_id": 1, "message": ', id="invalid JSON"),
        pytest.param(b"", id="empty"),
        pytest.param(b"[]", id="an array"),
        pytest.param(b'{"hello": "Anna +79161234567"}', id="not an update"),
        pytest.param(b'{"update_id": "one"}', id="a wrong field"),
        pytest.param('{"update_id": 1, "x": "Анна"}'.encode("cp1251"), id="not UTF-8"),
        pytest.param(DEEP, id="deep nesting"),
        pytest.param(b'{"update_id": 1, "message": ' + DEEP + b"}", id="deep inside"),
    ],
)
async def test_a_malformed_body_with_the_secret_gets_400_and_one_log_line(
    http: TestClient, bot: Bot, body: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    """Fault 3 of issue 12: these were answered 500 with a traceback in the log."""
    caplog.set_level("DEBUG")
    response = await http.post(
        "/tg/hook",
        data=body,
        headers={"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"},
    )
    assert response.status == 400
    assert sent_texts(bot) == []
    said = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [r.name for r in said] == ["bot.webhook"]
    assert "malformed update" in said[0].getMessage()
    assert not any(r.exc_info for r in caplog.records)
    assert "79161234567" not in caplog.text and "Anna" not in caplog.text
    # the next, well-formed update is handled as usual
    good = await http.post(
        "/tg/hook",
        json=message_update(1001, "/help"),
        headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
    )
    assert good.status == 200
    assert sent_texts(bot) == [t.HELP]


@pytest.mark.parametrize("headers", [{}, {"X-Telegram-Bot-Api-Secret-Token": "wrong"}])
async def test_update_without_the_secret_is_refused_and_not_handled(
    http: TestClient, bot: Bot, headers: dict[str, str]
) -> None:
    response = await http.post("/tg/hook", json=message_update(1001, "/help"), headers=headers)
    assert response.status == 401
    assert sent_texts(bot) == []


async def test_webhook_mode_refuses_to_start_without_a_secret(
    settings: Settings, bot: Bot, dp: Dispatcher
) -> None:
    from bot.cli import CommandError

    with pytest.raises(CommandError, match="WEBHOOK_SECRET"):
        build_app(settings.model_copy(update={"webhook_secret": None}), bot, dp)


async def test_health_and_metrics(http: TestClient) -> None:
    await http.post(
        "/tg/hook",
        json=message_update(1001, "/help"),
        headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
    )
    health = await http.get("/healthz")
    assert health.status == 200
    exposition = await (await http.get("/metrics")).text()
    assert 'cabinet_updates_total{outcome="handled",type="message"}' in exposition
    assert "cabinet_handler_seconds_bucket" in exposition


async def test_health_fails_when_the_database_is_gone(
    webhook_settings: Settings, bot: Bot, dp: Dispatcher
) -> None:
    from storage.db import create_engine, create_session_factory

    broken = create_session_factory(
        create_engine("postgresql+asyncpg://nobody@127.0.0.1:1/none", pool_pre_ping=False)
    )
    dp.workflow_data["session_factory"] = broken
    async with TestClient(TestServer(build_app(webhook_settings, bot, dp))) as client:
        assert (await client.get("/healthz")).status == 503


async def test_set_webhook_sends_the_secret_and_keeps_pending_updates(
    webhook_settings: Settings, bot: Bot, dp: Dispatcher
) -> None:
    await set_webhook(webhook_settings, bot, dp)
    session: RecordingSession = bot.session  # type: ignore[assignment]
    [call] = [r for r in session.requests if isinstance(r, SetWebhook)]
    assert call.url == "https://bot.example.org/tg/hook"
    assert call.secret_token == SECRET
    assert call.drop_pending_updates is False
    assert "message" in (call.allowed_updates or [])


@pytest.mark.parametrize(
    ("argv", "webhook"),
    [
        ([], False),
        (["run"], False),
        (["--webhook"], True),
        (["run", "--webhook"], True),
        (["--webhook", "run"], True),
    ],
)
def test_webhook_flag_on_the_command_line(argv: list[str], webhook: bool) -> None:
    from bot.cli import build_parser

    assert bool(getattr(build_parser().parse_args(argv), "webhook", False)) is webhook
