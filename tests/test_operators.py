"""The operators' chat through the real dispatcher: answers, take/close, who may act; /stats and
/announce for administrators."""

from __future__ import annotations

from typing import Any

from aiogram.methods import TelegramMethod
from sqlalchemy import select

from handlers.operators import admin as admin_dialogue
from keyboards.operators import AnnounceHouse, AnnounceOrg, OperatorAppeal
from storage.models import Announcement, AnnouncementDelivery, Resident
from storage.repo import appeals as repo
from tests import factories
from tests.harness import forbidden
from tests.test_appeals import (
    OPS,
    appeals_in_db,
    last,
    members,
    messages_in_db,
    operators_chat,
    post_stub,
    resident_with_account,
    sent_to,
    stored_appeal,
)
from texts.ru import appeals as ta
from texts.ru import common as tc
from texts.ru import operators as t

OPERATOR = 5001
ADMIN = 9000  # settings.admin_ids in tests/conftest.py


async def arrange(session, posted_as: int = 777, **fields):
    person, acc = await resident_with_account(session, **fields)
    appeal = await stored_appeal(session, person, acc, posted_as=posted_as)
    await session.commit()
    return person, acc, appeal


async def test_an_operators_reply_reaches_the_resident_and_is_stored(
    dp, bot, session, session_factory
) -> None:
    person, _acc, appeal = await arrange(session)
    op = operators_chat(dp, bot, OPERATOR)
    op.session.responses["getChatMember"] = members(OPERATOR)

    await op.send("Мастер придёт <завтра> & починит", reply_to_message=post_stub(777))

    [to_resident] = sent_to(op.session, person.chat_id)
    assert (
        ta.OPERATOR_ANSWER.format(
            id=appeal.id, topic="Качество услуг", text="Мастер придёт &lt;завтра&gt; &amp; починит"
        )
        == to_resident.text
    )
    messages = await messages_in_db(session_factory, appeal.id)
    assert [(m.author, m.text) for m in messages] == [
        ("resident", "Течёт кран"),
        ("operator", "Мастер придёт <завтра> & починит"),
    ]
    assert messages[1].operator_id == OPERATOR and messages[1].delivered
    [stored] = await appeals_in_db(session_factory)
    assert stored.status == "answered"
    assert last(op) == t.ANSWER_SENT.format(id=appeal.id)


async def test_a_reply_to_the_residents_later_message_or_an_answer_finds_the_appeal(
    dp, bot, session, session_factory
) -> None:
    person, _acc, appeal = await arrange(session)
    loaded = await repo.get_with_details(session, appeal.id)
    await repo.add_message(
        session, loaded, author="resident", text="дописал", operators_message_id=901
    )
    await session.commit()
    op = operators_chat(dp, bot, OPERATOR)
    op.session.responses["getChatMember"] = members(OPERATOR)
    await op.send("Принято", reply_to_message=post_stub(901))
    assert len(sent_to(op.session, person.chat_id)) == 1
    assert [m.text for m in await messages_in_db(session_factory, appeal.id)][-1] == "Принято"


async def test_reply_command(dp, bot, session, session_factory) -> None:
    person, _acc, appeal = await arrange(session)
    op = operators_chat(dp, bot, OPERATOR)
    op.session.responses["getChatMember"] = members(OPERATOR)
    await op.send(f"/reply {appeal.id} Перерасчёт сделан")
    [to_resident] = sent_to(op.session, person.chat_id)
    assert "Перерасчёт сделан" in to_resident.text and f"№{appeal.id}" in to_resident.text
    await op.send("/reply 99999 текст")
    assert last(op) == t.APPEAL_NOT_FOUND.format(id=99999)
    await op.send("/reply без номера")
    assert last(op) == t.REPLY_USAGE


async def test_a_non_member_in_the_operators_chat_can_do_nothing(
    dp, bot, session, session_factory
) -> None:
    person, _acc, appeal = await arrange(session)
    intruder = operators_chat(dp, bot, 6666, "Чужой")
    intruder.session.responses["getChatMember"] = members(OPERATOR)  # 6666 has left the chat

    await intruder.send("Ваш счёт заблокирован, переведите деньги", reply_to_message=post_stub(777))
    await intruder.send(f"/reply {appeal.id} тоже нет")
    await intruder.callback(
        OperatorAppeal(action="close", appeal_id=appeal.id).pack(), message=post_stub(777)
    )
    assert intruder.alerts() == [t.NOT_AN_OPERATOR]
    assert sent_to(intruder.session, person.chat_id) == []
    assert len(await messages_in_db(session_factory, appeal.id)) == 1
    [stored] = await appeals_in_db(session_factory)
    assert stored.status == "new"


async def test_buttons_only_from_the_operators_chat(
    client, dp, bot, session, session_factory
) -> None:
    """The same callback data sent from a private chat is not the operators' button."""
    _person, _acc, appeal = await arrange(session)
    client.session.responses["getChatMember"] = members(OPERATOR, client.user.id)
    await client.callback(OperatorAppeal(action="close", appeal_id=appeal.id).pack())
    assert client.alerts() == [tc.STALE_BUTTON]
    [stored] = await appeals_in_db(session_factory)
    assert stored.status == "new"


async def test_take_and_close(dp, bot, session, session_factory) -> None:
    person, _acc, appeal = await arrange(session)
    op = operators_chat(dp, bot, OPERATOR)
    op.session.responses["getChatMember"] = members(OPERATOR)

    await op.callback(
        OperatorAppeal(action="take", appeal_id=appeal.id).pack(), message=post_stub(777)
    )
    [stored] = await appeals_in_db(session_factory)
    assert stored.status == "in_work"
    assert op.alerts() == [t.ALERT_TAKEN.format(id=appeal.id)]
    assert ta.TAKEN_IN_WORK.format(id=appeal.id, topic="Качество услуг") in [
        m.text for m in sent_to(op.session, person.chat_id)
    ]
    [edit] = sent_to(op.session, OPS, "editMessageReplyMarkup")
    assert [b.text for row in edit.reply_markup.inline_keyboard for b in row] == [t.BTN_CLOSE]

    await op.callback(
        OperatorAppeal(action="close", appeal_id=appeal.id).pack(), message=post_stub(777)
    )
    [stored] = await appeals_in_db(session_factory)
    assert stored.status == "closed"
    assert sent_to(op.session, OPS, "editMessageReplyMarkup")[-1].reply_markup is None

    await op.send("поздно", reply_to_message=post_stub(777))
    assert last(op) == t.ANSWER_CLOSED.format(id=appeal.id)
    assert len(await messages_in_db(session_factory, appeal.id)) == 1


async def test_a_blocked_resident_the_operator_is_told(dp, bot, session, session_factory) -> None:
    person, _acc, appeal = await arrange(session)
    op = operators_chat(dp, bot, OPERATOR)
    op.session.responses["getChatMember"] = members(OPERATOR)

    def blocked(method: TelegramMethod[Any]) -> Any:
        if method.chat_id == person.chat_id:  # type: ignore[attr-defined]
            return forbidden()
        return op.session.answer(method)

    op.session.responses["sendMessage"] = blocked
    await op.send("Ответ", reply_to_message=post_stub(777))
    assert last(op) == t.ANSWER_BLOCKED.format(id=appeal.id)
    messages = await messages_in_db(session_factory, appeal.id)
    assert (messages[-1].text, messages[-1].delivered) == ("Ответ", False)
    async with session_factory() as s:
        assert (await s.get(Resident, person.id)).unreachable_at is not None
        assert (await s.get(type(appeal), appeal.id)).status == "answered"


async def test_an_anonymized_appeal_answer_is_kept(dp, bot, session, session_factory) -> None:
    from storage.repo import residents

    person, _acc, appeal = await arrange(session)
    await residents.erase(session, await session.get(Resident, person.id))
    await session.commit()
    op = operators_chat(dp, bot, OPERATOR)
    op.session.responses["getChatMember"] = members(OPERATOR)
    await op.send("Ответ", reply_to_message=post_stub(777))
    assert last(op) == t.ANSWER_NO_RESIDENT.format(id=appeal.id)


async def test_nothing_else_answers_in_the_operators_chat(dp, bot, session) -> None:
    await arrange(session)
    op = operators_chat(dp, bot, OPERATOR)
    op.session.responses["getChatMember"] = members(OPERATOR)
    await op.send("123,4")  # would look like a reading elsewhere
    await op.send("/start")
    await op.send("обычный разговор", reply_to_message=post_stub(12345))
    assert op.replies == []


async def test_membership_is_cached_briefly(dp, bot, session) -> None:
    _person, _acc, _appeal = await arrange(session)
    op = operators_chat(dp, bot, OPERATOR)
    op.session.responses["getChatMember"] = members(OPERATOR)
    await op.send("раз", reply_to_message=post_stub(777))
    await op.send("два", reply_to_message=post_stub(777))
    assert len(op.sent("getChatMember")) == 1


async def test_stats_for_admins_only(make_client, session) -> None:
    await arrange(session)
    admin = make_client(ADMIN)
    await admin.send("/stats")
    text = last(admin)
    assert "Зарегистрировано: 1 житель" in text
    assert "Привязано: 1 лицевой счёт" in text
    assert "новые — 1" in text
    resident = make_client(1001)
    await resident.send("/stats")
    assert "Зарегистрировано" not in last(resident)


async def test_announce_dialogue(make_client, session, session_factory) -> None:
    org = await factories.organization(session, name="УК <Уют>")
    first = await factories.account(session, org, address="ул. Мира, д. 1")
    other_house = await factories.account(session, org, address="ул. Мира, д. 2")
    a = await factories.resident(session, telegram_id=2001)
    b = await factories.resident(session, telegram_id=2002)
    await factories.link(session, a, first)
    await factories.link(session, b, other_house)
    await session.commit()

    admin = make_client(ADMIN)
    await admin.send("/announce")
    await admin.click("УК <Уют>")
    await admin.send("нет такого")
    assert last(admin) == t.ANNOUNCE_HOUSE_NOT_FOUND
    await admin.send("Мира, д. 1")  # a search among the organization's houses
    assert last(admin) == t.ANNOUNCE_HOUSES_FOUND.format(n=1)
    await admin.click("ул. Мира, д. 1")
    assert "1 житель" in last(admin)
    await admin.send("/oops")  # a command is not the text; the dialogue waits
    await admin.send("Отключение <воды> 5 мая")
    assert t.ANNOUNCE_CONFIRM.split(":")[0] in last(admin)
    preview = admin.texts()[-2]
    assert "Отключение &lt;воды&gt; 5 мая" in preview and "УК &lt;Уют&gt;" in preview
    await admin.click(t.BTN_ANNOUNCE_SEND)
    await admin_dialogue.announcements_finished()

    delivered = [m for m in admin.session.requests if getattr(m, "chat_id", None) == 2001]
    assert len(delivered) == 1 and "Отключение &lt;воды&gt; 5 мая" in delivered[0].text
    assert not [m for m in admin.session.requests if getattr(m, "chat_id", None) == 2002]
    async with session_factory() as s:
        [item] = list(await s.scalars(select(Announcement)))
        assert item.status == "done" and item.created_by == ADMIN
        rows = list(await s.scalars(select(AnnouncementDelivery)))
        assert [(r.resident_id, r.status) for r in rows] == [(a.id, "sent")]
    report = [m.text for m in admin.session.requests if getattr(m, "chat_id", None) == ADMIN]
    assert t.ANNOUNCE_DONE.format(id=item.id, sent=1, blocked=0, failed=0) == report[-1]


async def test_announce_is_for_admins_only(make_client, session, session_factory) -> None:
    await arrange(session)
    resident = make_client(1001)
    await resident.send("/announce")
    async with session_factory() as s:
        assert list(await s.scalars(select(Announcement))) == []
    assert "Выберите организацию" not in last(resident)


# Ids a client can type or forge that name no row: past PostgreSQL's INTEGER, past SQLite's 64-bit
# integer, and below the first id. They get the ordinary "not found" answers on both databases.
OUT_OF_RANGE_IDS = (3_000_000_000, 2**62, 2**63, -1, 0)


async def test_out_of_range_appeal_ids_are_not_found(dp, bot, session, session_factory) -> None:
    _person, _acc, _appeal = await arrange(session)
    op = operators_chat(dp, bot, OPERATOR)
    op.session.responses["getChatMember"] = members(OPERATOR)
    for appeal_id in OUT_OF_RANGE_IDS:
        await op.send(f"/reply {appeal_id} текст")
        expected = t.REPLY_USAGE if appeal_id < 0 else t.APPEAL_NOT_FOUND.format(id=appeal_id)
        assert last(op) == expected
        await op.callback(f"{OperatorAppeal.__prefix__}:close:{appeal_id}", message=post_stub(777))
        assert op.alerts()[-1] == t.APPEAL_NOT_FOUND.format(id=appeal_id)
    assert tc.ERROR not in op.texts()
    [stored] = await appeals_in_db(session_factory)
    assert stored.status == "new"


async def test_out_of_range_ids_in_the_announce_dialogue_are_stale(
    make_client, session, session_factory
) -> None:
    org = await factories.organization(session, name="УК Уют")
    await factories.account(session, org, address="ул. Мира, д. 1")
    await session.commit()
    admin = make_client(ADMIN)
    await admin.send("/announce")
    for bad in OUT_OF_RANGE_IDS[:-1]:  # 0 is "the whole organization" for a house
        await admin.callback(f"{AnnounceOrg.__prefix__}:{bad}")
        assert admin.alerts()[-1] == tc.STALE_BUTTON
    await admin.click("УК Уют")
    for bad in OUT_OF_RANGE_IDS[:-1]:
        await admin.callback(f"{AnnounceHouse.__prefix__}:{bad}")
        assert admin.alerts()[-1] == tc.STALE_BUTTON
    assert tc.ERROR not in admin.texts()
    async with session_factory() as s:
        assert list(await s.scalars(select(Announcement))) == []
