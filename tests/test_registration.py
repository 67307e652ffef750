"""Registration as a resident lives it: /start, agreement, consent, phone, e-mail, the menu."""

from __future__ import annotations

import pytest
from aiogram.types import PhotoSize, ReplyKeyboardMarkup, ReplyKeyboardRemove, Sticker
from sqlalchemy import func, select

from bot.app import create_dispatcher
from keyboards.accounts import LinkStart
from keyboards.callbacks import OpenMenu
from keyboards.menu import MENU_BUTTONS
from keyboards.registration import RegStep
from services.phones import normalize_phone
from storage.models import EmailConfirmation, FsmRecord, Resident
from tests import factories
from tests.harness import BotClient, inline_buttons, reply_buttons
from tests.mailbox import mailbox_fixture  # noqa: F401  (the mailbox fixture)
from texts.ru import common as tc
from texts.ru import registration as t

STICKER = Sticker(
    file_id="s", file_unique_id="s", type="regular", width=1, height=1, is_animated=False,
    is_video=False,
)  # fmt: skip
PHOTO = [PhotoSize(file_id="p", file_unique_id="p", width=1, height=1)]
LONG_TEXT = "я" * 5000


async def count(session, model) -> int:
    session.expire_all()
    return await session.scalar(select(func.count()).select_from(model))


async def resident_of(session, telegram_id: int = 1001) -> Resident | None:
    session.expire_all()
    return await session.scalar(select(Resident).where(Resident.telegram_id == telegram_id))


def reply_markups(client: BotClient) -> list:
    return [getattr(m, "reply_markup", None) for m in client.replies]


def asks_for_contact(markup) -> bool:
    return isinstance(markup, ReplyKeyboardMarkup) and any(
        button.request_contact for row in markup.keyboard for button in row
    )


async def agree_and_consent(client: BotClient) -> None:
    await client.send("/start")
    await client.click(t.BTN_ACCEPT)
    await client.click(t.BTN_CONSENT)


async def test_a_new_resident_registers_with_an_e_mail(client, session, mailbox) -> None:
    await client.send("/start")
    assert "личный кабинет абонента" in client.texts()[0]
    assert "передать показания" in client.texts()[0]

    await client.click(t.BTN_READ_AGREEMENT)
    assert client.last_text() == t.AGREEMENT
    await client.click(t.BTN_ACCEPT)
    assert client.last_text() == t.CONSENT_ASK.format(operators=t.OPERATOR_UNKNOWN)  # no data yet
    assert await count(session, Resident) == 0  # nothing about the person before consent

    await client.click(t.BTN_READ_CONSENT)
    assert "152-ФЗ" in client.last_text()
    await client.click(t.BTN_CONSENT)
    assert client.last_text() == t.PHONE_ASK
    assert asks_for_contact(client.replies[-1].reply_markup)
    assert await count(session, Resident) == 0

    await client.share_contact("79991234567")  # Telegram sends its numbers without "+"
    person = await resident_of(session)
    assert person is not None and person.phone == "+79991234567"
    assert person.phone_verified_at and person.agreed_at and person.consent_at
    assert not person.is_registered  # the e-mail step is still ahead
    assert client.last_text() == t.EMAIL_ASK

    await client.send("  Anna.Petrova@Example.RU ")
    assert "anna.petrova@example.ru" in client.last_text()
    code = mailbox.last_code("anna.petrova@example.ru")
    pending = await session.scalar(select(EmailConfirmation))
    assert code not in pending.code_hash  # stored hashed

    await client.send(code)
    person = await resident_of(session)
    assert person.email == "anna.petrova@example.ru" and person.email_confirmed_at
    assert person.push_email is True
    assert person.is_registered
    assert await count(session, EmailConfirmation) == 0

    done, offer = client.replies[-2], client.replies[-1]
    assert done.text == t.DONE
    assert reply_buttons(done.reply_markup) == list(MENU_BUTTONS)
    assert offer.text == t.OFFER_LINK
    assert [b.callback_data for b in inline_buttons(offer.reply_markup)] == [
        LinkStart().pack(),
        OpenMenu().pack(),
    ]
    assert await count(session, FsmRecord) == 0  # the dialogue is over


async def test_declining_the_agreement_stores_nothing(client, session) -> None:
    await client.send("/start")
    await client.click(t.BTN_DECLINE)
    assert client.last_text() == t.DECLINED
    assert await count(session, Resident) == 0
    assert await count(session, FsmRecord) == 0
    await client.callback(RegStep(action="agree").pack())  # an old button: nothing happens
    assert client.alerts() == [tc.STALE_BUTTON]
    assert await count(session, Resident) == 0


async def test_declining_the_consent_stores_nothing(client, session) -> None:
    await client.send("/start")
    await client.click(t.BTN_ACCEPT)
    await client.click(t.BTN_NO_CONSENT)
    assert client.last_text() == t.DECLINED
    assert isinstance(client.replies[-1].reply_markup, ReplyKeyboardRemove)
    assert await count(session, Resident) == 0
    assert await count(session, FsmRecord) == 0


async def test_declining_on_a_second_try_erases_the_unfinished_registration(
    client, session, mailbox
) -> None:
    await agree_and_consent(client)
    await client.share_contact("+79991234567")
    assert await count(session, Resident) == 1  # phone verified, e-mail step not finished
    await client.send("/start")
    await client.click(t.BTN_ACCEPT)
    await client.click(t.BTN_NO_CONSENT)
    assert await count(session, Resident) == 0


async def test_only_the_senders_own_contact_counts(client, session) -> None:
    await agree_and_consent(client)

    await client.send("+7 999 123-45-67")
    assert client.last_text() == t.PHONE_TYPED
    await client.share_contact("79990000000", user_id=555)
    assert client.last_text() == t.PHONE_FOREIGN
    await client.share_contact("79991234567", forwarded=True)
    assert client.last_text() == t.PHONE_FORWARDED
    await client.share_contact("123")
    assert client.last_text() == t.PHONE_INVALID
    # Every refusal offers the button again.
    assert all(asks_for_contact(m) for m in reply_markups(client)[-4:])
    assert await count(session, Resident) == 0

    await client.share_contact("+7 (999) 123-45-67")
    assert (await resident_of(session)).phone == "+79991234567"


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("79991234567", "+79991234567"),
        ("+79991234567", "+79991234567"),
        ("+7 (999) 123-45-67", "+79991234567"),
        ("89991234567", "+79991234567"),
        ("375291234567", "+375291234567"),  # a Belarusian number stays Belarusian
        ("12345", None),
        ("", None),
    ],
)
def test_phone_numbers_are_stored_as_e164(raw: str, e164: str | None) -> None:
    assert normalize_phone(raw) == e164


async def test_the_e_mail_can_be_skipped(client, session, mailbox) -> None:
    await agree_and_consent(client)
    await client.share_contact("79991234567")
    await client.click(t.BTN_SKIP)
    person = await resident_of(session)
    assert person.is_registered and person.email is None and person.push_email is False
    assert client.texts()[-2] == t.DONE
    assert mailbox.messages == []


async def test_skipping_after_a_code_forgets_the_address(client, session, mailbox) -> None:
    await agree_and_consent(client)
    await client.share_contact("79991234567")
    await client.send("anna@example.ru")
    await client.click(t.BTN_SKIP)
    assert (await resident_of(session)).is_registered
    assert await count(session, EmailConfirmation) == 0


async def test_without_smtp_the_e_mail_step_is_skipped_with_a_note(client, session) -> None:
    await agree_and_consent(client)
    await client.share_contact("79991234567")
    assert t.EMAIL_UNAVAILABLE in client.texts()
    assert (await resident_of(session)).is_registered
    assert client.texts()[-2] == t.DONE


async def test_a_registered_resident_gets_the_menu_on_start(client, session) -> None:
    await factories.resident(session)
    await session.commit()
    await client.send("/start")
    assert client.last_text() == t.WELCOME_BACK
    assert reply_buttons(client.replies[-1].reply_markup) == list(MENU_BUTTONS)


async def test_the_dialogue_survives_a_restart_of_the_bot(
    settings, session_factory, bot, dp, session
) -> None:
    anna = BotClient(dp, bot)
    await anna.send("/start")
    await anna.click(t.BTN_ACCEPT)
    await anna.click(t.BTN_CONSENT)
    assert anna.last_text() == t.PHONE_ASK

    # The bot restarts: a new dispatcher with a new state storage object, the same database.
    restarted = create_dispatcher(settings, session_factory)
    anna_again = BotClient(restarted, bot)
    await anna_again.share_contact("79991234567")
    assert anna_again.texts()[0] == t.PHONE_OK.format(phone="+7 999 123-45-67")
    person = await resident_of(session)
    assert person.is_registered  # no SMTP here: registration completes after the phone
    assert person.agreed_at and person.consent_at  # remembered across the restart


async def test_unexpected_input_at_every_step_gets_the_steps_hint(client, mailbox) -> None:
    odd_inputs = [
        {"sticker": STICKER},
        {"photo": PHOTO},
        {"text": LONG_TEXT},
        {"text": "/profile"},
    ]

    async def check(expected: str) -> None:
        for fields in odd_inputs:
            await client.send_message(**fields)
            assert client.last_text() == expected, fields

    await client.send("/start")
    await check(t.STEP_HINT_AGREEMENT)
    await client.click(t.BTN_ACCEPT)
    await check(t.STEP_HINT_CONSENT)
    await client.click(t.BTN_CONSENT)
    await check(t.PHONE_HINT)
    await client.share_contact("79991234567")
    await check(t.EMAIL_INVALID)
    await client.send("not-an-address")
    assert client.last_text() == t.EMAIL_INVALID
    await client.send("anna@example.ru")
    await check(t.CODE_HINT)
    # /help and /cancel keep working inside the dialogue.
    await client.send("/help")
    assert "Личный кабинет" in client.last_text()
    await client.send("/cancel")
    assert client.last_text() == tc.CANCELLED


async def test_cancel_during_registration_and_start_again(client, session) -> None:
    await client.send("/start")
    await client.click(t.BTN_ACCEPT)
    await client.send("/cancel")
    assert client.last_text() == tc.CANCELLED
    assert await count(session, Resident) == 0
    await client.send("/start")
    assert client.last_text() == t.AGREEMENT_ASK


async def test_the_consent_names_the_operator_with_its_address(client, session) -> None:
    """152-ФЗ art. 9: the consent says who processes the data: the organization and its address."""
    await factories.golden(session)
    await session.commit()
    await client.send("/start")
    await client.click(t.BTN_ACCEPT)
    dek = 'АО "ДЭК", 680000, г. Хабаровск, ул. Фрунзе, д. 49'
    assert f"<b>Оператор:</b> {dek}" in client.last_text()
    await client.click(t.BTN_READ_CONSENT)
    full = client.last_text()
    assert "152-ФЗ" in full and f"<b>Оператор:</b> {dek}" in full

    # two organizations: both named, each with its address
    await factories.organization(
        session, name="ООО «Амур»", address="675000, г. Благовещенск, ул. Ленина, д. 2"
    )
    await session.commit()
    await client.send("/start")
    await client.click(t.BTN_ACCEPT)
    asked = client.last_text()
    assert t.OPERATORS_TITLE in asked
    assert "• ООО «Амур», 675000, г. Благовещенск, ул. Ленина, д. 2" in asked
    assert f"• {dek}" in asked
