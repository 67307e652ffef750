"""An appeal travels from a resident to the operators' chat and the answer travels back, through
the real bot process and the fake Bot API server; outsiders and forgeries get nothing."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.fakeapi.server import FakeTelegram
from keyboards.appeals import AppealView
from storage.models import Appeal, AppealMessage, Resident
from storage.repo import appeals as repo
from tests import factories

OPS = -100500
OPERATOR = 5001
INTRUDER = 6666
# A 1x1 PNG: the fake stores it as the resident's photo.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6300010000000500010d0a2db40000000049454e44ae426082"
)


async def test_an_appeal_and_its_answer_round_trip(
    fake_tg: FakeTelegram, start_bot, db_url: str, session: AsyncSession
) -> None:
    anna_row = await factories.resident(session, telegram_id=1001, phone="+79990001122")
    account = await factories.account(
        session, number="55501234", holder_name="Смирнова Анна", address="г. Тверь, ул. Мира, д. 3"
    )
    await factories.link(session, anna_row, account)
    petr_row = await factories.resident(session, telegram_id=1002)
    petr_account = await factories.account(session, number="55509999")
    await factories.link(session, petr_row, petr_account)
    theirs = await repo.create(
        session, resident_id=petr_row.id, account_id=petr_account.id, topic="other", text="чужое"
    )
    await session.commit()

    operators = fake_tg.group(OPS, "Операторы")
    operators.members = {OPERATOR}
    bot = await start_bot(db_url, env={"OPERATORS_CHAT_ID": str(OPS), "ADMIN_IDS": "9000"})
    anna = fake_tg.user(1001, first_name="Анна")

    # The resident writes an appeal with a photo.
    await anna.send("✉️ Обращения")
    await anna.wait_for("Выберите тему")
    await anna.click("Начисления")
    await anna.wait_for("Опишите")
    await anna.send("Почему <b>так</b> много & дорого?")
    await anna.wait_for("приложите фотографии")
    await anna.send_photo(PNG)
    await anna.wait_for("Фото добавлено: 1 из 10")
    await anna.click("Готово")
    await anna.wait_for("Проверьте обращение")
    await anna.click("Отправить")
    sent = await anna.wait_for("отправлено")
    assert "Статус: новое" in (sent.visible_text or "")

    post = await operators.wait_for("Обращение №")
    for detail in ("55501234", "г. Тверь, ул. Мира, д. 3", "Смирнова Анна", "+79990001122"):
        assert detail in post.text
    assert "Почему &lt;b&gt;так&lt;/b&gt; много &amp; дорого?" in post.text  # HTML stays text
    assert post.buttons() == ["Взять в работу", "Закрыть"]
    photo = await operators.wait_for(lambda c: c.method == "sendPhoto")
    assert photo.params["reply_parameters"]["message_id"] == post.result["message_id"]
    post_id = post.result["message_id"]
    number = int(re.search(r"Обращение №(\d+)", post.text).group(1))

    # Someone in the chat who is not an operator (has left it) can do nothing.
    mark = fake_tg.mark()
    await operators.send(INTRUDER, "Переведите деньги на карту", reply_to_message_id=post_id)
    await fake_tg.wait_for_call(
        "getChatMember", predicate=lambda c: c.params.get("user_id") == INTRUDER, after=mark
    )
    await operators.click(INTRUDER, "Закрыть")
    await operators.wait_for_alert("только операторам")

    # A resident forging a button of another resident's appeal sees nothing of it.
    await anna.callback(AppealView(appeal_id=theirs.id).pack())
    await anna.wait_for_alert("недоступно")

    # The operator takes it and answers by replying to the post.
    await operators.click(OPERATOR, "Взять в работу")
    await anna.wait_for("взято в работу")
    await operators.send(OPERATOR, "Перерасчёт <сделан>, сумма верная", reply_to_message_id=post_id)
    answer = await anna.wait_for("Ответ на обращение")
    assert "Перерасчёт &lt;сделан&gt;, сумма верная" in answer.text
    await operators.wait_for("доставлен жителю")

    # The resident writes back: it lands in the operators' chat as a reply to the post.
    await anna.click("Ответить")
    await anna.wait_for("Напишите сообщение")
    await anna.send("Спасибо!")
    await anna.wait_for("Сообщение к обращению")
    follow_up = await operators.wait_for("Житель дописал")
    assert follow_up.params["reply_parameters"]["message_id"] == post_id

    # The resident's thread shows both sides.
    await anna.click("Открыть переписку")
    thread = await anna.wait_for("Перерасчёт")
    assert "Почему &lt;b&gt;так&lt;/b&gt; много" in thread.text and "Спасибо!" in thread.text

    # A resident who blocked the bot: the operator is told, the answer is kept.
    fake_tg.block(1001)
    await operators.send(OPERATOR, f"/reply {number} Ещё уточнение")
    await operators.wait_for("заблокировал бота")

    assert await bot.stop() == 0
    log = bot.stderr_text()
    assert "Traceback" not in log
    for private in ("Переведите", "Перерасчёт", "+79990001122", "Спасибо"):
        assert private not in log

    assert "Переведите" not in " ".join(anna.texts())
    appeal = await session.scalar(select(Appeal).where(Appeal.resident_id == anna_row.id))
    await session.refresh(appeal)
    assert appeal.id == number and appeal.operators_message_id == post_id
    assert appeal.status == "answered"
    messages = list(
        await session.scalars(
            select(AppealMessage)
            .where(AppealMessage.appeal_id == appeal.id)
            .order_by(AppealMessage.id)
        )
    )
    assert [(m.author, m.text) for m in messages] == [
        ("resident", "Почему <b>так</b> много & дорого?"),
        ("operator", "Перерасчёт <сделан>, сумма верная"),
        ("resident", "Спасибо!"),
        ("operator", "Ещё уточнение"),
    ]
    assert len(messages[0].photo_file_ids) == 1
    assert [m.delivered for m in messages if m.author == "operator"] == [True, False]
    assert (await session.get(Resident, anna_row.id, populate_existing=True)).unreachable_at
    other = await session.get(Appeal, theirs.id, populate_existing=True)
    assert other.status == "new"


async def test_announce_command_sends_through_telegram_once_each(
    fake_tg: FakeTelegram, start_bot, db_url: str, session: AsyncSession
) -> None:
    org = await factories.organization(session, name="УК Север")
    people = []
    for telegram_id in (2001, 2002, 2003):
        person = await factories.resident(session, telegram_id=telegram_id)
        await factories.link(session, person, await factories.account(session, org))
        people.append(person)
    await session.commit()
    fake_tg.block(2003)

    command = await start_bot(db_url, args=["announce", "--org", org.code, "Плановое <отключение>"])
    assert await command.wait(timeout=60) == 0, command.stderr_text()
    assert "Доставлено: 2, заблокировали бота: 1" in command.stdout_text()
    for telegram_id in (2001, 2002):
        [call] = fake_tg.delivered(chat_id=telegram_id, method="sendMessage")
        assert "Плановое &lt;отключение&gt;" in call.text and "УК Север" in call.text
    assert (await session.get(Resident, people[2].id, populate_existing=True)).unreachable_at

    # Resuming a finished announcement sends nothing more.
    again = await start_bot(db_url, args=["announce", "--resume", "1"])
    assert await again.wait(timeout=60) == 0, again.stderr_text()
    assert len(fake_tg.delivered(method="sendMessage")) == 2
