"""Emergencies and the answer time (issue 16, point 10): «Аварийная ситуация» shows the dispatch
phone at once; the post is marked 🚨 and pinned until taken; every appeal says when the answer
comes (the organization's working days); operators see overdue appeals in /appeals and /stats."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from sqlalchemy import select

from keyboards.appeals import AppealAction, ThreadAction
from keyboards.operators import OperatorAppeal
from services.appeals import add_working_days
from storage.models import Appeal
from storage.repo import appeals as repo
from tests import factories
from tests.harness import bad_request
from tests.test_appeals import (
    OPS,
    appeals_in_db,
    last,
    members,
    operators_chat,
    post_stub,
    sent_to,
)
from texts.ru import appeals as t
from texts.ru import common as tc
from texts.ru import operators as to

OPERATOR = 5001
ADMIN = 9000  # settings.admin_ids in tests/conftest.py
# Friday 4 December 2026, 10:00 in Khabarovsk (the demo organization's zone, UTC+10)
FRIDAY_MORNING = dt.datetime(2026, 12, 4, 0, 0, tzinfo=dt.UTC)


async def resident_of(session, **org_fields):
    person = await factories.resident(session)
    org = await factories.organization(session, **org_fields)
    account = await factories.account(session, org, number="55555555")
    await factories.link(session, person, account)
    await session.commit()
    return person, account


async def write_emergency(client, text: str = "Прорвало трубу в подвале") -> None:
    await client.send(tc.BTN_APPEALS)
    await client.click(t.TOPICS["emergency"])
    await client.send(text)
    await client.click(t.BTN_NO_PHOTOS)
    await client.click(t.BTN_SEND)


@pytest.mark.parametrize(
    ("fields", "shown"),
    [
        ({"emergency_phone": "+7 (4212) 40-50-05"}, "<b>+7 (4212) 40-50-05</b>"),
        ({"emergency_phone": "", "phone": "+7 (4212) 11-11-11"}, "<b>+7 (4212) 11-11-11</b>"),
        ({"emergency_phone": "", "phone": ""}, "угроза жизни — 112"),
    ],
    ids=["dispatch", "office-only", "no-phones"],
)
async def test_choosing_emergency_shows_whom_to_call_before_asking_for_the_text(
    client, session, session_factory, fields, shown
) -> None:
    await resident_of(session, name="УК Восток", **fields)
    await client.send(tc.BTN_APPEALS)
    await client.click(t.TOPICS["emergency"])
    text = last(client)
    assert text.startswith("🚨") and shown in text
    # the phone comes first, then what to write
    assert text.index(shown) < text.index(t.TOPICS["emergency"] + "</b>.\nОпишите")
    assert await appeals_in_db(session_factory) == []  # nothing is stored before the text


async def test_other_topics_go_straight_to_the_text(client, session) -> None:
    await resident_of(session, emergency_phone="+7 (4212) 40-50-05")
    await client.send(tc.BTN_APPEALS)
    await client.click(t.TOPICS["quality"])
    assert "40-50-05" not in last(client) and "🚨" not in last(client)


async def test_an_emergency_is_marked_pinned_until_taken_then_unpinned(
    client, dp, bot, session, session_factory
) -> None:
    await resident_of(session, emergency_phone="+7 (4212) 40-50-05")
    await write_emergency(client)

    [appeal] = await appeals_in_db(session_factory)
    [post] = sent_to(client.session, OPS)
    assert post.text.startswith("🚨🚨🚨 <b>АВАРИЯ</b>")
    post_id = client.session.results[client.session.requests.index(post)].message_id
    [pin] = sent_to(client.session, OPS, "pinChatMessage")
    assert pin.message_id == post_id
    assert appeal.pinned and appeal.operators_message_id == post_id

    op = operators_chat(dp, bot, OPERATOR)
    op.session.responses["getChatMember"] = members(OPERATOR)
    await op.callback(
        OperatorAppeal(action="take", appeal_id=appeal.id).pack(), message=post_stub(post_id)
    )
    [unpin] = sent_to(op.session, OPS, "unpinChatMessage")
    assert unpin.message_id == post_id
    [stored] = await appeals_in_db(session_factory)
    assert (stored.status, stored.pinned) == ("in_work", False)
    await op.callback(
        OperatorAppeal(action="close", appeal_id=appeal.id).pack(), message=post_stub(post_id)
    )
    assert len(sent_to(op.session, OPS, "unpinChatMessage")) == 1  # unpinned once


async def test_an_answer_to_a_new_emergency_unpins_it_too(
    client, dp, bot, session, session_factory
) -> None:
    await resident_of(session)
    await write_emergency(client)
    [appeal] = await appeals_in_db(session_factory)
    op = operators_chat(dp, bot, OPERATOR)
    op.session.responses["getChatMember"] = members(OPERATOR)
    await op.send(
        "Аварийная бригада выехала", reply_to_message=post_stub(appeal.operators_message_id)
    )
    [unpin] = sent_to(op.session, OPS, "unpinChatMessage")
    assert unpin.message_id == appeal.operators_message_id
    [stored] = await appeals_in_db(session_factory)
    assert (stored.status, stored.pinned) == ("answered", False)


async def test_an_emergency_the_resident_closes_is_unpinned(
    client, session, session_factory
) -> None:
    await resident_of(session)
    await write_emergency(client)
    [appeal] = await appeals_in_db(session_factory)
    await client.callback(AppealAction(action=ThreadAction.CLOSE_YES, appeal_id=appeal.id).pack())
    [unpin] = sent_to(client.session, OPS, "unpinChatMessage")
    assert unpin.message_id == appeal.operators_message_id
    [stored] = await appeals_in_db(session_factory)
    assert (stored.status, stored.pinned) == ("closed", False)


async def test_a_refused_pin_leaves_the_post_marked_and_nothing_breaks(
    client, session, session_factory
) -> None:
    await resident_of(session)
    refused = bad_request("not enough rights to manage pinned messages in the chat")
    client.session.responses["pinChatMessage"] = lambda _method: refused
    await write_emergency(client)
    [appeal] = await appeals_in_db(session_factory)
    assert appeal.operators_message_id is not None and not appeal.pinned
    assert t.SENT.format(id=appeal.id, status="новое") in last(client)


async def test_a_quality_appeal_is_not_pinned(client, session, session_factory) -> None:
    await resident_of(session)
    await client.send(tc.BTN_APPEALS)
    await client.click(t.TOPICS["quality"])
    await client.send("Грязно в подъезде")
    await client.click(t.BTN_NO_PHOTOS)
    await client.click(t.BTN_SEND)
    assert sent_to(client.session, OPS, "pinChatMessage") == []
    [post] = sent_to(client.session, OPS)
    assert "АВАРИЯ" not in post.text


# --- when to expect the answer ---------------------------------------------------------------------


def test_working_days_skip_weekends() -> None:
    friday = dt.date(2026, 12, 4)
    assert add_working_days(friday, 1) == dt.date(2026, 12, 7)  # Monday
    assert add_working_days(friday, 2) == dt.date(2026, 12, 8)  # Tuesday
    assert add_working_days(dt.date(2026, 12, 5), 1) == dt.date(2026, 12, 7)  # from a Saturday
    assert add_working_days(dt.date(2026, 12, 1), 5) == dt.date(2026, 12, 8)


@pytest.mark.parametrize(
    ("fields", "moment", "expected_due", "expected_text"),
    [
        ({}, FRIDAY_MORNING, dt.date(2026, 12, 8), "не позже вторника, 8 декабря"),
        (
            {"answer_days": 5},
            # Friday 20:00 UTC is already Saturday 06:00 in Khabarovsk: counted from Saturday
            dt.datetime(2026, 12, 4, 20, 0, tzinfo=dt.UTC),
            dt.date(2026, 12, 11),
            "не позже пятницы, 11 декабря",
        ),
        (
            {"answer_days": 1, "timezone": "Europe/Moscow"},
            dt.datetime(2026, 12, 4, 20, 0, tzinfo=dt.UTC),  # Friday 23:00 in Moscow
            dt.date(2026, 12, 7),
            "не позже понедельника, 7 декабря",
        ),
    ],
    ids=["default-2-days", "5-days-local-saturday", "1-day-moscow"],
)
async def test_every_appeal_says_when_the_answer_comes(
    client, session, session_factory, fields, moment, expected_due, expected_text
) -> None:
    await resident_of(session, **fields)
    with time_machine.travel(moment, tick=False):
        await client.send(tc.BTN_APPEALS)
        await client.click(t.TOPICS["charges"])
        await client.send("Почему выросла сумма?")
        await client.click(t.BTN_NO_PHOTOS)
        await client.click(t.BTN_SEND)
    [appeal] = await appeals_in_db(session_factory)
    assert appeal.answer_due == expected_due
    assert last(client).endswith(f"⏱ Ответ придёт {expected_text}.")
    [post] = sent_to(client.session, OPS)
    assert f"Ответить до: {expected_due:%d.%m.%Y}" in post.text


# --- overdue, for operators ---------------------------------------------------------------------


async def stored(session, person, account, *, topic: str, created: dt.datetime, status: str):
    with time_machine.travel(created, tick=False):
        appeal = await repo.create(
            session, resident_id=person.id, account_id=account.id, topic=topic, text="Текст"
        )
    appeal.answer_due = add_working_days(created.date(), 2)
    appeal.status = status
    await session.flush()
    return appeal


async def test_overdue_appeals_in_appeals_and_stats(dp, bot, make_client, session) -> None:
    person, account = await resident_of(session)
    monday = dt.datetime(2026, 11, 30, 1, 0, tzinfo=dt.UTC)  # due Wednesday 2 December
    late = await stored(
        session, person, account, topic="emergency", created=monday, status="in_work"
    )
    answered = await stored(
        session, person, account, topic="quality", created=monday, status="answered"
    )
    waiting = await stored(
        session, person, account, topic="charges", created=FRIDAY_MORNING, status="new"
    )
    await session.commit()

    op = operators_chat(dp, bot, OPERATOR)
    op.session.responses["getChatMember"] = members(OPERATOR)
    with time_machine.travel(FRIDAY_MORNING + dt.timedelta(hours=1), tick=False):
        await op.send("/appeals")
        listing = last(op)
        admin = make_client(ADMIN)
        await admin.send("/stats")
        stats = last(admin)
    assert to.OPEN_TITLE.format(total=2, overdue=1) in listing
    overdue_part, waiting_part = listing.split(to.OPEN_WAITING)
    assert f"🚨 №{late.id} · Аварийная ситуация · в работе · ответить до 02.12.2026" in overdue_part
    assert f"№{waiting.id} · Начисления · новое · ответить до 08.12.2026" in waiting_part
    assert f"№{answered.id}" not in listing  # answered: not waiting
    assert to.STATS_APPEALS_OVERDUE.format(n=1) in stats

    # on the answer day itself it is not overdue yet
    with time_machine.travel(dt.datetime(2026, 12, 2, 3, 0, tzinfo=dt.UTC), tick=False):
        await op.send("/appeals")
    assert to.OPEN_TITLE.format(total=2, overdue=0) in last(op)


async def test_appeals_command_in_the_operators_chat_is_for_members_only(
    dp, bot, session, session_factory
) -> None:
    await resident_of(session)
    intruder = operators_chat(dp, bot, 6666)
    intruder.session.responses["getChatMember"] = members(OPERATOR)
    await intruder.send("/appeals")
    assert not [m for m in sent_to(intruder.session, OPS) if "Ждут ответа" in (m.text or "")]
    async with session_factory() as s:
        assert list(await s.scalars(select(Appeal))) == []


def rows(out: str) -> list[str]:
    """The table's rows (not its header, nor the note on unposted appeals after it)."""
    return [line for line in out.splitlines()[1:] if line.strip() and "not yet" not in line]


def test_the_cli_lists_overdue_appeals(capsys, monkeypatch, db_url) -> None:
    import asyncio

    from storage.db import create_engine, create_session_factory
    from tests.test_demo import run_cli

    async def arrange() -> tuple[int, int]:
        engine = create_engine(db_url)
        async with create_session_factory(engine)() as session:
            person, account = await resident_of(session)
            monday = dt.datetime(2026, 11, 30, 1, 0, tzinfo=dt.UTC)
            late = await stored(
                session, person, account, topic="quality", created=monday, status="new"
            )
            fresh = await stored(
                session, person, account, topic="other", created=FRIDAY_MORNING, status="new"
            )
            await session.commit()
            ids = (late.id, fresh.id)
        await engine.dispose()
        return ids

    late_id, fresh_id = asyncio.run(arrange())
    with time_machine.travel(FRIDAY_MORNING + dt.timedelta(hours=1), tick=False):
        code, out, _ = run_cli(capsys, monkeypatch, db_url, "appeals")
        assert code == 0
        lines = {line.split()[0]: line for line in rows(out)}
        assert lines[str(late_id)].endswith("OVERDUE")
        assert not lines[str(fresh_id)].endswith("OVERDUE")
        code, out, _ = run_cli(capsys, monkeypatch, db_url, "appeals", "--overdue")
    listed = [line.split()[0] for line in rows(out)]
    assert (code, listed) == (0, [str(late_id)])
