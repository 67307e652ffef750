"""Notifications: a payment received, the pay-by reminder, the meters' verification; each once,
to linked residents who want it, in the organization's daytime; the three profile switches."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
import time_machine
from aiogram import Bot
from aiogram.methods import SendMessage
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot import notifications
from bot.config import Settings
from bot.delivery import Summary
from keyboards.payments import PayQr, PayStart
from receipts.pacing import Pacer
from services import imports
from storage.demo import GOLDEN_NUMBER
from storage.importer import import_files
from storage.models import Account, BotPayment, Organization, ReminderDelivery, Resident
from tests import factories
from tests.harness import RecordingSession, forbidden, inline_buttons
from texts.fmt import NBSP
from texts.ru import common as tc
from texts.ru import notifications as t
from texts.ru import profile as tp

VLADIVOSTOK = dt.timezone(dt.timedelta(hours=10))  # the golden organization's zone
GOLDEN_ADDRESS = "г. Хабаровск, ул. Ленина, д. 1, кв. 1"


def at(month: int, day: int, hour: int = 10) -> dt.datetime:
    return dt.datetime(2020, month, day, hour, tzinfo=VLADIVOSTOK)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "payments_provider_token": SecretStr("284685063:TEST:token"),
            "payments_secret": SecretStr("s" * 32),
        }
    )


@pytest.fixture
async def people(session: AsyncSession) -> dict[str, Resident]:
    """The golden account (March 2020: 2 383,29 ₽ due 10.04.2020) and its residents: two who
    want everything, one who switched everything off; someone not linked at all."""
    golden = await factories.golden(session)
    found = {
        "anna": await factories.resident(session, telegram_id=2001),
        "boris": await factories.resident(session, telegram_id=2002),
        "quiet": await factories.resident(
            session,
            telegram_id=2003,
            notify_payments=False,
            notify_pay_by=False,
            notify_verification=False,
        ),
        "stranger": await factories.resident(session, telegram_id=2004),
    }
    for name in ("anna", "boris", "quiet"):
        await factories.link(session, found[name], golden)
    await session.commit()
    return found


async def run(
    bot: Bot,
    session_factory: async_sessionmaker[AsyncSession],
    settings: Settings,
    when: dt.datetime,
) -> Summary:
    with time_machine.travel(when, tick=False):
        return await notifications.send_notifications(
            bot, session_factory, settings, pacer=Pacer(1000, 0)
        )


def sent(bot: Bot) -> list[tuple[int, str]]:
    session: RecordingSession = bot.session  # type: ignore[assignment]
    return [(int(m.chat_id), m.text) for m in session.requests if isinstance(m, SendMessage)]


def messages(bot: Bot) -> list[SendMessage]:
    session: RecordingSession = bot.session  # type: ignore[assignment]
    return [m for m in session.requests if isinstance(m, SendMessage)]


async def load(engine: AsyncEngine, folder: Path, rows: str, when: dt.datetime) -> int:
    """The billing's payments file, imported (and published) at `when`; the import's id."""
    path = folder / "payments.csv"
    path.write_text(f"account,date,amount,period\n{rows}", encoding="utf-8")
    with time_machine.travel(when, tick=False):
        summary, _ = await import_files(engine, [path])
    return summary.import_run_id


def received(amount: str, day: str, number: str = GOLDEN_NUMBER) -> str:
    return t.PAYMENT_RECEIVED.format(amount=f"{amount}{NBSP}₽", number=number, day=day)


# --- payment received --------------------------------------------------------------------------


async def test_a_payment_an_import_brings_is_announced_once(
    bot, session_factory, settings, engine, tmp_path, people
) -> None:
    await load(engine, tmp_path, f"{GOLDEN_NUMBER},10.04.2020,1000.00,2020-04\n", at(4, 11, 8))
    # 08:00 local: nobody is woken; at 10:00 the linked residents who want it hear of it
    assert (await run(bot, session_factory, settings, at(4, 11, 8))).sent == 0
    summary = await run(bot, session_factory, settings, at(4, 11, 10))
    text = f"💰 Поступила оплата 1{NBSP}000,00{NBSP}₽ по л/с № {GOLDEN_NUMBER}, 10.04.2020."
    assert text == received("1" + NBSP + "000,00", "10.04.2020")
    assert sorted(sent(bot)) == [(2001, text), (2002, text)]
    assert summary.sent == 2
    # the next runs send nothing again
    assert (await run(bot, session_factory, settings, at(4, 11, 11))).sent == 0
    assert (await run(bot, session_factory, settings, at(4, 12, 10))).sent == 0
    assert len(sent(bot)) == 2


async def test_undo_and_the_same_import_again_announce_nothing_twice(
    bot, session_factory, settings, engine, tmp_path, people
) -> None:
    first = await load(engine, tmp_path, f"{GOLDEN_NUMBER},10.04.2020,1000.00,2020-04\n", at(4, 11))
    await run(bot, session_factory, settings, at(4, 11))
    assert len(sent(bot)) == 2
    with time_machine.travel(at(4, 11, 12), tick=False):
        assert (await imports.undo(engine, first, settings=settings)).ok
    await load(engine, tmp_path, f"{GOLDEN_NUMBER},10.04.2020,1000.00,2020-04\n", at(4, 11, 13))
    assert (await run(bot, session_factory, settings, at(4, 11, 14))).sent == 0
    # the billing lists April's payments again with one more (equal to the first): only it is new
    await load(
        engine,
        tmp_path,
        f"{GOLDEN_NUMBER},10.04.2020,1000.00,2020-04\n{GOLDEN_NUMBER},10.04.2020,1000.00,2020-04\n"
        f"{GOLDEN_NUMBER},12.04.2020,250.50,2020-04\n",
        at(4, 12, 10),
    )
    await run(bot, session_factory, settings, at(4, 12, 11))
    news = [text for _, text in sent(bot)[2:]]
    assert sorted(news) == sorted(
        [received(f"1{NBSP}000,00", "10.04.2020")] * 2 + [received("250,50", "12.04.2020")] * 2
    )


async def test_payments_made_long_ago_are_history_not_news(
    bot, session_factory, settings, engine, tmp_path, people
) -> None:
    await load(engine, tmp_path, f"{GOLDEN_NUMBER},10.01.2020,900.00,2020-01\n", at(4, 11))
    assert (await run(bot, session_factory, settings, at(4, 11))).sent == 0


async def test_a_payment_made_through_the_bot_is_booked_to_its_payer(
    bot, session_factory, settings, session, engine, tmp_path, people
) -> None:
    golden = await session.scalar(select(Account).where(Account.number == GOLDEN_NUMBER))
    session.add(
        BotPayment(
            account_id=golden.id,
            resident_id=people["anna"].id,
            period=dt.date(2020, 3, 1),
            amount=Decimal("2383.29"),
            telegram_charge_id="tg-charge-1",
            paid_at=dt.datetime(2020, 4, 7, 1, 0),
        )
    )
    await session.commit()
    await load(engine, tmp_path, f"{GOLDEN_NUMBER},08.04.2020,2383.29,2020-04\n", at(4, 9))
    await run(bot, session_factory, settings, at(4, 9, 12))
    amount = f"2{NBSP}383,29{NBSP}₽"
    assert sorted(sent(bot)) == [
        (2001, f"✅ Оплата {amount} через бот зачислена на л/с № {GOLDEN_NUMBER}, 08.04.2020."),
        (2002, received(f"2{NBSP}383,29", "08.04.2020")),
    ]


# --- the pay-by reminder -----------------------------------------------------------------------


async def test_the_pay_by_reminder_three_days_before_the_due_date_once(
    bot, session_factory, settings, session, people
) -> None:
    golden = await session.scalar(select(Account).where(Account.number == GOLDEN_NUMBER))
    assert (await run(bot, session_factory, settings, at(4, 6))).sent == 0
    summary = await run(bot, session_factory, settings, at(4, 7))
    text = (
        f"🔔 По л/с № {GOLDEN_NUMBER} ({GOLDEN_ADDRESS}) к оплате 2{NBSP}383,29{NBSP}₽ "
        "до 10.04.2020 — осталось 3 дня."
    )
    assert sorted(sent(bot)) == [(2001, text), (2002, text)]
    assert summary.sent == 2
    for message in messages(bot):  # the pay keyboard of the golden account
        assert [b.callback_data for b in inline_buttons(message.reply_markup)] == [
            PayStart(account_id=golden.id).pack(),
            PayQr(account_id=golden.id).pack(),
        ]
    for moment in (at(4, 7, 15), at(4, 8), at(4, 10)):
        assert (await run(bot, session_factory, settings, moment)).sent == 0


async def test_the_reminder_goes_later_when_the_bot_was_down_and_counts_the_days(
    bot, session_factory, settings, people
) -> None:
    await run(bot, session_factory, settings, at(4, 9))
    assert sent(bot)[0][1].endswith("до 10.04.2020 — остался 1 день.")


async def test_without_payments_set_up_the_reminder_has_no_pay_button(
    bot, session_factory, settings, people
) -> None:
    plain = settings.model_copy(update={"payments_provider_token": None})
    await run(bot, session_factory, plain, at(4, 7))
    assert len(messages(bot)) == 2
    assert all(m.reply_markup is None for m in messages(bot))


async def test_no_pay_by_reminder_for_an_account_paid_through_the_bot(
    bot, session_factory, settings, session, people
) -> None:
    golden = await session.scalar(select(Account).where(Account.number == GOLDEN_NUMBER))
    session.add(
        BotPayment(
            account_id=golden.id,
            resident_id=people["boris"].id,
            period=dt.date(2020, 3, 1),
            amount=Decimal("500.00"),
            telegram_charge_id="tg-charge-2",
            paid_at=dt.datetime(2020, 4, 5, 1, 0),
        )
    )
    await session.commit()
    assert (await run(bot, session_factory, settings, at(4, 7))).sent == 0


async def test_no_pay_by_reminder_when_the_billing_booked_the_money_since(
    bot, session_factory, settings, engine, tmp_path, people
) -> None:
    await load(engine, tmp_path, f"{GOLDEN_NUMBER},01.04.2020,2383.29,2020-04\n", at(4, 2))
    quiet = settings.model_copy(update={"notify_payment_days": 1})  # the payment's own notice
    await run(bot, session_factory, quiet, at(4, 7))
    assert not [text for _, text in sent(bot) if text.startswith("🔔")]


async def test_a_part_paid_since_leaves_the_rest_to_pay(
    bot, session_factory, settings, engine, tmp_path, people
) -> None:
    await load(engine, tmp_path, f"{GOLDEN_NUMBER},01.04.2020,383.29,2020-04\n", at(4, 2))
    await run(bot, session_factory, settings, at(4, 7))
    reminders = [text for _, text in sent(bot) if text.startswith("🔔")]
    assert len(reminders) == 2
    assert f"к оплате 2{NBSP}000,00{NBSP}₽ до 10.04.2020" in reminders[0]


# --- meters' verification ----------------------------------------------------------------------


async def test_verification_thirty_days_before_and_the_day_after(
    bot, session_factory, settings, session, people
) -> None:
    golden = await session.scalar(select(Account).where(Account.number == GOLDEN_NUMBER))
    await factories.meter(
        session,
        golden,
        resource="electricity",
        serial="ЭЛ-123",
        verification_due=dt.date(2020, 6, 15),
    )
    await factories.meter(
        session, golden, resource="gas", zone="", serial="", verification_due=dt.date(2020, 6, 15)
    )
    await session.commit()
    quiet = settings  # the bill of March was due 10.04: no pay-by reminder in May and June
    assert (await run(bot, session_factory, quiet, at(5, 15))).sent == 0  # 31 days before
    await run(bot, session_factory, quiet, at(5, 16))
    soon = (
        f"🔧 Срок поверки счётчиков по л/с № {GOLDEN_NUMBER} ({GOLDEN_ADDRESS}) истекает "
        "15.06.2020:\n• Электроэнергия, № ЭЛ-123\n• Газ\n\n"
    )
    assert [chat for chat, _ in sent(bot)] == [2001, 2002]
    assert all(text.startswith(soon) for _, text in sent(bot))
    for moment in (at(5, 17), at(6, 14), at(6, 15)):
        assert (await run(bot, session_factory, quiet, moment)).sent == 0
    await run(bot, session_factory, quiet, at(6, 16))
    over = [text for _, text in sent(bot)[2:]]
    assert len(over) == 2
    assert over[0].startswith(
        f"⚠️ Срок поверки счётчиков по л/с № {GOLDEN_NUMBER} ({GOLDEN_ADDRESS}) истёк 15.06.2020:"
    )
    assert (await run(bot, session_factory, quiet, at(6, 17))).sent == 0


async def test_one_meter_is_named_in_the_singular(bot, session_factory, settings, session, people):
    golden = await session.scalar(select(Account).where(Account.number == GOLDEN_NUMBER))
    await factories.meter(session, golden, serial="ХВ-9", verification_due=dt.date(2020, 5, 1))
    await session.commit()
    await run(bot, session_factory, settings, at(4, 20))
    assert sent(bot)[0][1].startswith("🔧 Срок поверки счётчика по л/с")
    assert "• ХВС (холодная вода), № ХВ-9" in sent(bot)[0][1]


# --- who gets them -----------------------------------------------------------------------------


async def test_unlinked_and_switched_off_residents_get_nothing(
    bot, session_factory, settings, session, engine, tmp_path, people
) -> None:
    golden = await session.scalar(select(Account).where(Account.number == GOLDEN_NUMBER))
    await factories.meter(session, golden, verification_due=dt.date(2020, 5, 1))
    await session.commit()
    await load(engine, tmp_path, f"{GOLDEN_NUMBER},05.04.2020,100.00,2020-04\n", at(4, 7))
    await run(bot, session_factory, settings, at(4, 7))
    kinds = {text[0] for _, text in sent(bot)}
    assert kinds == {"💰", "🔔", "🔧"}  # all three went out, to the two who want them
    assert {chat for chat, _ in sent(bot)} == {2001, 2002}  # not 2003 (off), not 2004 (unlinked)


async def test_a_blocked_resident_is_marked_unreachable_and_not_tried_again(
    bot, session_factory, settings, session, people
) -> None:
    bot.session.fail_with["sendMessage"] = forbidden()  # type: ignore[attr-defined]
    summary = await run(bot, session_factory, settings, at(4, 7))
    assert (summary.sent, summary.blocked) == (0, 2)
    del bot.session.fail_with["sendMessage"]  # type: ignore[attr-defined]
    assert (await run(bot, session_factory, settings, at(4, 8))).sent == 0
    marked = await session.scalars(
        select(Resident.unreachable_at)
        .where(Resident.telegram_id.in_([2001, 2002]))
        .execution_options(populate_existing=True)
    )
    assert all(moment is not None for moment in marked)


async def test_the_profile_switches_each_notification(
    client, bot, session_factory, settings, session
) -> None:
    anna = await factories.resident(session)  # Telegram user 1001, the client
    await factories.link(session, anna, await factories.golden(session))
    await session.commit()
    await client.send(tc.BTN_PROFILE)
    text = client.last_text()
    for line in (tp.NOTIFY_PAYMENTS, tp.NOTIFY_PAY_BY, tp.NOTIFY_VERIFICATION):
        assert line.format(state=tp.ON) in text
    await client.click("Срок оплаты")
    assert tp.NOTIFY_PAY_BY.format(state=tp.OFF) in client.last_text()
    person = await session.scalar(
        select(Resident).where(Resident.id == anna.id).execution_options(populate_existing=True)
    )
    assert (person.notify_payments, person.notify_pay_by, person.notify_verification) == (
        True,
        False,
        True,
    )
    before = len(sent(bot))
    assert (await run(bot, session_factory, settings, at(4, 7))).sent == 0
    assert len(sent(bot)) == before
    await client.click("Оплата поступила")
    await client.click("Поверка счётчиков")
    await client.click("Срок оплаты")
    person = await session.scalar(
        select(Resident).where(Resident.id == anna.id).execution_options(populate_existing=True)
    )
    assert (person.notify_payments, person.notify_pay_by, person.notify_verification) == (
        False,
        True,
        False,
    )
    assert (await run(bot, session_factory, settings, at(4, 7))).sent == 1


async def test_the_log_keeps_one_row_per_notice(bot, session_factory, settings, session, people):
    golden = await session.scalar(select(Account).where(Account.number == GOLDEN_NUMBER))
    await run(bot, session_factory, settings, at(4, 7))
    rows = list(await session.scalars(select(ReminderDelivery)))
    assert (
        sorted((r.kind, r.status, r.subject) for r in rows)
        == [("pay_by", "sent", str(golden.id))] * 2
    )


def test_days_left_in_russian() -> None:
    assert t.days_left(0) == "сегодня последний день"
    assert t.days_left(1) == "остался 1 день"
    assert t.days_left(2) == "осталось 2 дня"
    assert t.days_left(5) == "осталось 5 дней"
    assert t.days_left(21) == "остался 21 день"


async def test_the_scheduler_runs_the_notifications_every_ten_minutes(
    bot, session_factory, settings, people
) -> None:
    from bot.scheduler import create_scheduler

    scheduler = create_scheduler(
        settings.model_copy(update={"scheduler_enabled": True}), bot, session_factory
    )
    assert scheduler is not None
    job = scheduler.get_job(notifications.JOB_ID)
    assert job is not None
    assert job.trigger.get_next_fire_time(None, at(4, 7, 10).replace(minute=3)) == at(
        4, 7, 10
    ).replace(minute=10)
    with time_machine.travel(at(4, 7), tick=False):
        assert await job.func() is True
    assert [chat for chat, _ in sent(bot)] == [2001, 2002]


async def test_the_reminder_follows_the_organizations_due_day_and_settings(
    bot, session_factory, settings, session, people
) -> None:
    golden = await session.scalar(select(Account).where(Account.number == GOLDEN_NUMBER))
    org = await session.get(Organization, golden.organization_id)
    org.due_day = 25
    await session.commit()
    five = settings.model_copy(update={"notify_pay_by_days": 5})
    for moment in (at(4, 7), at(4, 19)):
        assert (await run(bot, session_factory, five, moment)).sent == 0
    await run(bot, session_factory, five, at(4, 20))
    assert sent(bot)[0][1].endswith("до 25.04.2020 — осталось 5 дней.")
