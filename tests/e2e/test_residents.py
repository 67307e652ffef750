"""A resident from /start to a linked account, in the real bot process over HTTP against the fake
Bot API server, with a real SMTP server on loopback for the e-mail code."""

from __future__ import annotations

from sqlalchemy import select

from bot.fakeapi.server import FakeTelegram
from keyboards.menu import MENU_BUTTONS
from storage.demo import GOLDEN_NUMBER
from storage.models import AccountLink, LinkAttempt, Resident
from tests import factories
from tests.mailbox import mailbox_fixture  # noqa: F401  (the mailbox fixture)
from texts.ru import registration as t

ORG = 'АО "ДЭК"'


async def test_from_start_to_a_linked_account(
    fake_tg: FakeTelegram, start_bot, db_url: str, session, mailbox
) -> None:
    account = await factories.golden(session)
    await session.commit()
    # This resident answers within milliseconds, far faster than a person; the per-chat pacing
    # (one message a second) belongs to the bulk-send tests, not to a dialogue's replies.
    fake_tg.set_limits(global_per_second=30, per_chat_interval=None)
    bot = await start_bot(db_url, env={"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(mailbox.port)})
    anna = fake_tg.user(1001, first_name="Анна")

    await anna.send("/start")
    await anna.wait_for("Шаг 1 из 3")
    await anna.click(t.BTN_READ_AGREEMENT)
    await anna.wait_for("Пользовательское соглашение")
    await anna.click(t.BTN_ACCEPT)
    await anna.wait_for("Шаг 2 из 3")
    await anna.click(t.BTN_CONSENT)
    await anna.wait_for("Шаг 3 из 3")
    assert anna.reply_keyboard() == [t.BTN_SHARE_PHONE]

    await anna.send("+7 999 000-00-01")  # typed: refused, the button again
    await anna.wait_for("введённый вручную")
    await anna.share_contact("79990000001", user_id=4242)  # someone else's contact
    await anna.wait_for("чужой контакт")
    await anna.share_contact("79990000001")
    await anna.wait_for("подтверждён")
    await anna.wait_for("Электронная почта")

    await anna.send("anna@example.ru")
    await anna.wait_for("Мы отправили письмо")
    await anna.send(mailbox.last_code("anna@example.ru"))
    await anna.wait_for("Регистрация завершена")
    await anna.wait_for("Теперь привяжите лицевой счёт")
    assert anna.reply_keyboard() == list(MENU_BUTTONS)

    await anna.click(t.BTN_LINK_FIRST)
    await anna.wait_for("Выберите организацию")
    await anna.click(ORG)
    await anna.wait_for("Выберите дом")
    await anna.send("ЛЕНИНА")
    await anna.wait_for("Дома по запросу")
    await anna.click("ул. Ленина, д. 1")
    await anna.wait_for("Выберите квартиру")
    await anna.click("кв. 1")
    await anna.wait_for("Выберите номер лицевого счёта")
    await anna.click(f"л/с № {GOLDEN_NUMBER}")
    await anna.wait_for("Подтвердите, что это ваш счёт")
    await anna.send("2 383,29")
    linked = await anna.wait_for(f"Лицевой счёт {GOLDEN_NUMBER} привязан")
    assert linked.callback_data()["📋 Открыть счёт"] == f"c:{account.id}"

    resident = await session.scalar(select(Resident).execution_options(populate_existing=True))
    assert (resident.phone, resident.email) == ("+79990000001", "anna@example.ru")
    assert resident.is_registered
    links = list(await session.scalars(select(AccountLink)))
    assert [(x.resident_id, x.account_id, x.method) for x in links] == [
        (resident.id, account.id, "receipt_total")
    ]
    assert [a.success for a in await session.scalars(select(LinkAttempt))] == [True]
    assert await bot.stop() == 0
