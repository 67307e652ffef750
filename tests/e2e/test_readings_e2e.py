"""Readings in the real bot process: a resident sends `123,4`, confirms, and later corrects it.

The process runs on the real clock, so the organization's window (and for reminders its time
zone) is chosen to fit today rather than freezing time in another process.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.fakeapi.server import FakeTelegram
from services.readings.rules import current_period
from storage.models import Reading
from storage.periods import add_months
from tests import factories


async def test_a_resident_sends_a_reading_and_corrects_it(
    fake_tg: FakeTelegram, start_bot, db_url: str, session: AsyncSession
) -> None:
    org = await factories.organization(
        session, readings_day_from=1, readings_day_to=31, timezone="Europe/Moscow"
    )
    resident = await factories.resident(session, telegram_id=1001)
    account = await factories.account(session, org, number="10203040")
    await factories.link(session, resident, account)
    dial = await factories.meter(session, account, serial="ХВ-123456", decimals=3)
    period = current_period("Europe/Moscow")
    await factories.reading(session, dial, add_months(period, -1), "120")
    await session.commit()

    bot = await start_bot(db_url)
    anna = fake_tg.user(1001, first_name="Анна")
    await anna.send("123,4")
    await anna.wait_for("Проверьте, пожалуйста, показания")
    assert "расход 3,4" in (anna.last_text() or "")
    await anna.click("Сохранить")
    await anna.wait_for("сохранены")

    # a restart in between: the correction is a new version of the same period
    assert await bot.stop() == 0
    bot = await start_bot(db_url)
    await anna.send("ХВС 123,9 м3")
    await anna.wait_for("заменит переданные ранее 123,4")
    await anna.click("Сохранить")
    await anna.wait_for("(исправление)")
    assert await bot.stop() == 0
    assert "Traceback" not in bot.stderr_text()
    assert "123,9" not in bot.stderr_text()  # no message text in the logs

    rows = list(
        await session.scalars(
            select(Reading)
            .where(Reading.meter_id == dial.id, Reading.period == period)
            .order_by(Reading.version)
        )
    )
    assert [(r.value, r.version, r.source) for r in rows] == [
        (Decimal("123.4"), 1, "resident"),
        (Decimal("123.9"), 2, "resident"),
    ]
    assert all(r.update_id for r in rows) and rows[0].update_id != rows[1].update_id


def zone_at_noon(now: dt.datetime) -> str:
    """A fixed-offset zone where it is about noon now: the reminder hours, whatever the clock."""
    offset = 12 - now.hour  # UTC+offset; Etc/GMT names have the sign reversed
    if offset > 14:
        offset -= 24
    return f"Etc/GMT{-offset:+d}" if offset else "Etc/GMT"


async def test_the_scheduler_reminds_once_and_a_restart_sends_nothing_again(
    fake_tg: FakeTelegram, start_bot, db_url: str, session: AsyncSession
) -> None:
    zone = zone_at_noon(dt.datetime.now(dt.UTC))
    today = dt.datetime.now(ZoneInfo(zone)).date()
    org = await factories.organization(
        session,
        timezone=zone,
        readings_day_from=today.day,  # the window opens today: the first reminder is due
        readings_day_to=min(today.day + 3, 28) if today.day < 28 else today.day,
    )
    resident = await factories.resident(session, telegram_id=1001)
    account = await factories.account(session, org)
    await factories.link(session, resident, account)
    await factories.meter(session, account)
    await factories.meter(session, account, resource="hot_water")
    await session.commit()
    env = {"SCHEDULER_ENABLED": "true"}

    bot = await start_bot(db_url, env=env)
    anna = fake_tg.user(1001)
    await anna.wait_for("Открыт приём показаний счётчиков", timeout=30)
    assert "по 2 счётчикам" in (anna.last_text() or "")
    assert await bot.stop() == 0

    assert "Traceback" not in bot.stderr_text()  # a stop mid-job is not a failure

    again = await start_bot(db_url, env=env)
    # the restarted process recomputes the day at start-up and finds nobody left to remind (it
    # could not, before issue 12, when the stop had interrupted the release of the job's lease)
    await again.wait_for_log(f"readings reminders (open) of org {org.id}: 0 due", timeout=30)
    assert await again.stop() == 0
    reminders = [t for t in anna.texts() if "Открыт приём показаний" in t]
    assert len(reminders) == 1
