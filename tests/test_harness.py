"""The test harness's fake Telegram answers raise exactly what aiogram raises for them."""

from __future__ import annotations

import pytest
from aiogram import Bot
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
)

from bot.app import create_bot
from bot.config import Settings
from tests.harness import (
    NetworkDown,
    RecordingSession,
    bad_request,
    forbidden,
    too_many_requests,
)


@pytest.fixture
def recording_bot(settings: Settings) -> Bot:
    return create_bot(settings, session=RecordingSession())


async def test_an_error_answer_raises_aiogram_s_exception_for_it(recording_bot: Bot) -> None:
    session: RecordingSession = recording_bot.session  # type: ignore[assignment]
    session.fail_with["editMessageText"] = bad_request("message is not modified")
    with pytest.raises(TelegramBadRequest) as raised:
        await recording_bot.edit_message_text(text="x", chat_id=1, message_id=1)
    assert raised.value.message == "Bad Request: message is not modified"
    assert "message is not modified" in str(raised.value)

    session.fail_with["sendMessage"] = too_many_requests(retry_after=7)
    with pytest.raises(TelegramRetryAfter) as flooded:
        await recording_bot.send_message(1, "x")
    assert flooded.value.retry_after == 7

    session.fail_with["sendMessage"] = forbidden()
    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await recording_bot.send_message(1, "x")

    session.fail_with["sendMessage"] = NetworkDown()
    with pytest.raises(TelegramNetworkError):
        await recording_bot.send_message(1, "x")
    # every call is recorded, each with the exception it raised
    assert [type(result) for result in session.results] == [
        TelegramBadRequest,
        TelegramRetryAfter,
        TelegramForbiddenError,
        TelegramNetworkError,
    ]


async def test_a_responder_may_refuse_some_calls(recording_bot: Bot) -> None:
    session: RecordingSession = recording_bot.session  # type: ignore[assignment]
    session.responses["sendMessage"] = lambda method: (
        forbidden() if method.chat_id == 2 else session.answer(method)
    )
    sent = await recording_bot.send_message(1, "Здравствуйте")
    assert sent.text == "Здравствуйте" and sent.chat.id == 1
    with pytest.raises(TelegramForbiddenError):
        await recording_bot.send_message(2, "Здравствуйте")
