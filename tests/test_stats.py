"""Operators' statistics (repository, Russian rendering, CLI) and the `appeals` listing."""

from __future__ import annotations

import argparse
import datetime as dt
from decimal import Decimal

from bot.cli.operators import run_appeals, run_stats
from services import stats
from storage.models import Meter, Push, Reading, ReceiptDelivery, utcnow
from storage.repo import appeals as appeals_repo
from tests import factories
from texts.ru import operators as t

NOW = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC)
PERIOD = dt.date(2026, 11, 1)


async def arrange(session):
    org = await factories.organization(session, name="УК Север")
    acc1 = await factories.account(session, org)
    acc2 = await factories.account(session, org)
    anna = await factories.resident(session, telegram_id=1001)
    petr = await factories.resident(session, telegram_id=1002, unreachable_at=utcnow())
    await factories.resident(session, telegram_id=1003, registered=False)
    await factories.link(session, anna, acc1)
    await factories.link(session, anna, acc2)
    await factories.link(session, petr, acc1)
    meters = [
        Meter(account_id=acc1.id, code="m1", resource="cold_water"),
        Meter(account_id=acc1.id, code="m2", resource="hot_water"),
        Meter(account_id=acc2.id, code="m3", resource="electricity"),
        Meter(account_id=acc2.id, code="old", resource="gas", archived=True),
    ]
    session.add_all(meters)
    await session.flush()
    session.add_all(
        [
            Reading(meter_id=meters[0].id, period=PERIOD, value=Decimal(10), source="resident"),
            Reading(
                meter_id=meters[0].id,
                period=PERIOD,
                value=Decimal(11),
                source="resident",
                version=2,
            ),
            Reading(meter_id=meters[1].id, period=dt.date(2026, 10, 1), value=Decimal(5)),
            Reading(meter_id=meters[3].id, period=PERIOD, value=Decimal(5), source="resident"),
        ]
    )
    for status in ("new", "new", "in_work", "answered", "closed"):
        appeal = await appeals_repo.create(
            session, resident_id=anna.id, account_id=acc1.id, topic="other", text="x"
        )
        appeal.status = status
    posted = await appeals_repo.get_with_details(session, appeal.id)
    await appeals_repo.mark_posted(session, posted, 55)
    session.add(
        Push(period=dt.date(2026, 10, 1), status="done", started_at=dt.datetime(2026, 11, 2, 9))
    )
    for resident, status in ((anna, "sent"), (petr, "blocked")):
        session.add(
            ReceiptDelivery(
                account_id=acc1.id, period=dt.date(2026, 10, 1), resident_id=resident.id,
                channel="telegram", status=status,
            )
        )  # fmt: skip
    session.add(
        ReceiptDelivery(
            account_id=acc2.id, period=dt.date(2026, 10, 1), resident_id=anna.id,
            channel="telegram", status="sent",
        )
    )  # fmt: skip
    await session.commit()


async def test_figures(session) -> None:
    await arrange(session)
    figures = await stats.collect(session, now=NOW)
    assert (figures.registered, figures.unreachable) == (2, 1)
    assert (figures.linked_accounts, figures.links) == (2, 3)
    [readings] = figures.readings
    assert (readings.period, readings.meters, readings.covered, readings.readings) == (
        PERIOD,
        3,
        1,
        2,
    )  # the archived meter is not counted; a corrected reading is one meter covered
    assert figures.appeals == {"new": 2, "in_work": 1, "answered": 1, "closed": 1}
    assert figures.unposted_appeals == 4  # the posted one and closed ones need no post
    assert figures.last_push.deliveries == {"sent": 2, "blocked": 1}


async def test_rendered_in_russian_with_plurals(session) -> None:
    await arrange(session)
    text = t.stats(await stats.collect(session, now=NOW))
    assert "Зарегистрировано: 2 жителя, из них недоступны (заблокировали бота): 1" in text
    assert "Привязано: 2 лицевых счёта; привязок всего: 3" in text
    assert "Показания за ноябрь 2026 — УК Север: 1 из 3 счётчиков (33,3\u00a0%)" in text
    assert "жители передали 2 показания" in text
    assert "новые — 2, в работе — 1, есть ответ — 1, закрыты — 1" in text
    assert "Не доставлены в чат операторов: 4" in text
    assert "Последняя рассылка квитанций: октябрь 2026" in text
    assert "Отправлено: 2, не доставлено: 0, заблокировали бота: 1" in text


def test_plurals() -> None:
    assert [t.residents(n) for n in (1, 2, 5, 11, 21)] == [
        "1 житель", "2 жителя", "5 жителей", "11 жителей", "21 житель",
    ]  # fmt: skip
    assert t.accounts(1) == "1 лицевой счёт" and t.meters(3) == "3 счётчика"
    assert [t.of_meters(n) for n in (1, 3, 21)] == ["1 счётчика", "3 счётчиков", "21 счётчика"]


async def test_empty_database(session) -> None:
    text = t.stats(await stats.collect(session, now=NOW))
    assert t.STATS_PUSH_NONE in text and t.STATS_READINGS_NONE in text


async def test_cli_stats_and_appeals(session, settings, capsys) -> None:
    await arrange(session)
    assert await run_stats(argparse.Namespace(), settings) == 0
    assert "Зарегистрировано: 2 жителя" in capsys.readouterr().out

    assert (
        await run_appeals(argparse.Namespace(status=None, unposted=False, limit=50), settings) == 0
    )
    out = capsys.readouterr().out
    lines = [
        line for line in out.splitlines() if line.strip()[:1].isdigit() and line.startswith(" ")
    ]
    assert len(lines) == 5
    assert sum("UNPOSTED (0 attempts)" in line for line in lines) == 4
    assert "4 not yet in the operators' chat" in out

    args = argparse.Namespace(status=None, unposted=True, limit=50)
    assert await run_appeals(args, settings) == 0
    out = capsys.readouterr().out
    assert "posted " not in out.replace("UNPOSTED", "")
    assert (
        await run_appeals(argparse.Namespace(status="in_work", unposted=False, limit=50), settings)
        == 0
    )
    out = capsys.readouterr().out
    assert "в работе" in out and "новое" not in out
