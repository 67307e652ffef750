"""The dispatcher's shared behaviour: /help, /cancel, unknown input, errors, throttling."""

import asyncio

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


async def test_one_users_updates_are_handled_one_at_a_time(client, monkeypatch) -> None:
    """A second message while the first is still being handled waits for it: it must see what
    the first one commits (a resident typing the next step the instant the bot asks for it)."""
    session = client.session
    original = session.make_request
    held, release = asyncio.Event(), asyncio.Event()

    async def make_request(bot, method, timeout=None):  # type: ignore[no-untyped-def]
        if not held.is_set():  # hold the first reply of the first update
            held.set()
            await release.wait()
        return await original(bot, method, timeout)

    monkeypatch.setattr(session, "make_request", make_request)
    first = asyncio.create_task(client.send("/help"))
    await held.wait()
    second = asyncio.create_task(client.send("/cancel"))
    # Handled concurrently, the second would be answered within milliseconds; isolated, it
    # waits however long the first is held.
    done, _ = await asyncio.wait({second}, timeout=0.5)
    assert not done and session.requests == []
    release.set()
    await asyncio.gather(first, second)
    assert [method.text for method in session.requests] == [t.HELP, t.NOTHING_TO_CANCEL]


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
