"""The real bot process (`python -m bot`) against the fake Bot API server: a resident end to end."""

from __future__ import annotations

import signal

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from bot.fakeapi.server import FakeTelegram
from storage.models import Resident
from texts.ru import common as t
from texts.ru import registration as reg

PHONE = "+79991234567"


async def test_the_process_answers_help_and_stops_gracefully_on_sigterm(
    fake_tg: FakeTelegram, start_bot, db_url: str
) -> None:
    bot = await start_bot(db_url)
    anna = fake_tg.user(1001)
    await anna.send("/help")
    call = await anna.wait_for("Личный кабинет абонента")
    assert call.method == "sendMessage"
    assert call.text == t.HELP

    assert await bot.stop() == 0  # SIGTERM while a long poll is waiting
    assert "Traceback" not in bot.stderr_text()


async def test_the_command_menu_is_set_in_russian_and_sigint_stops_the_bot(
    fake_tg: FakeTelegram, start_bot, db_url: str
) -> None:
    bot = await start_bot(db_url)  # ready = polling, after the startup hooks
    call = fake_tg.calls(method="setMyCommands")[0]
    assert call.ok
    commands = {c["command"]: c["description"] for c in call.params["commands"]}
    assert commands == t.COMMANDS
    assert {"start", "help", "cancel"} <= commands.keys()
    assert all(any("а" <= ch.lower() <= "я" for ch in text) for text in commands.values())
    assert await bot.stop(sig=signal.SIGINT) == 0  # Ctrl+C in a terminal


async def test_one_resident_flooding_does_not_silence_the_others(
    fake_tg: FakeTelegram, start_bot, db_url: str
) -> None:
    # Three messages at once, then one in 100 s.
    await start_bot(db_url, env={"THROTTLE_RATE": "0.01", "THROTTLE_BURST": "3"})
    flooder, neighbour = fake_tg.user(1001), fake_tg.user(1002, first_name="Пётр")
    for _ in range(8):
        await flooder.send("/help")
    await neighbour.send("/help")

    await flooder.wait_for(t.THROTTLED)
    await flooder.wait_for(lambda _call: flooder.texts().count(t.HELP) == 3)
    assert (await neighbour.wait_for("Личный кабинет абонента")).text == t.HELP
    await fake_tg.wait_confirmed()
    assert flooder.texts().count(t.HELP) == 3
    assert flooder.texts().count(t.THROTTLED) == 1  # told once, not once a message


async def test_a_resident_registers_end_to_end(
    fake_tg: FakeTelegram, start_bot, db_url: str, session: AsyncSession
) -> None:
    bot = await start_bot(db_url)
    anna = fake_tg.user(1001, first_name="Анна")

    await anna.send("/start")
    await anna.wait_for(reg.AGREEMENT_ASK)
    assert reg.GREETING in anna.texts()
    await anna.click(reg.BTN_ACCEPT)
    await anna.wait_for(reg.CONSENT_STEP_TITLE)
    await anna.click(reg.BTN_CONSENT)
    await anna.wait_for(reg.PHONE_ASK)
    assert reg.BTN_SHARE_PHONE in anna.reply_keyboard()
    await anna.share_contact(PHONE)
    await anna.wait_for(reg.DONE)
    await anna.wait_for(reg.OFFER_LINK)

    assert anna.reply_keyboard()  # the main menu
    assert all(call.ok for call in fake_tg.calls(chat_id=1001))
    person = await session.scalar(select(Resident).where(Resident.telegram_id == 1001))
    assert person is not None and person.is_registered and person.phone == PHONE
    assert await bot.stop() == 0
    assert PHONE not in bot.stderr_text() and "Анна" not in bot.stderr_text()


async def test_a_restart_mid_dialogue_continues_where_the_resident_was(
    fake_tg: FakeTelegram, start_bot, db_url: str
) -> None:
    first = await start_bot(db_url)
    anna = fake_tg.user(1001)
    await anna.send("/start")
    await anna.wait_for(reg.AGREEMENT_ASK)
    await anna.click(reg.BTN_ACCEPT)
    await anna.wait_for(reg.CONSENT_STEP_TITLE)
    await fake_tg.wait_confirmed()  # Telegram will not resend the click to the next process
    assert await first.kill() != 0  # SIGKILL: no chance to save anything more

    second = await start_bot(db_url)
    await anna.click(reg.BTN_CONSENT)  # the button of the message the first process sent
    await anna.wait_for(reg.PHONE_ASK)
    await anna.share_contact(PHONE)
    await anna.wait_for(reg.DONE)
    assert await second.stop() == 0


async def test_a_restart_keeps_the_state_set_before_it(
    fake_tg: FakeTelegram, start_bot, db_url: str
) -> None:
    first = await start_bot(db_url)
    anna = fake_tg.user(1001)
    await anna.send("/start")
    await anna.wait_for(reg.AGREEMENT_ASK)
    assert await first.stop() == 0

    second = await start_bot(db_url)
    await anna.send("/cancel")
    await anna.wait_for(t.CANCELLED)  # not NOTHING_TO_CANCEL: the dialogue survived
    await anna.send("/cancel")
    await anna.wait_for(t.NOTHING_TO_CANCEL)
    assert await second.stop() == 0


async def test_a_failure_gets_the_apology_and_logs_no_personal_data(
    fake_tg: FakeTelegram, start_bot, db_url: str, session: AsyncSession
) -> None:
    bot = await start_bot(db_url)
    # Break the database under the running bot: every update now fails in a middleware.
    # (Works on SQLite and PostgreSQL; the fixtures rebuild a changed schema for the next test.)
    await session.execute(text("ALTER TABLE residents RENAME TO residents_gone"))
    await session.commit()
    anna = fake_tg.user(1001)
    await anna.send(f"мой телефон {PHONE}")
    call = await anna.wait_for(t.ERROR)
    assert call.method == "sendMessage"
    assert await bot.stop() == 0
    log = bot.stderr_text()
    assert "failed" in log and PHONE not in log and "Traceback" not in log


async def test_sigterm_lets_the_update_in_progress_finish(
    fake_tg: FakeTelegram, start_bot, db_url: str, session: AsyncSession
) -> None:
    bot = await start_bot(db_url)
    anna = fake_tg.user(1001)
    await anna.send("/start")
    await anna.click(reg.BTN_ACCEPT)
    await anna.wait_for(reg.CONSENT_STEP_TITLE)
    await anna.click(reg.BTN_CONSENT)
    await anna.wait_for(reg.PHONE_ASK)

    held = fake_tg.hold("sendMessage", chat_id=1001)
    await anna.share_contact(PHONE)
    await held.reached()  # the handler is in the middle of its work (its first answer)
    bot.send_signal(signal.SIGTERM)
    await bot.wait_for_log("aiogram.dispatcher: Polling stopped\n")
    held.release()

    assert await bot.stop() == 0
    assert reg.DONE in anna.texts(), bot.stderr_text()  # the handler was not cut off
    person = await session.scalar(select(Resident).where(Resident.telegram_id == 1001))
    assert person is not None and person.is_registered
