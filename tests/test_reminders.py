"""Readings reminders: who gets one, once, on which days; 403; the scheduled job."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from aiogram import Bot
from aiogram.methods import SendMessage
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import reminders
from bot.config import Settings
from receipts.pacing import Pacer
from storage.models import Account, Meter, Organization, ReminderDelivery, Resident
from storage.repo import leases
from tests import factories
from tests.harness import NetworkDown, RecordingSession, forbidden

VLADIVOSTOK = dt.timezone(dt.timedelta(hours=10))
APRIL = dt.date(2020, 4, 1)


def at(day: int, hour: int = 10) -> dt.datetime:
    return dt.datetime(2020, 4, day, hour, tzinfo=VLADIVOSTOK)


@pytest.fixture
async def world(session: AsyncSession) -> dict[str, Resident]:
    """The golden account (two meters) linked to several residents of different wishes."""
    account = await factories.golden(session)
    org = await session.get(Organization, account.organization_id)
    people = {
        "owes": await factories.resident(session, telegram_id=2001),
        "no_reminders": await factories.resident(session, telegram_id=2002, reminders=False),
        "blocked_before": await factories.resident(
            session, telegram_id=2003, unreachable_at=dt.datetime(2020, 1, 1)
        ),
        "unregistered": await factories.resident(session, telegram_id=2004, registered=False),
    }
    for person in people.values():
        await factories.link(session, person, account)
    # a resident whose every meter has this period's reading
    done = await factories.resident(session, telegram_id=2005)
    other = await factories.account(session, org)
    await factories.link(session, done, other)
    dial = await factories.meter(session, other)
    await factories.reading(session, dial, APRIL, "10", source="resident")
    people["done"] = done
    # a resident without meters
    bare = await factories.resident(session, telegram_id=2006)
    await factories.link(session, bare, await factories.account(session, org))
    people["no_meters"] = bare
    await session.commit()
    return people


async def run(
    bot: Bot, session_factory: async_sessionmaker[AsyncSession], settings: Settings, when
) -> reminders.Summary:
    with time_machine.travel(when, tick=False):
        return await reminders.send_reminders(bot, session_factory, settings, pacer=Pacer(1000, 0))


def sent_to(bot: Bot) -> list[tuple[int, str]]:
    session: RecordingSession = bot.session  # type: ignore[assignment]
    return [(int(m.chat_id), m.text) for m in session.requests if isinstance(m, SendMessage)]


async def test_first_day_one_message_per_resident_once(
    bot: Bot, session_factory, settings: Settings, world: dict[str, Resident]
) -> None:
    summary = await run(bot, session_factory, settings, at(20))
    assert summary.sent == 1
    [(chat, text)] = sent_to(bot)
    assert chat == 2001  # one message, though the account has two meters
    assert "Открыт приём показаний счётчиков за апрель 2020: с 20 по 25 число" in text
    assert "Ждём показания по 2 счётчикам" in text
    # a restart later the same day sends nothing again
    assert (await run(bot, session_factory, settings, at(20, 15))).sent == 0
    assert len(sent_to(bot)) == 1


async def test_no_reminder_on_other_days_or_at_night(
    bot: Bot, session_factory, settings: Settings, world: dict[str, Resident]
) -> None:
    for moment in (at(19), at(21), at(24), at(26), at(20, 3), at(20, 22)):
        await run(bot, session_factory, settings, moment)
    assert sent_to(bot) == []


async def test_last_day_reminds_those_still_without_readings(
    bot: Bot,
    session_factory,
    settings: Settings,
    session: AsyncSession,
    world: dict[str, Resident],
) -> None:
    await run(bot, session_factory, settings, at(20))
    assert (await run(bot, session_factory, settings, at(25))).sent == 1
    assert "Сегодня последний день приёма показаний за апрель 2020" in sent_to(bot)[-1][1]
    assert (await run(bot, session_factory, settings, at(25, 18))).sent == 0
    kinds = await session.scalars(
        select(ReminderDelivery.kind).where(ReminderDelivery.resident_id == world["owes"].id)
    )
    assert sorted(kinds) == ["close", "open"]


async def test_readings_sent_before_the_last_day_stop_the_second_reminder(
    bot: Bot,
    session_factory,
    settings: Settings,
    session: AsyncSession,
    world: dict[str, Resident],
) -> None:
    account = await session.scalar(select(Account).where(Account.number == "00000000"))
    for dial in await session.scalars(select(Meter).where(Meter.account_id == account.id)):
        await factories.reading(session, dial, APRIL, Decimal(900), source="resident")
    await session.commit()
    assert (await run(bot, session_factory, settings, at(25))).sent == 0


async def test_blocked_resident_is_marked_unreachable(
    bot: Bot,
    session_factory,
    settings: Settings,
    session: AsyncSession,
    world: dict[str, Resident],
) -> None:
    bot.session.fail_with["sendMessage"] = forbidden()  # type: ignore[attr-defined]
    summary = await run(bot, session_factory, settings, at(20))
    assert (summary.sent, summary.blocked) == (0, 1)
    owes = await session.scalar(
        select(Resident)
        .where(Resident.id == world["owes"].id)
        .execution_options(populate_existing=True)
    )
    assert owes.unreachable_at is not None
    # nobody is tried again on the last day: unreachable residents are skipped
    del bot.session.fail_with["sendMessage"]  # type: ignore[attr-defined]
    assert (await run(bot, session_factory, settings, at(25))).sent == 0


async def test_window_of_the_organization_in_its_time_zone(
    bot: Bot, session_factory, settings: Settings, session: AsyncSession
) -> None:
    org = await factories.organization(
        session, timezone="Europe/Moscow", readings_day_from=1, readings_day_to=7
    )
    person = await factories.resident(session, telegram_id=3001)
    account = await factories.account(session, org)
    await factories.link(session, person, account)
    await factories.meter(session, account)
    await session.commit()
    # 1 May 02:00 UTC is 05:00 in Moscow: the window's first day, but too early
    await run(bot, session_factory, settings, dt.datetime(2020, 5, 1, 2, tzinfo=dt.UTC))
    assert sent_to(bot) == []
    await run(bot, session_factory, settings, dt.datetime(2020, 5, 1, 7, tzinfo=dt.UTC))
    assert [chat for chat, _ in sent_to(bot)] == [3001]
    assert "с 1 по 7 число" in sent_to(bot)[0][1]


async def test_the_scheduled_job_reminds_hourly_in_one_process_at_a_time(
    bot: Bot, session_factory, settings: Settings, world: dict[str, Resident]
) -> None:
    """The bot's scheduler runs the reminders every hour at :05; a run sends what is due, and
    while another process holds the job's lease it sends nothing."""
    from bot.scheduler import create_scheduler

    scheduler = create_scheduler(
        settings.model_copy(update={"scheduler_enabled": True}), bot, session_factory
    )
    assert scheduler is not None
    job = scheduler.get_job(reminders.JOB_ID)
    assert job is not None
    quarter_past = at(20).replace(minute=17)
    assert job.trigger.get_next_fire_time(None, quarter_past) == at(20, 11).replace(minute=5)

    async with session_factory() as session, session.begin():
        assert await leases.acquire(session, reminders.LEASE, "another", dt.timedelta(days=1))
    with time_machine.travel(at(20), tick=False):
        assert await job.func() is False
    assert sent_to(bot) == []
    async with session_factory() as session, session.begin():
        await leases.release(session, reminders.LEASE, "another")
    with time_machine.travel(at(20), tick=False):
        assert await job.func() is True
    assert [chat for chat, _ in sent_to(bot)] == [2001]


async def test_a_transient_failure_is_retried_by_the_next_run(
    bot: Bot,
    session_factory,
    settings: Settings,
    session: AsyncSession,
    world: dict[str, Resident],
) -> None:
    bot.session.fail_with["sendMessage"] = NetworkDown()  # type: ignore[attr-defined]
    assert (await run(bot, session_factory, settings, at(20))).failed == 1
    assert not list(await session.scalars(select(ReminderDelivery)))
    del bot.session.fail_with["sendMessage"]  # type: ignore[attr-defined]
    assert (await run(bot, session_factory, settings, at(20, 11))).sent == 1
    statuses = await session.scalars(select(ReminderDelivery.status))
    assert list(statuses) == ["sent"]


async def test_a_claimed_reminder_is_not_sent_again(
    bot: Bot,
    session_factory,
    settings: Settings,
    session: AsyncSession,
    world: dict[str, Resident],
) -> None:
    """A process stopped between the claim and the outcome: the restart does not remind again."""
    session.add(
        ReminderDelivery(resident_id=world["owes"].id, period=APRIL, kind="open", status="sending")
    )
    await session.commit()
    assert (await run(bot, session_factory, settings, at(20))).sent == 0
    assert sent_to(bot) == []
