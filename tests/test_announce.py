"""Announcements: who gets them, once each, paced, 429 and 403, resumable; the CLI."""

from __future__ import annotations

import argparse
from typing import Any

import pytest
from aiogram.methods import TelegramMethod
from sqlalchemy import func, select

from bot.cli import CommandError
from bot.cli.operators import run_announce
from receipts import announce
from receipts.pacing import Pacer
from services import announcements
from storage.models import (
    Account,
    Announcement,
    AnnouncementDelivery,
    Apartment,
    House,
    Resident,
)
from tests import factories
from tests.harness import forbidden, too_many_requests
from tests.test_cli import run_cli


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def pacer(clock: FakeClock, rate: float = 25, per_chat: float = 1.0) -> Pacer:
    return Pacer(rate, per_chat, clock=clock, sleep=clock.sleep)


async def neighbour(session, acc: Account) -> Account:
    """Another account in the same house."""
    first = await session.get(Apartment, acc.apartment_id)
    apartment = Apartment(house_id=first.house_id, number="6", sort_key=6)
    session.add(apartment)
    await session.flush()
    other = Account(
        organization_id=acc.organization_id, apartment_id=apartment.id, number=acc.number + "6"
    )
    session.add(other)
    await session.flush()
    return other


async def town(session):
    """Two houses of one organization, a third house elsewhere; residents in each."""
    org = await factories.organization(session, name="УК Север")
    house1 = await factories.account(session, org, address="ул. Мира, д. 1")
    house1b = await neighbour(session, house1)
    house2 = await factories.account(session, org, address="ул. Мира, д. 2")
    elsewhere = await factories.account(session, address="ул. Юга, д. 9")
    people = {}
    for tg, acc in ((3001, house1), (3002, house1b), (3003, house2), (3004, elsewhere)):
        people[tg] = await factories.resident(session, telegram_id=tg)
        await factories.link(session, people[tg], acc)
    # one resident with two accounts in house 1 gets it once
    await factories.link(session, people[3001], house1b)
    unregistered = await factories.resident(session, telegram_id=3005, registered=False)
    await factories.link(session, unregistered, house1)
    await session.commit()
    return org, house1, people


def sent_chats(bot) -> list[int]:
    return [m.chat_id for m in bot.session.requests if m.__api_method__ == "sendMessage"]


async def deliveries(session_factory, announcement_id: int) -> dict[int, str]:
    async with session_factory() as s:
        rows = await s.scalars(
            select(AnnouncementDelivery).where(
                AnnouncementDelivery.announcement_id == announcement_id
            )
        )
        return {row.resident_id: row.status for row in rows}


async def test_a_house_announcement_reaches_its_registered_residents_once(
    bot, session, session_factory, settings
) -> None:
    _org, house1, _people = await town(session)
    apartment = await session.get(Apartment, house1.apartment_id)
    item = await announcements.create(
        session, announcements.Scope(house_id=apartment.house_id), "Воды не будет <12:00>"
    )
    await session.commit()
    clock = FakeClock()
    result = await announce.run(bot, session_factory, settings, item.id, pacer=pacer(clock))
    assert sorted(sent_chats(bot)) == [3001, 3002]
    assert (result.total, result.sent, result.blocked, result.failed) == (2, 2, 0, 0)
    [first, *_] = [m for m in bot.session.requests if m.__api_method__ == "sendMessage"]
    assert "Воды не будет &lt;12:00&gt;" in first.text and "УК Север" in first.text

    # Run again (a resume): nobody gets it twice.
    again = await announce.run(bot, session_factory, settings, item.id, pacer=pacer(clock))
    assert sorted(sent_chats(bot)) == [3001, 3002]
    assert again.sent == 2


async def test_an_organization_announcement(bot, session, session_factory, settings) -> None:
    org, _house1, _people = await town(session)
    item = await announcements.create(
        session, announcements.Scope(organization_id=org.id), "Общее собрание"
    )
    await session.commit()
    assert (
        await announcements.count_recipients(session, announcements.Scope(organization_id=org.id))
        == 3
    )
    await announce.run(bot, session_factory, settings, item.id, pacer=pacer(FakeClock()))
    assert sorted(sent_chats(bot)) == [3001, 3002, 3003]


async def test_paced_and_429_honoured_and_403_marked(
    bot, session, session_factory, settings
) -> None:
    org, _house1, people = await town(session)
    item = await announcements.create(session, announcements.Scope(organization_id=org.id), "Текст")
    await session.commit()
    flooded = {"once": True}

    def telegram(method: TelegramMethod[Any]) -> Any:
        if method.chat_id == 3002 and flooded["once"]:  # type: ignore[attr-defined]
            flooded["once"] = False
            return too_many_requests(retry_after=7)
        if method.chat_id == 3003:  # type: ignore[attr-defined]
            return forbidden()
        return bot.session.answer(method)

    bot.session.responses["sendMessage"] = telegram
    clock = FakeClock()
    result = await announce.run(
        bot, session_factory, settings, item.id, pacer=pacer(clock, rate=2, per_chat=1)
    )
    assert (result.sent, result.blocked, result.failed) == (2, 1, 0)
    assert sent_chats(bot).count(3002) == 2  # retried after the 429
    assert 7 in [round(s) for s in clock.sleeps]  # retry_after honoured
    assert clock.now >= 7 + 1.0  # and the overall pace (2 a second) kept
    states = await deliveries(session_factory, item.id)
    assert states == {people[3001].id: "sent", people[3002].id: "sent", people[3003].id: "blocked"}
    async with session_factory() as s:
        assert (await s.get(Resident, people[3003].id)).unreachable_at is not None
    # the unreachable resident is not tried again by a later announcement
    assert (
        await announcements.count_recipients(session, announcements.Scope(organization_id=org.id))
        == 2
    )


async def test_an_interrupted_run_resumes_where_it_stopped(
    bot, session, session_factory, settings
) -> None:
    org, _house1, _people = await town(session)
    item = await announcements.create(session, announcements.Scope(organization_id=org.id), "Текст")
    await session.commit()
    calls = {"n": 0}

    def crash_on_second(method: TelegramMethod[Any]) -> Any:
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt  # the process stops mid-run
        return bot.session.answer(method)

    bot.session.responses["sendMessage"] = crash_on_second
    with pytest.raises(KeyboardInterrupt):
        await announce.run(bot, session_factory, settings, item.id, pacer=pacer(FakeClock()))
    assert len(await deliveries(session_factory, item.id)) == 1
    del bot.session.responses["sendMessage"]
    resumed = await announce.resume_unfinished(bot, session_factory, settings)
    assert resumed == 1
    chats = sent_chats(bot)
    assert sorted(set(chats)) == [3001, 3002, 3003]
    assert len(chats) == 4  # the one that crashed mid-send is tried again, nobody else twice
    assert len(await deliveries(session_factory, item.id)) == 3


async def test_cli_refuses_bad_input(settings, session) -> None:
    await town(session)
    args = argparse.Namespace(org="nope", house=None, resume=None, text="Текст", dry_run=False)
    with pytest.raises(CommandError, match="нет организации с номером или кодом «nope»"):
        await run_announce(args, settings)
    args = argparse.Namespace(org=None, house="nope", resume=None, text="Текст", dry_run=False)
    with pytest.raises(CommandError, match="нет дома с кодом «nope»"):
        await run_announce(args, settings)
    args = argparse.Namespace(org="1", house=None, resume=None, text="  ", dry_run=False)
    with pytest.raises(CommandError, match="текст объявления пуст"):
        await run_announce(args, settings)


async def test_cli_dry_run_by_house_code_shows_who_and_what_and_sends_nothing(
    session, db_url
) -> None:
    _org, house1, _people = await town(session)
    apartment = await session.get(Apartment, house1.apartment_id)
    house = await session.get(House, apartment.house_id)
    # the same code in another organization: --house alone is ambiguous then
    await factories.account(session, address="ул. Юга, д. 1")
    other = (await session.scalars(select(House).order_by(House.id.desc()).limit(1))).one()
    other.code = house.code
    await session.commit()
    env = {"DATABASE_URL": db_url}  # no BOT_TOKEN: a dry run needs none

    ambiguous = run_cli("announce", "--house", house.code, "--dry-run", "Текст", env=env)
    assert ambiguous.returncode != 0
    assert "есть у нескольких организаций: укажите --org" in ambiguous.stderr

    result = run_cli(
        "announce", "--org", str(house.organization_id),
        "--house", house.code, "--dry-run", "Воды не будет <до 12:00> & всё", env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert f"Получатели: 2 жителя; дом «{house.code}», ул. Мира, д. 1 (УК Север)." in result.stdout
    assert "📢 Объявление — УК Север\n\nВоды не будет <до 12:00> & всё" in result.stdout
    assert "Ничего не отправлено (--dry-run)." in result.stdout
    assert await session.scalar(select(func.count()).select_from(Announcement)) == 0
