"""Readings without needless questions (issue 16, points 11-13): outside the window the bot says
so before asking anything and offers a reminder (sent once, when the window opens); a value only
one meter can take goes to that meter; a photo sent with the readings is kept as evidence."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
import time_machine
from aiogram.types import PhotoSize
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import reminders
from bot.config import Settings
from receipts.pacing import Pacer
from storage.models import Account, Meter, Reading, ReminderRequest, Resident
from storage.periods import add_months
from tests import factories
from tests.harness import BotClient, inline_buttons
from tests.test_operator_imports import operator
from tests.test_readings import APRIL, MARCH, VLADIVOSTOK, at, readings_of
from texts.ru import common
from texts.ru import imports as ti
from texts.ru import readings as t


@pytest.fixture
async def water(session: AsyncSession) -> dict[str, Meter]:
    """Resident 1001's account with a cold (last 100) and a hot (last 200) water meter."""
    resident = await factories.resident(session, reminders=False)
    account = await factories.account(session)
    await factories.link(session, resident, account)
    cold = await factories.meter(session, account, serial="ХВ-0815")
    hot = await factories.meter(session, account, resource="hot_water", serial="ГВ-4711")
    await factories.reading(session, cold, MARCH, "100")
    await factories.reading(session, hot, MARCH, "200")
    await session.commit()
    return {"cold": cold, "hot": hot}


def offered(client: BotClient) -> list[str]:
    return [b.text for b in inline_buttons(client.bot_messages()[-1].reply_markup)]


def photo(file_id: str) -> list[PhotoSize]:
    """A photo as Telegram sends it: several sizes, the largest last."""
    return [
        PhotoSize(file_id=f"{file_id}-small", file_unique_id="s", width=90, height=120),
        PhotoSize(file_id=file_id, file_unique_id="l", width=960, height=1280),
    ]


# --- point 11: the closed window first -----------------------------------------------------------


async def test_outside_the_window_the_bot_says_so_before_asking_which_meter(
    client: BotClient, water: dict[str, Meter], session: AsyncSession
) -> None:
    with at(10):
        await client.send("123,4")  # either meter could take it: inside the window it would ask
    text = client.last_text()
    assert "К какому счётчику" not in text
    assert "Приём показаний с 20 по 25 число; откроется 20 апреля" in text
    assert "ничего не сохранено" in text
    assert offered(client) == [t.BTN_REMIND_WHEN_OPEN, common.BTN_MENU]
    with at(10):
        await client.send("спасибо")  # no question is pending
    assert client.last_text() == common.UNKNOWN
    assert not await readings_of(session, water["cold"], APRIL)


async def run_reminders(
    client: BotClient, session_factory: async_sessionmaker[AsyncSession], settings: Settings, when
) -> list[str]:
    """The scheduled reminders job at `when`; what this resident got from it."""
    with time_machine.travel(when, tick=False):
        work = reminders.send_reminders(client.bot, session_factory, settings, pacer=Pacer(1000, 0))
        return client.texts(await client.during(work))


@pytest.mark.parametrize("reminders_on", [False, True])
async def test_remind_when_open_reminds_once_when_the_window_opens(
    client: BotClient,
    water: dict[str, Meter],
    session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    settings: Settings,
    reminders_on: bool,
) -> None:
    resident = await session.scalar(select(Resident).where(Resident.telegram_id == 1001))
    assert resident is not None
    resident.reminders = reminders_on  # asked with reminders off, or on: one reminder either way
    await session.commit()
    with at(10):
        await client.send("123,4")
        await client.click(t.BTN_REMIND_WHEN_OPEN)
        assert "20 апреля напомню, что открыт приём показаний" in client.last_text()
        await client.send("124")  # asked again: still one request
        await client.click(t.BTN_REMIND_WHEN_OPEN)
    assert await session.scalar(select(func.count()).select_from(ReminderRequest)) == 1

    opening = dt.datetime(2020, 4, 20, 10, tzinfo=VLADIVOSTOK)
    assert (
        await run_reminders(client, session_factory, settings, opening - dt.timedelta(days=1)) == []
    )
    [reminder] = await run_reminders(client, session_factory, settings, opening)
    assert "Открыт приём показаний счётчиков за апрель 2020: с 20 по 25 число" in reminder
    later = opening + dt.timedelta(hours=3)
    assert await run_reminders(client, session_factory, settings, later) == []  # exactly once


async def test_remind_pressed_when_the_window_has_opened_meanwhile(
    client: BotClient, water: dict[str, Meter], session: AsyncSession
) -> None:
    with at(10):
        await client.send("123,4")
    with at(21):
        await client.click(t.BTN_REMIND_WHEN_OPEN)
    assert client.last_text() == t.WINDOW_ALREADY_OPEN
    assert not await session.scalar(select(func.count()).select_from(ReminderRequest))


# --- point 12: the meter without a question ------------------------------------------------------


async def test_a_value_only_one_meter_can_take_is_not_asked_about(
    client: BotClient, water: dict[str, Meter], session: AsyncSession
) -> None:
    with at(21):
        await client.send("103,5")  # below the hot meter's 200: only the cold one can take it
        text = client.last_text()
        assert "К какому счётчику" not in text
        assert "ХВС №…0815" in text and "расход 3,5" in text
        await client.click(t.BTN_SAVE)
    assert [r.value for r in await readings_of(session, water["cold"], APRIL)] == [Decimal("103.5")]
    assert not await readings_of(session, water["hot"], APRIL)


async def test_a_spike_or_an_expired_verification_rules_a_meter_out(
    client: BotClient, session: AsyncSession
) -> None:
    resident = await factories.resident(session)
    account = await factories.account(session)
    await factories.link(session, resident, account)
    steady = await factories.meter(session, account, serial="ХВ-0815")
    spiky = await factories.meter(session, account, serial="ХВ-4711")
    expired = await factories.meter(
        session, account, serial="ХВ-9999", verification_due=dt.date(2020, 1, 1)
    )
    for back in range(7, 0, -1):  # 2 m³ a month each
        period = add_months(APRIL, -back)
        await factories.reading(session, steady, period, 100 + 2 * (7 - back))
        await factories.reading(session, spiky, period, 80 + 2 * (7 - back))
        await factories.reading(session, expired, period, 90 + 2 * (7 - back))
    await session.commit()
    with at(21):
        await client.send("114")  # steady: 2 m³; spiky: 22 m³, a spike; expired: not verified
    text = client.last_text()
    assert "К какому счётчику" not in text
    assert "ХВС №…0815" in text and "расход 2" in text


async def test_several_meters_that_can_take_the_value_are_asked_about(
    client: BotClient, water: dict[str, Meter], session: AsyncSession
) -> None:
    third = await factories.meter(
        session, await session.get(Account, water["cold"].account_id), serial="ХВ-5555"
    )
    await factories.reading(session, third, MARCH, "500")  # cannot take 203
    await session.commit()
    with at(21):
        await client.send("203")  # both the cold (100) and the hot (200) meter can take it
        assert "К какому счётчику относится значение <b>203</b>?" in client.last_text()
        assert offered(client) == ["ХВС №…0815", "ГВС №…4711", t.BTN_CANCEL, common.BTN_MENU]
        await client.click("ГВС")
        await client.click(t.BTN_SAVE)
    assert [r.value for r in await readings_of(session, water["hot"], APRIL)] == [Decimal(203)]


async def test_when_no_meter_can_take_the_value_every_meter_is_offered(
    client: BotClient, water: dict[str, Meter]
) -> None:
    with at(21):
        await client.send("95")  # below both: the resident's choice gets the rule's answer
        assert offered(client) == ["ХВС №…0815", "ГВС №…4711", t.BTN_CANCEL, common.BTN_MENU]
        await client.click("ХВС")
    assert "меньше предыдущих показаний" in client.last_text()


# --- point 13: the photo as evidence -------------------------------------------------------------


async def test_a_photo_captioned_with_the_value_is_kept_with_the_reading(
    client: BotClient, water: dict[str, Meter], session: AsyncSession
) -> None:
    with at(21):
        await client.send_message(photo=photo("meter-photo-1"), caption="ХВС 104")
        assert t.SAVED_PHOTO in client.last_text()
        await client.click(t.BTN_SAVE)
    assert t.SAVED_PHOTO in client.last_text()
    [saved] = await readings_of(session, water["cold"], APRIL)
    assert (saved.value, saved.photo_file_id) == (Decimal(104), "meter-photo-1")


async def test_a_photo_sent_during_the_reading_joins_it(
    client: BotClient, water: dict[str, Meter], session: AsyncSession
) -> None:
    with at(21):
        await client.send("203")  # the bot asks which meter
        await client.send_message(photo=photo("meter-photo-2"))
        assert client.last_text() == t.PHOTO_KEPT
        await client.click("ГВС")
        await client.send("ГВС 204")  # a corrected value keeps the photo
        assert t.SAVED_PHOTO in client.last_text()
        await client.click(t.BTN_SAVE)
    [saved] = await readings_of(session, water["hot"], APRIL)
    assert (saved.value, saved.photo_file_id) == (Decimal(204), "meter-photo-2")


async def test_a_photo_outside_a_reading_is_not_taken_for_one(
    client: BotClient, water: dict[str, Meter], session: AsyncSession
) -> None:
    with at(21):
        await client.send_message(photo=photo("cat"))
        assert client.last_text() == common.UNKNOWN
        await client.send_message(photo=photo("cat"), caption="Мой кот")
        assert client.last_text() == common.UNKNOWN
    assert not await session.scalar(
        select(func.count()).select_from(Reading).where(Reading.photo_file_id.is_not(None))
    )


async def test_operators_find_the_photo_in_the_export_and_open_it(
    client: BotClient, water: dict[str, Meter], dp, bot
) -> None:
    with at(21):
        await client.send_message(photo=photo("meter-photo-3"), caption="ХВС 104")
        await client.click(t.BTN_SAVE)
    op = operator(dp, bot)
    await op.send("/export_readings 04.2020")
    [document] = op.sent("sendDocument")
    [row] = list(
        csv.DictReader(io.StringIO(document.document.data.decode("utf-8-sig")), delimiter=";")
    )
    assert row["Фото"] == "meter-photo-3"

    await op.send(f"/photo {row['Фото']}")
    [sent] = op.sent("sendPhoto")
    assert sent.photo == "meter-photo-3"
    assert sent.caption == f"л/с № {row['Лицевой счет']}, счётчик ХВ-0815, 2020-04: 104"
    await op.send("/photo someone-elses-file")  # not a reading's photo: not sent
    assert op.last_text() == ti.PHOTO_UNKNOWN
    await op.send("/photo")
    assert op.last_text() == ti.PHOTO_USAGE
    assert len(op.sent("sendPhoto")) == 1

    await client.send("/photo meter-photo-3")  # a resident is no operator
    assert not client.sent("sendPhoto")
