"""The dispatcher's shared behaviour: /help, /cancel, unknown input, errors, throttling."""

from aiogram import Router
from aiogram.filters import Command

from bot.middlewares.throttling import ThrottlingMiddleware
from texts.ru import common as t


async def test_help_explains_the_bot(client) -> None:
    await client.send("/help")
    assert "Личный кабинет" in client.last_text()


async def test_cancel_without_dialogue(client) -> None:
    await client.send("/cancel")
    assert client.last_text() == t.NOTHING_TO_CANCEL


async def test_unregistered_user_is_pointed_to_start(client) -> None:
    await client.send("привет")
    assert client.last_text() == t.NOT_REGISTERED


async def test_forged_unknown_callback_gets_a_polite_alert(client) -> None:
    await client.callback("zz:garbage")
    assert client.alerts() == [t.STALE_BUTTON]


async def test_a_failing_handler_apologizes_and_logs_no_text(dp, client, caplog) -> None:
    boom = Router()

    @boom.message(Command("boom"))
    async def fail(message) -> None:
        raise RuntimeError("secret +79991112233")

    dp.include_router(boom)
    # The fallback router comes first for unmatched text but /boom is a command nobody else takes.
    dp.sub_routers.insert(0, dp.sub_routers.pop())
    await client.send("/boom")
    assert client.last_text() == t.ERROR
    assert "+79991112233" not in caplog.text


def test_throttling_lets_others_through() -> None:
    throttle = ThrottlingMiddleware(rate=1, burst=3)
    results = [throttle.allow(1, now=100.0)[0] for _ in range(5)]
    assert results == [True, True, True, False, False]
    assert throttle.allow(2, now=100.0) == (True, False)  # another resident is not slowed
    assert throttle.allow(1, now=100.0) == (False, False)  # warned once per burst
    assert throttle.allow(1, now=102.0)[0] is True  # refilled
