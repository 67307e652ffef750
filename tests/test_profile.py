"""The profile: what is stored, subscriptions, e-mail and phone, unlinking, deleting everything."""

from __future__ import annotations

import datetime as dt
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from aiogram.types import ReplyKeyboardRemove
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from keyboards.accounts import LinkStart
from keyboards.profile import ProfileAction
from storage.demo import GOLDEN_HOLDER, GOLDEN_NUMBER
from storage.models import (
    Account,
    AccountLink,
    Announcement,
    AnnouncementDelivery,
    Appeal,
    AppealMessage,
    Charge,
    EmailConfirmation,
    FsmRecord,
    LinkAttempt,
    Meter,
    Reading,
    ReceiptDelivery,
    ReminderDelivery,
    Resident,
)
from tests import factories
from tests.harness import inline_buttons
from tests.mailbox import mailbox_fixture  # noqa: F401  (the mailbox fixture)
from texts.ru import common as tc
from texts.ru import profile as t
from texts.ru import registration as tr


async def fresh(session, model, **where):
    query = select(model).execution_options(populate_existing=True)
    for name, value in where.items():
        query = query.where(getattr(model, name) == value)
    return list(await session.scalars(query))


async def count(session, model) -> int:
    return await session.scalar(select(func.count()).select_from(model))


def buttons(client) -> list[str]:
    return [b.text for b in inline_buttons(client.bot_messages()[-1].reply_markup)]


async def test_the_profile_shows_what_is_stored(client, session) -> None:
    anna = await factories.resident(session, email="anna@example.ru", push_email=True)
    account = await factories.golden(session)
    await factories.link(session, anna, account)
    await session.commit()

    await client.send(tc.BTN_PROFILE)
    text = client.last_text()
    assert "+7 999 000-00-01" in text
    assert "anna@example.ru" in text
    assert f"{GOLDEN_NUMBER} — г. Хабаровск, ул. Ленина, д. 1, кв. 1" in text
    assert t.PUSH_TELEGRAM.format(state=t.ON) in text
    assert t.PUSH_EMAIL.format(state=t.ON) in text
    assert t.REMINDERS.format(state=t.ON) in text
    await client.send("/profile")
    assert client.last_text() == text
    link_buttons = [b.callback_data for b in inline_buttons(client.bot_messages()[-1].reply_markup)]
    assert LinkStart().pack() in link_buttons


async def test_subscriptions_are_switched_per_channel(client, session) -> None:
    anna = await factories.resident(session)
    await session.commit()
    await client.send("/profile")
    assert not any("почту:" in b for b in buttons(client))  # no e-mail: no e-mail channel
    await client.callback(ProfileAction(action="em").pack())  # forged: refused
    assert client.alerts()[-1] == t.PUSH_EMAIL_NEEDS_EMAIL

    await client.click("Квитанции в Telegram")
    await client.click("Напоминания")
    (person,) = await fresh(session, Resident, id=anna.id)
    assert (person.push_telegram, person.reminders, person.push_email) == (False, False, False)
    assert t.PUSH_TELEGRAM.format(state=t.OFF) in client.last_text()

    person.email = "anna@example.ru"
    await session.commit()
    await client.send("/profile")
    await client.click("Квитанции на почту")
    await client.click("Квитанции в Telegram")
    (person,) = await fresh(session, Resident, id=anna.id)
    assert (person.push_telegram, person.push_email) == (True, True)


async def test_changing_the_e_mail_needs_a_new_confirmation(client, session, mailbox) -> None:
    anna = await factories.resident(session, email="old@example.ru")
    await session.commit()
    await client.send("/profile")
    await client.click(t.BTN_CHANGE_EMAIL)
    assert client.last_text() == t.EMAIL_ASK
    await client.send("sticker-like text")
    assert client.last_text() == tr.EMAIL_INVALID_PROFILE
    await client.send("new@example.ru")
    (person,) = await fresh(session, Resident, id=anna.id)
    assert person.email == "old@example.ru"  # not before the code
    await client.send(mailbox.last_code("new@example.ru"))
    assert client.texts()[-2] == t.EMAIL_CHANGED.format(email="new@example.ru")
    (person,) = await fresh(session, Resident, id=anna.id)
    assert person.email == "new@example.ru"


async def test_without_smtp_the_e_mail_cannot_be_changed(client, session) -> None:
    await factories.resident(session)
    await session.commit()
    await client.send("/profile")
    assert t.BTN_ADD_EMAIL not in buttons(client)
    await client.callback(ProfileAction(action="email").pack())
    assert client.alerts()[-1] == t.EMAIL_UNAVAILABLE


async def test_unlinking_asks_first_and_touches_only_the_own_link(client, session) -> None:
    anna = await factories.resident(session)
    boris = await factories.resident(session, telegram_id=1002, phone="+79990000002")
    account = await factories.golden(session)
    await factories.link(session, anna, account)
    await factories.link(session, boris, account)
    await session.commit()

    await client.send("/profile")
    await client.click(t.BTN_UNLINK)
    await client.click(GOLDEN_NUMBER)
    assert "Отвязать лицевой счёт" in client.last_text()
    assert len(await fresh(session, AccountLink)) == 2  # asked, not done
    await client.click(t.BTN_UNLINK_YES)
    assert client.last_text().startswith(t.UNLINKED.format(number=GOLDEN_NUMBER))
    remaining = await fresh(session, AccountLink)
    assert [x.resident_id for x in remaining] == [boris.id]


async def test_forged_unlink_of_someone_elses_account_reveals_and_changes_nothing(
    client, session
) -> None:
    await factories.resident(session)
    boris = await factories.resident(session, telegram_id=1002, phone="+79990000002")
    account = await factories.golden(session)
    await factories.link(session, boris, account)
    await session.commit()

    for action in ("unlink_ask", "unlink_do"):
        for account_id in (account.id, 2**62, 0):
            await client.callback(ProfileAction(action=action, account_id=account_id).pack())
            assert client.alerts()[-1] == tc.ACCOUNT_NOT_AVAILABLE
    assert client.sent("sendMessage") == [] and client.sent("editMessageText") == []
    assert GOLDEN_HOLDER not in "".join(client.alerts())
    assert len(await fresh(session, AccountLink)) == 1
    await client.callback("p:nonsense:0")  # an action no button has
    assert client.alerts()[-1] == tc.STALE_BUTTON


async def test_the_phone_is_verified_again_by_sharing_the_contact(client, session) -> None:
    anna = await factories.resident(session, phone="+79990000001")
    await session.commit()
    await client.send("/profile")
    await client.click(t.BTN_PHONE)
    await client.send("+79995554433")
    assert client.last_text() == tr.PHONE_TYPED
    await client.share_contact("79995554433", user_id=777)
    assert client.last_text() == tr.PHONE_FOREIGN
    await client.share_contact("79995554433", forwarded=True)
    assert client.last_text() == tr.PHONE_FORWARDED
    (person,) = await fresh(session, Resident, id=anna.id)
    assert person.phone == "+79990000001"
    await client.share_contact("79995554433")
    assert client.last_text() == t.PHONE_UPDATED.format(phone="+7 999 555-44-33")
    (person,) = await fresh(session, Resident, id=anna.id)
    assert person.phone == "+79995554433"


async def test_deleting_the_registration_erases_all_personal_data(client, session) -> None:
    anna = await factories.resident(session, email="anna@example.ru")
    boris = await factories.resident(session, telegram_id=1002, phone="+79990000002")
    account = await factories.golden(session)
    await factories.link(session, anna, account)
    await factories.link(session, boris, account)
    session.add_all([
        LinkAttempt(resident_id=anna.id, account_id=account.id, method="receipt_total", success=False),
        EmailConfirmation(resident_id=anna.id, email="new@example.ru", code_hash="x",
                          expires_at=dt.datetime(2030, 1, 1)),
        ReceiptDelivery(account_id=account.id, period=dt.date(2020, 3, 1), resident_id=anna.id,
                        channel="telegram", status="sent"),
        ReminderDelivery(resident_id=anna.id, period=dt.date(2020, 3, 1), kind="open"),
        FsmRecord(key="fsm:42:1001:1001:default", state="Readings:confirm", data={"x": 1}),
    ])  # fmt: skip
    announcement = Announcement(text="Отключение воды")
    session.add(announcement)
    await session.flush()
    session.add(
        AnnouncementDelivery(announcement_id=announcement.id, resident_id=anna.id, status="sent")
    )
    appeal = Appeal(account_id=account.id, resident_id=anna.id, topic="other")
    session.add(appeal)
    await session.flush()
    session.add(AppealMessage(appeal_id=appeal.id, author="resident", text="Течёт кран"))
    meter = await session.scalar(select(Meter).where(Meter.account_id == account.id))
    session.add(Reading(meter_id=meter.id, period=dt.date(2020, 4, 1), value=1000,
                        source="resident", resident_id=anna.id))  # fmt: skip
    await session.commit()
    charges_before = await count(session, Charge)

    await client.send("/profile")
    await client.click(t.BTN_DELETE)
    assert client.last_text() == t.DELETE_CONFIRM
    assert len(await fresh(session, Resident)) == 2  # asked, not done
    await client.click(t.BTN_DELETE_YES)
    assert client.last_text() == t.DELETED
    assert isinstance(client.replies[-1].reply_markup, ReplyKeyboardRemove)

    assert [r.id for r in await fresh(session, Resident)] == [boris.id]
    assert [x.resident_id for x in await fresh(session, AccountLink)] == [boris.id]
    for model in (LinkAttempt, EmailConfirmation, ReceiptDelivery, ReminderDelivery,
                  AnnouncementDelivery, FsmRecord):  # fmt: skip
        assert await fresh(session, model) == [], model
    (kept,) = await fresh(session, Appeal)
    assert kept.resident_id is None  # anonymized, kept for the organization
    (reading,) = await fresh(session, Reading, source="resident")
    assert reading.resident_id is None
    assert await count(session, Charge) == charges_before  # billing data stays
    assert len(await fresh(session, Account)) == 1

    await client.send("/profile")  # gone: the bot no longer knows them
    assert client.last_text() == tc.NOT_REGISTERED
    await client.send("/start")
    assert client.last_text() == tr.AGREEMENT_ASK


async def test_deleting_can_be_called_off(client, session) -> None:
    await factories.resident(session)
    await session.commit()
    await client.send("/profile")
    await client.click(t.BTN_DELETE)
    await client.click(t.BTN_DELETE_NO)
    assert client.last_text().startswith(t.TITLE)
    assert len(await fresh(session, Resident)) == 1


async def test_profile_actions_need_a_registration(client) -> None:
    await client.callback(ProfileAction(action="delete_do").pack())
    assert client.alerts() == [tc.NOT_REGISTERED]
    await client.send(tc.BTN_PROFILE)
    assert client.last_text() == tc.NOT_REGISTERED


async def test_unexpected_input_in_the_profiles_steps_gets_the_steps_hint(
    client, session, mailbox
) -> None:
    from aiogram.types import PhotoSize, Sticker

    sticker = Sticker(
        file_id="s", file_unique_id="s", type="regular", width=1, height=1, is_animated=False,
        is_video=False,
    )  # fmt: skip
    photo = [PhotoSize(file_id="p", file_unique_id="p", width=1, height=1)]
    odd = [{"sticker": sticker}, {"photo": photo}, {"text": "я" * 5000}, {"text": "/readings"}]

    async def check(expected: str) -> None:
        for fields in odd:
            await client.send_message(**fields)
            assert client.last_text() == expected, fields

    await factories.resident(session)
    await session.commit()
    await client.send("/profile")
    await client.click(t.BTN_PHONE)
    await check(tr.PHONE_HINT)
    await client.send("/cancel")
    assert client.last_text() == tc.CANCELLED

    await client.send("/profile")
    await client.click(t.BTN_ADD_EMAIL)
    await check(tr.EMAIL_INVALID_PROFILE)
    await client.send("anna@example.ru")
    await check(tr.CODE_HINT)
    await client.send("/cancel")
    assert client.last_text() == tc.CANCELLED


def on_disk(db_url: str) -> bytes:
    """The raw bytes of the SQLite database file and its -wal and -shm companions."""
    path = Path(make_url(db_url).database or "")
    parts = [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]
    return b"".join(part.read_bytes() for part in parts if part.exists())


@pytest.mark.parametrize("checkpointed", [False, True], ids=["in-wal", "in-database-file"])
async def test_deleted_personal_data_leaves_no_trace_in_the_database_files(
    client, session, mailbox, db_url, checkpointed: bool
) -> None:
    """Fault 4 of issue 12: after a deletion the phone and the e-mail stayed in the WAL file,
    and, once a checkpoint had copied them there, in the freed space of the database file."""
    if not db_url.startswith("sqlite"):
        pytest.skip("the files of an embedded database")
    address = "erasable.person@example.ru"
    await client.send("/start")
    await client.click(tr.BTN_ACCEPT)
    await client.click(tr.BTN_CONSENT)
    await client.share_contact("79991234567")
    await client.send(address)  # the first code
    await client.send("000000" if mailbox.last_code(address) != "000000" else "111111")
    await client.click(tr.BTN_RESEND)  # a second and a third code: the address many times over
    await client.click(tr.BTN_RESEND)
    await client.send(mailbox.last_code(address))
    assert client.texts()[-2] == tr.DONE
    (person,) = await fresh(session, Resident)
    assert (person.phone, person.email) == ("+79991234567", address)
    stored = on_disk(db_url)
    assert address.encode() in stored and b"+79991234567" in stored  # the test sees the files
    if checkpointed:  # as SQLite's automatic checkpoint does in a bot that runs for a while
        with closing(sqlite3.connect(make_url(db_url).database or "")) as other:
            assert other.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0] == 0

    await client.send("/profile")
    await client.click(t.BTN_DELETE)
    await client.click(t.BTN_DELETE_YES)
    assert client.last_text() == t.DELETED
    assert await fresh(session, Resident) == []

    stored = on_disk(db_url)
    traces = (address, "79991234567", "+7 999 123-45-67", "erasable")
    assert {trace: stored.count(trace.encode()) for trace in traces} == dict.fromkeys(traces, 0)


async def test_a_reader_of_an_old_snapshot_does_not_hold_up_a_deletion(
    client, session, db_url
) -> None:
    """The WAL cannot be truncated while another connection reads an older snapshot: the
    deletion still completes and is answered (the checkpoint gives up after a few short tries)."""
    if not db_url.startswith("sqlite"):
        pytest.skip("the files of an embedded database")
    await factories.resident(session)
    await session.commit()
    reader = sqlite3.connect(make_url(db_url).database or "")
    try:
        reader.execute("BEGIN")
        assert reader.execute("SELECT count(*) FROM residents").fetchone() == (1,)
        await client.send("/profile")
        await client.click(t.BTN_DELETE)
        await client.click(t.BTN_DELETE_YES)
        assert client.last_text() == t.DELETED
        assert await fresh(session, Resident) == []
        assert reader.execute("SELECT count(*) FROM residents").fetchone() == (1,)  # its snapshot
    finally:
        reader.close()
