"""E-mail confirmation against a real SMTP server on loopback: codes, limits, ownership; and the
SMTP sender the receipts push uses."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from sqlalchemy import func, select

from receipts.mail import MailError, send_mail
from storage.models import EmailConfirmation, Resident
from storage.repo import email as emails
from tests import factories
from tests.mailbox import free_port, mailbox_fixture  # noqa: F401  (the mailbox fixture)
from texts.ru import registration as t


async def reach_email_step(client) -> None:
    await client.send("/start")
    await client.click(t.BTN_ACCEPT)
    await client.click(t.BTN_CONSENT)
    await client.share_contact(f"7999{client.user.id:07d}")


async def resident_of(session, telegram_id: int = 1001) -> Resident:
    session.expire_all()
    return await session.scalar(select(Resident).where(Resident.telegram_id == telegram_id))


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


async def test_a_wrong_code_counts_and_five_end_the_code(client, session, mailbox) -> None:
    await reach_email_step(client)
    await client.send("anna@example.ru")
    code = mailbox.last_code("anna@example.ru")
    await client.send(wrong(code))
    assert client.last_text() == t.CODE_WRONG.format(left="Осталось 4 попытки.")
    for _ in range(3):
        await client.send(wrong(code))
    assert client.last_text() == t.CODE_WRONG.format(left="Осталась 1 попытка.")
    await client.send(wrong(code))
    assert client.last_text() == t.CODE_TOO_MANY
    await client.send(code)  # the right code, too late
    assert client.last_text() == t.CODE_TOO_MANY
    assert (await resident_of(session)).email is None

    await client.click(t.BTN_RESEND)  # a new code starts afresh
    fresh = mailbox.last_code("anna@example.ru")
    await client.send(fresh)
    assert (await resident_of(session)).email == "anna@example.ru"


async def test_a_code_expires_after_fifteen_minutes(client, session, mailbox) -> None:
    with time_machine.travel(dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC), tick=False) as clock:
        await reach_email_step(client)
        await client.send("anna@example.ru")
        code = mailbox.last_code("anna@example.ru")
        clock.shift(dt.timedelta(minutes=16))
        await client.send(code)
        assert client.last_text() == t.CODE_EXPIRED
        assert (await resident_of(session)).email is None


async def test_resends_are_limited(client, session, mailbox) -> None:
    with time_machine.travel(dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC), tick=False) as clock:
        await reach_email_step(client)
        await client.send("anna@example.ru")
        await client.click(t.BTN_RESEND)
        await client.click(t.BTN_RESEND)
        assert len(mailbox.to("anna@example.ru")) == emails.MAX_CODES
        await client.click(t.BTN_RESEND)
        assert len(mailbox.to("anna@example.ru")) == emails.MAX_CODES
        # an hour after the first code (12:00 UTC), in Moscow time
        assert client.last_text() == t.EMAIL_TOO_MANY_CODES.format(time="01.03.2026 в 16:00 (мск)")
        await client.send("other@example.ru")  # another address does not lift the limit
        assert mailbox.to("other@example.ru") == []

        clock.shift(dt.timedelta(hours=1, minutes=1))
        await client.send("other@example.ru")
        assert len(mailbox.to("other@example.ru")) == 1
        await client.send(mailbox.last_code("other@example.ru"))
        assert (await resident_of(session)).email == "other@example.ru"


async def test_an_address_confirmed_by_another_resident_is_refused(
    client, session, mailbox
) -> None:
    await factories.resident(
        session, telegram_id=2002, phone="+79990002002", email="boris@example.ru"
    )
    await session.commit()
    await reach_email_step(client)
    await client.send("Boris@Example.ru")
    assert client.last_text() == t.EMAIL_TAKEN
    assert "2002" not in client.last_text() and "+7999" not in client.last_text()
    assert mailbox.messages == []
    assert (await resident_of(session)).email is None


async def test_of_two_residents_only_the_first_to_confirm_gets_the_address(
    make_client, session, mailbox
) -> None:
    anna, boris = make_client(1001), make_client(1002)
    await reach_email_step(anna)
    await reach_email_step(boris)
    await anna.send("shared@example.ru")
    anna_code = mailbox.last_code("shared@example.ru")
    await boris.send("shared@example.ru")
    boris_code = mailbox.last_code("shared@example.ru")

    await boris.send(boris_code)
    assert (await resident_of(session, 1002)).email == "shared@example.ru"
    await anna.send(anna_code)  # right code, but the address is taken now
    assert anna.last_text() == t.EMAIL_TAKEN
    assert (await resident_of(session, 1001)).email is None


@pytest.mark.parametrize(
    "text",
    ["anna", "anna@", "anna@example", "an na@example.ru", "a@b.c", "x" * 250 + "@example.ru"],
)
async def test_addresses_that_are_not_addresses_are_refused(client, mailbox, text: str) -> None:
    await reach_email_step(client)
    await client.send(text)
    assert client.last_text() == t.EMAIL_INVALID
    assert mailbox.messages == []


async def test_a_mail_server_that_is_down_is_explained(client, session, settings) -> None:
    settings.smtp_host = "127.0.0.1"
    settings.smtp_port = free_port()  # nothing listens there
    await reach_email_step(client)
    await client.send("anna@example.ru")
    assert client.last_text() == t.EMAIL_SEND_FAILED
    assert await session.scalar(select(func.count()).select_from(EmailConfirmation)) == 0


async def test_send_mail_delivers_attachments(settings, mailbox) -> None:
    pdf = b"%PDF-1.7 receipt"
    await send_mail(
        settings,
        "anna@example.ru",
        "Квитанция за март 2020",
        "Квитанция во вложении.",
        attachments=[("receipt-2020-03.pdf", pdf, "application/pdf")],
    )
    message = mailbox.to("anna@example.ru")[0]
    assert message["Subject"] == "Квитанция за март 2020"
    assert message["From"] == settings.smtp_sender
    (attachment,) = list(message.iter_attachments())
    assert attachment.get_filename() == "receipt-2020-03.pdf"
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_content() == pdf


async def test_send_mail_without_a_server_raises_mail_error(settings) -> None:
    with pytest.raises(MailError):
        await send_mail(settings, "anna@example.ru", "s", "t")  # SMTP not configured
    settings.smtp_host = "127.0.0.1"
    settings.smtp_port = free_port()
    with pytest.raises(MailError):
        await send_mail(settings, "anna@example.ru", "s", "t")


def test_codes_are_six_digits_and_checked_by_hash() -> None:
    code = emails.new_code()
    assert len(code) == 6 and code.isdigit()
    stored = emails.hash_code(b"key", "a@example.ru", code)
    assert code not in stored
    assert emails.check_code(b"key", stored, "a@example.ru", code)
    assert not emails.check_code(b"key", stored, "a@example.ru", wrong(code))
    assert not emails.check_code(b"other", stored, "a@example.ru", code)
