"""Residents' appeals through the real dispatcher: write, list, thread, add, close; forgeries."""

from __future__ import annotations

import datetime as dt
from typing import Any

import time_machine
from aiogram.methods import SendMessage, TelegramMethod
from aiogram.types import (
    Chat,
    ChatMemberLeft,
    ChatMemberMember,
    Message,
    PhotoSize,
    Sticker,
    User,
)
from sqlalchemy import select

from handlers.appeals.albums import albums
from handlers.posting import TelegramOperatorsChat
from keyboards.appeals import AppealAction, AppealView
from keyboards.callbacks import AppealsHistory, NewAppeal
from services import appeals as service
from storage.models import Appeal, AppealMessage, utcnow
from storage.repo import appeals as repo
from tests import factories
from tests.harness import BOT_USER, BotClient, RecordingSession, bad_request, inline_buttons
from texts.ru import appeals as t
from texts.ru import common as tc

OPS = -100500  # settings.operators_chat_id in tests/conftest.py
HTML_TEXT = "<b>Батарея</b> & холодно <script>x</script>"
HTML_ESCAPED = "&lt;b&gt;Батарея&lt;/b&gt; &amp; холодно &lt;script&gt;x&lt;/script&gt;"


# --- helpers shared by the operators' tests ----------------------------------------------------


def members(*user_ids: int):
    """A getChatMember responder: these users are members of the operators' chat, nobody else."""

    def respond(method: TelegramMethod[Any]) -> Any:
        user = User(id=method.user_id, is_bot=False, first_name="Оператор")  # type: ignore[attr-defined]
        if method.user_id in user_ids:  # type: ignore[attr-defined]
            return ChatMemberMember(user=user)
        return ChatMemberLeft(user=user)

    return respond


def operators_chat(dp, bot, user_id: int = 5001, first_name: str = "Ольга") -> BotClient:
    """A user writing in the operators' group."""
    client = BotClient(dp, bot, user_id=user_id, first_name=first_name, chat_id=OPS)
    client.chat = Chat(id=OPS, type="supergroup", title="Операторы")
    return client


def post_stub(message_id: int) -> Message:
    return Message(
        message_id=message_id,
        date=dt.datetime.now(dt.UTC),
        chat=Chat(id=OPS, type="supergroup", title="Операторы"),
        from_user=BOT_USER,
        text="Обращение",
    )


def sent_to(session: RecordingSession, chat_id: int, api: str = "sendMessage") -> list[Any]:
    return [
        m
        for m in session.requests
        if m.__api_method__ == api and getattr(m, "chat_id", None) in (chat_id, str(chat_id))
    ]


def last(client: BotClient) -> str:
    """The newest text the bot sent or edited in this client's chat (not the operators' chat)."""
    for method in reversed(client.replies):
        if getattr(method, "chat_id", None) in (client.chat.id, str(client.chat.id)):
            text = getattr(method, "text", None) or getattr(method, "caption", None)
            if text:
                return text
    raise AssertionError("the bot said nothing in this chat")


def photo(file_id: str) -> list[PhotoSize]:
    return [
        PhotoSize(file_id=f"{file_id}-small", file_unique_id=f"{file_id}s", width=90, height=90),
        PhotoSize(file_id=file_id, file_unique_id=file_id, width=1280, height=960),
    ]


async def resident_with_account(session, telegram_id: int = 1001, **account_fields):
    person = await factories.resident(session, telegram_id=telegram_id)
    acc = await factories.account(session, **account_fields)
    await factories.link(session, person, acc)
    return person, acc


async def stored_appeal(
    session, person, acc, *, text: str = "Течёт кран", posted_as: int | None = 777
):
    appeal = await repo.create(
        session, resident_id=person.id, account_id=acc.id, topic="quality", text=text
    )
    if posted_as is not None:
        loaded = await repo.get_with_details(session, appeal.id)
        await repo.mark_posted(session, loaded, posted_as)
    return appeal


async def appeals_in_db(session_factory) -> list[Appeal]:
    async with session_factory() as s:
        rows = await s.scalars(select(Appeal).order_by(Appeal.id))
        return list(rows)


async def messages_in_db(session_factory, appeal_id: int) -> list[AppealMessage]:
    async with session_factory() as s:
        rows = await s.scalars(
            select(AppealMessage)
            .where(AppealMessage.appeal_id == appeal_id)
            .order_by(AppealMessage.id)
        )
        return list(rows)


# --- writing an appeal ----------------------------------------------------------------------------


async def test_an_appeal_with_photos_is_stored_posted_and_numbered(
    client, session, session_factory, bot
) -> None:
    person, _acc = await resident_with_account(
        session,
        number="12345678",
        holder_name="Сидорова <Анна>",
        address="г. Хабаровск, ул. Ленина, д. 1",
    )
    await session.commit()

    await client.send(tc.BTN_APPEALS)
    assert t.CHOOSE_TOPIC.format(number="12345678") in last(client)
    await client.click(t.TOPICS["quality"])
    assert "Качество услуг" in last(client)
    await client.send(HTML_TEXT)
    await client.send_message(photo=photo("photo-1"))
    await client.send_message(photo=photo("photo-2"))
    assert last(client) == t.PHOTO_ADDED.format(n=2, limit=10)
    await client.click(t.BTN_PHOTOS_DONE)
    assert HTML_ESCAPED in last(client)  # the confirmation shows the text as text
    await client.click(t.BTN_SEND)

    [appeal] = await appeals_in_db(session_factory)
    assert (appeal.topic, appeal.status, appeal.resident_id) == ("quality", "new", person.id)
    [message] = await messages_in_db(session_factory, appeal.id)
    assert message.text == HTML_TEXT  # stored exactly as sent
    assert message.photo_file_ids == ["photo-1", "photo-2"]  # the largest size of each
    assert t.SENT.format(id=appeal.id, status="новое") in last(client)

    [post] = sent_to(client.session, OPS)
    assert f"Обращение №{appeal.id}" in post.text
    for detail in (
        "12345678",
        "г. Хабаровск, ул. Ленина, д. 1, кв. 5",
        "Сидорова &lt;Анна&gt;",
        "+79990000001",
        HTML_ESCAPED,
    ):
        assert detail in post.text
    assert "<script>" not in post.text
    assert [b.text for row in post.reply_markup.inline_keyboard for b in row] == [
        "Взять в работу",
        "Закрыть",
    ]
    [album] = sent_to(client.session, OPS, "sendMediaGroup")
    assert [item.media for item in album.media] == ["photo-1", "photo-2"]
    post_id = client.session.results[client.session.requests.index(post)].message_id
    assert album.reply_parameters.message_id == post_id
    assert appeal.operators_message_id == post_id and appeal.posted_at is not None
    assert message.operators_message_id == post_id  # a reply to the post finds the thread


async def test_one_photo_goes_as_a_photo(client, session, session_factory) -> None:
    await resident_with_account(session)
    await session.commit()
    await client.send("/appeals")
    await client.click(t.TOPICS["emergency"])
    await client.send_message(photo=photo("leak"), caption="Затопило подвал")
    await client.click(t.BTN_PHOTOS_DONE)
    await client.click(t.BTN_SEND)
    [appeal] = await appeals_in_db(session_factory)
    [message] = await messages_in_db(session_factory, appeal.id)
    assert (message.text, message.photo_file_ids) == ("Затопило подвал", ["leak"])
    [sent_photo] = sent_to(client.session, OPS, "sendPhoto")
    assert sent_photo.photo == "leak"


async def test_at_most_ten_photos(client, session, session_factory) -> None:
    await resident_with_account(session)
    await session.commit()
    await client.send("/appeals")
    await client.click(t.TOPICS["other"])
    await client.send("Вопрос")
    for i in range(11):
        await client.send_message(photo=photo(f"p{i}"))
    assert last(client) == t.PHOTOS_FULL.format(limit=10)
    await client.click(t.BTN_PHOTOS_DONE)
    await client.click(t.BTN_SEND)
    [appeal] = await appeals_in_db(session_factory)
    [message] = await messages_in_db(session_factory, appeal.id)
    assert message.photo_file_ids == [f"p{i}" for i in range(10)]


async def test_without_photos_and_with_several_accounts(client, session, session_factory) -> None:
    person, _first = await resident_with_account(session, number="11111111")
    second = await factories.account(session, number="22222222")
    await factories.link(session, person, second)
    await session.commit()

    await client.send(tc.BTN_APPEALS)
    assert last(client) == t.CHOOSE_ACCOUNT
    await client.click("22222222")
    await client.click(t.TOPICS["charges"])
    await client.send("Неверный перерасчёт")
    await client.click(t.BTN_NO_PHOTOS)
    await client.click(t.BTN_SEND)
    [appeal] = await appeals_in_db(session_factory)
    assert (appeal.account_id, appeal.topic) == (second.id, "charges")


async def test_the_cards_button_starts_an_appeal_about_that_account(
    client, session, session_factory
) -> None:
    _person, acc = await resident_with_account(session, number="33333333")
    await session.commit()
    await client.callback(NewAppeal(account_id=acc.id).pack())
    assert t.CHOOSE_TOPIC.format(number="33333333") in last(client)


async def test_forged_account_in_new_appeal_is_refused(client, session, session_factory) -> None:
    await resident_with_account(session)
    stranger = await factories.account(session, number="99999999")
    await session.commit()
    await client.callback(NewAppeal(account_id=stranger.id).pack())
    assert client.alerts() == [tc.ACCOUNT_NOT_AVAILABLE]
    await client.callback(AppealsHistory(account_id=stranger.id).pack())
    assert client.alerts()[-1] == tc.ACCOUNT_NOT_AVAILABLE
    assert await appeals_in_db(session_factory) == []


async def test_every_step_has_a_hint_and_cancel_works(client, session, session_factory) -> None:
    await resident_with_account(session)
    await session.commit()
    await client.send(tc.BTN_APPEALS)
    await client.send("просто текст")
    assert last(client) == t.HINT_TOPIC
    await client.click(t.TOPICS["readings"])
    await client.send_message(
        sticker=Sticker(
            file_id="s", file_unique_id="s", type="regular", width=1, height=1,
            is_animated=False, is_video=False,
        )
    )  # fmt: skip
    assert last(client) == t.HINT_TEXT
    await client.send("/nonsense")
    assert last(client) == t.HINT_TEXT  # a command is not the appeal's text
    await client.send("х" * (service.MAX_TEXT + 1))
    assert last(client) == t.TEXT_TOO_LONG.format(
        length=service.MAX_TEXT + 1, limit=service.MAX_TEXT
    )
    await client.send("Показания не приняты")
    await client.send("ещё текст")
    assert last(client) == t.HINT_PHOTOS
    await client.click(t.BTN_NO_PHOTOS)
    await client.send("ну что там")
    assert last(client) == t.HINT_CONFIRM
    await client.send("/cancel")
    assert last(client) == tc.CANCELLED
    assert await appeals_in_db(session_factory) == []
    await client.click(t.BTN_SEND)  # the old confirmation's button is stale now
    assert client.alerts()[-1] == tc.STALE_BUTTON
    assert await appeals_in_db(session_factory) == []


async def test_cancel_button(client, session, session_factory) -> None:
    await resident_with_account(session)
    await session.commit()
    await client.send(tc.BTN_APPEALS)
    await client.click(t.TOPICS["readings"])
    await client.click(t.BTN_CANCEL)
    assert last(client) == t.NOT_SENT
    await client.send("123")
    assert last(client) != t.HINT_TEXT


async def test_a_failed_post_is_stored_unposted_and_retried(
    client, session, session_factory, bot
) -> None:
    await resident_with_account(session)
    await session.commit()

    def operators_chat_down(method: TelegramMethod[Any]) -> Any:
        if method.chat_id == OPS:  # type: ignore[attr-defined]
            return bad_request("chat not found")
        return client.session.answer(method)

    client.session.responses["sendMessage"] = operators_chat_down
    await client.send("/appeals")
    await client.click(t.TOPICS["other"])
    await client.send("Не пришла квитанция")
    await client.click(t.BTN_NO_PHOTOS)
    await client.click(t.BTN_SEND)
    [appeal] = await appeals_in_db(session_factory)
    assert t.SENT.format(id=appeal.id, status="новое") in last(client)  # not lost
    assert (appeal.operators_message_id, appeal.post_attempts) == (None, 1)

    # The sweep waits for the backoff, then posts it.
    operators = TelegramOperatorsChat(bot, OPS)
    assert await service.retry_unposted(session_factory, operators) == 0
    del client.session.responses["sendMessage"]
    with time_machine.travel(utcnow().replace(tzinfo=dt.UTC) + dt.timedelta(minutes=5), tick=False):
        assert await service.retry_unposted(session_factory, operators) == 1
        assert await service.retry_unposted(session_factory, operators) == 0  # once
    [appeal] = await appeals_in_db(session_factory)
    assert appeal.operators_message_id is not None
    [post] = [m for m in sent_to(client.session, OPS) if isinstance(m, SendMessage)][-1:]
    assert "Не пришла квитанция" in post.text


# --- the list, the thread, adding, closing ----------------------------------------------------------


async def test_list_and_thread_show_both_sides_escaped(client, session, session_factory) -> None:
    person, acc = await resident_with_account(session, number="44444444")
    appeal = await stored_appeal(session, person, acc, text=HTML_TEXT)
    loaded = await repo.get_with_details(session, appeal.id)
    await repo.add_message(
        session, loaded, author="operator", text="Мастер придёт <завтра>", operator_id=5001
    )
    await repo.set_status(session, loaded, "answered")
    await session.commit()

    await client.callback(AppealsHistory(account_id=0, page=0).pack())
    assert "Ваши обращения" in last(client)
    await client.click(f"№{appeal.id}")
    thread = last(client)
    assert f"Обращение №{appeal.id}" in thread and "есть ответ" in thread and "44444444" in thread
    assert HTML_ESCAPED in thread and "Мастер придёт &lt;завтра&gt;" in thread
    assert thread.index("<b>Вы</b>") < thread.index("<b>Оператор</b>")


async def test_long_threads_are_paged(client, session) -> None:
    person, acc = await resident_with_account(session)
    appeal = await stored_appeal(session, person, acc, text="первое " + "а" * 3000)
    loaded = await repo.get_with_details(session, appeal.id)
    for i in range(3):
        await repo.add_message(
            session, loaded, author="resident", text=f"сообщение {i} " + "б" * 2000
        )
    await session.commit()
    await client.callback(AppealView(appeal_id=appeal.id).pack())
    assert "сообщение 2" in last(client) and "первое" not in last(client)
    assert len(last(client)) < 4096
    for _ in range(3):
        await client.click(t.BTN_OLDER)
    assert "первое" in last(client)


async def test_another_residents_appeal_cannot_be_seen_or_touched(
    client, make_client, session, session_factory
) -> None:
    await resident_with_account(session)
    other, other_acc = await resident_with_account(session, telegram_id=1002)
    theirs = await stored_appeal(session, other, other_acc, text="чужое")
    await session.commit()

    for data in (
        AppealView(appeal_id=theirs.id).pack(),
        AppealAction(action="close_yes", appeal_id=theirs.id).pack(),
        AppealAction(action="add", appeal_id=theirs.id).pack(),
    ):
        await client.callback(data)
        assert client.alerts()[-1] == t.APPEAL_NOT_AVAILABLE
    assert not any("чужое" in text for text in client.texts())
    [appeal] = await appeals_in_db(session_factory)
    assert appeal.status == "new"
    assert len(await messages_in_db(session_factory, theirs.id)) == 1

    # Nor once the resident who wrote it unlinked the account: the appeal was about that account.
    stranger = make_client(1002)
    async with session_factory() as s:
        from storage.models import AccountLink

        await s.execute(AccountLink.__table__.delete().where(AccountLink.resident_id == other.id))
        await s.commit()
    await stranger.callback(AppealView(appeal_id=theirs.id).pack())
    assert stranger.alerts()[-1] == t.APPEAL_NOT_AVAILABLE


async def test_a_message_added_goes_to_the_operators_as_a_reply(
    client, session, session_factory
) -> None:
    person, acc = await resident_with_account(session)
    appeal = await stored_appeal(session, person, acc, posted_as=777)
    loaded = await repo.get_with_details(session, appeal.id)
    await repo.set_status(session, loaded, "answered")
    await session.commit()

    await client.callback(AppealView(appeal_id=appeal.id).pack())
    await client.click(t.BTN_ADD_MESSAGE)
    await client.send("/whatever")
    assert last(client) == t.HINT_REPLY.format(id=appeal.id)
    await client.send("Кран всё ещё <течёт>")
    assert last(client) == t.MESSAGE_ADDED.format(id=appeal.id)

    messages = await messages_in_db(session_factory, appeal.id)
    assert [m.text for m in messages] == ["Течёт кран", "Кран всё ещё <течёт>"]
    [post] = sent_to(client.session, OPS)
    assert post.reply_parameters.message_id == 777
    assert "Кран всё ещё &lt;течёт&gt;" in post.text
    assert messages[1].operators_message_id is not None  # an operator's reply to it is found
    [appeal] = await appeals_in_db(session_factory)
    assert appeal.status == "in_work"


async def test_closing_an_appeal(client, session, session_factory) -> None:
    person, acc = await resident_with_account(session)
    appeal = await stored_appeal(session, person, acc, posted_as=778)
    await session.commit()
    await client.callback(AppealView(appeal_id=appeal.id).pack())
    await client.click(t.BTN_CLOSE)
    assert last(client) == t.CLOSE_CONFIRM.format(id=appeal.id)
    await client.click(t.BTN_CLOSE_YES)
    assert t.CLOSED.format(id=appeal.id) in last(client)
    [appeal] = await appeals_in_db(session_factory)
    assert appeal.status == "closed"
    [edit] = sent_to(client.session, OPS, "editMessageReplyMarkup")
    assert edit.message_id == 778 and edit.reply_markup is None
    await client.callback(AppealAction(action="add", appeal_id=appeal.id).pack())
    assert client.alerts()[-1] == t.ALREADY_CLOSED


async def test_list_pages_and_the_empty_list(client, session) -> None:
    person, acc = await resident_with_account(session)
    await session.commit()
    await client.callback(AppealsHistory(account_id=acc.id).pack())
    assert last(client) == t.NO_APPEALS
    for i in range(7):
        await stored_appeal(session, person, acc, text=f"№{i}")
    await session.commit()
    await client.callback(AppealsHistory(account_id=0).pack())
    assert "страница 1 из 2" in last(client)
    await client.click(t.BTN_OLDER)  # newest first: ◀ leads to the earlier appeals
    assert "страница 2 из 2" in last(client)
    await client.click(t.BTN_NEWER)
    assert "страница 1 из 2" in last(client)
    await client.callback(AppealsHistory(account_id=0, page=99).pack())  # forged page: clamped
    assert "страница 2 из 2" in last(client)


async def test_an_unregistered_user_gets_nothing(client, session, session_factory) -> None:
    await client.send(tc.BTN_APPEALS)
    assert last(client) == tc.NOT_REGISTERED


async def test_anonymized_appeals_are_shown_to_operators(session) -> None:
    """Deleting a registration keeps the appeal without its author: the post copes."""
    from handlers.posting import render_post
    from storage.repo import residents

    person, acc = await resident_with_account(session)
    appeal = await stored_appeal(session, person, acc)
    await residents.erase(session, person)
    await session.commit()
    loaded = await repo.get_with_details(session, appeal.id)
    assert loaded.resident_id is None
    assert "удалил регистрацию" in render_post(loaded)


async def test_an_album_is_kept_whole_and_answered_once(client, session, session_factory) -> None:
    """An album's photos arrive as separate updates handled at once; the first carries the text."""
    import asyncio

    await resident_with_account(session)
    await session.commit()
    await client.send("/appeals")
    await client.click(t.TOPICS["quality"])
    before = len(client.session.requests)
    await asyncio.gather(
        client.send_message(photo=photo("a1"), caption="Трещина в стене", media_group_id="g1"),
        client.send_message(photo=photo("a2"), media_group_id="g1"),
        client.send_message(photo=photo("a3"), media_group_id="g1"),
    )
    await albums.settled()  # the album's answer comes once no part of it came for a moment
    answers = [
        m
        for m in client.session.requests[before:]
        if isinstance(m, SendMessage) and m.chat_id == client.chat.id
    ]
    assert t.HINT_TEXT not in [m.text for m in answers]  # captionless photos are not a wrong answer
    [answer] = answers  # one album, one answer
    assert t.PHOTO_ADDED.format(n=3, limit=10) in answer.text
    # The answer came after the updates were handled: press «Готово» on it.
    shown = client.session.results[client.session.requests.index(answer)]
    [done] = [b for b in inline_buttons(shown.reply_markup) if b.text == t.BTN_PHOTOS_DONE]
    await client.callback(done.callback_data, shown)
    await client.click(t.BTN_SEND)
    [appeal] = await appeals_in_db(session_factory)
    [message] = await messages_in_db(session_factory, appeal.id)
    assert message.text == "Трещина в стене"
    assert sorted(message.photo_file_ids) == ["a1", "a2", "a3"]


async def test_the_scheduler_sweeps_unposted_appeals(
    settings, bot, session, session_factory
) -> None:
    """The sweep is wired into the bot's scheduler (JOB_PROVIDERS) and runs under its lease."""
    from bot.scheduler import create_scheduler

    person, acc = await resident_with_account(session)
    appeal = await stored_appeal(session, person, acc, posted_as=None)
    await session.commit()
    scheduler = create_scheduler(
        settings.model_copy(update={"scheduler_enabled": True}), bot, session_factory
    )
    job = scheduler.get_job("appeals_retry_unposted")
    assert job is not None
    with time_machine.travel(utcnow().replace(tzinfo=dt.UTC) + dt.timedelta(minutes=1), tick=False):
        assert await job.func() is True  # ran (it held the lease)
    [stored] = await appeals_in_db(session_factory)
    assert stored.id == appeal.id and stored.operators_message_id is not None
    assert len(sent_to(bot.session, OPS)) == 1


async def test_a_double_tap_on_send_makes_one_appeal(client, session, session_factory) -> None:
    import asyncio

    await resident_with_account(session)
    await session.commit()
    await client.send("/appeals")
    await client.click(t.TOPICS["other"])
    await client.send("Один раз")
    await client.click(t.BTN_NO_PHOTOS)
    await asyncio.gather(client.click(t.BTN_SEND), client.click(t.BTN_SEND))
    assert len(await appeals_in_db(session_factory)) == 1
    # (concurrent feeds overlap in client.replies: count the session's own record)
    alerts = [m.text for m in client.session.requests if m.__api_method__ == "answerCallbackQuery"]
    assert alerts.count(tc.STALE_BUTTON) == 1


async def test_out_of_range_appeal_ids_in_buttons_are_not_available(
    client, session, session_factory
) -> None:
    """Forged ids past PostgreSQL's INTEGER or SQLite's 64 bits, or below 1: no such appeal."""
    person, acc = await resident_with_account(session)
    await stored_appeal(session, person, acc)
    await session.commit()
    for appeal_id in (3_000_000_000, 2**62, 2**63, -1, 0):
        for data in (
            f"{AppealView.__prefix__}:{appeal_id}:0:0",
            f"{AppealAction.__prefix__}:close_yes:{appeal_id}",
            f"{AppealAction.__prefix__}:add:{appeal_id}",
        ):
            await client.callback(data)
            assert client.alerts()[-1] == t.APPEAL_NOT_AVAILABLE
        await client.callback(f"{AppealsHistory.__prefix__}:0:{appeal_id}")  # a forged page
        assert "страница 1 из 1" in last(client)
    assert tc.ERROR not in client.texts()
    [appeal] = await appeals_in_db(session_factory)
    assert appeal.status == "new"
