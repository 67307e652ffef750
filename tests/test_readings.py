"""Readings through the real dispatcher and database: the meters list, readings as messages,
validation (window, digits, rollover, spike, verification), corrections, redelivery, history."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from aiogram.types import CallbackQuery, Update
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from keyboards.callbacks import OpenReadings, ReadingsHistory
from storage.models import Account, Meter, Reading
from storage.periods import add_months
from storage.repo.residents import get_by_telegram_id
from tests import factories
from tests.harness import BotClient, inline_buttons
from texts.ru import common

VLADIVOSTOK = dt.timezone(dt.timedelta(hours=10))  # the demo organization's zone
APRIL = dt.date(2020, 4, 1)
MARCH = dt.date(2020, 3, 1)


def at(day: int, hour: int = 12, month: int = 4) -> time_machine.travel:
    """Freeze the clock at a local time of the demo organization (Asia/Vladivostok, UTC+10)."""
    return time_machine.travel(dt.datetime(2020, month, day, hour, tzinfo=VLADIVOSTOK), tick=False)


@pytest.fixture
async def golden(session: AsyncSession) -> Account:
    """The golden account linked to resident 1001; its two water meters end March 2020."""
    return await factories.golden_linked(session)


async def meters_by_resource(session: AsyncSession, account: Account) -> dict[str, Meter]:
    rows = await session.scalars(select(Meter).where(Meter.account_id == account.id))
    return {m.resource: m for m in rows}


async def readings_of(session: AsyncSession, meter: Meter, period: dt.date) -> list[Reading]:
    rows = await session.scalars(
        select(Reading)
        .where(Reading.meter_id == meter.id, Reading.period == period)
        .order_by(Reading.version)
        .execution_options(populate_existing=True)
    )
    return list(rows)


async def last_value(session: AsyncSession, meter: Meter) -> Decimal:
    return await session.scalar(
        select(Reading.value)
        .where(Reading.meter_id == meter.id)
        .order_by(Reading.period.desc(), Reading.version.desc())
        .limit(1)
    )


def buttons(client: BotClient) -> list[str]:
    return [b.text for m in client.bot_messages() for b in inline_buttons(m.reply_markup)]


# --- the meters list ---------------------------------------------------------------------------


async def test_menu_lists_meters_with_last_readings_and_verification(
    client: BotClient, golden: Account
) -> None:
    with at(10):
        await client.send(common.BTN_READINGS)
    text = client.last_text()
    assert "Счётчики · л/с № 00000000" in text
    assert "ХВС (холодная вода)" in text and "ГВС (горячая вода)" in text
    assert "ХВ-0047110815" in text and "ГВ-0047114711" in text
    assert "от 22.03.2020" in text  # the last accepted reading's date
    assert "За апрель 2020: не переданы" in text
    assert "Поверка до 30.06.2027" in text
    assert "Приём показаний с 20 по 25 число; откроется 20 апреля" in text
    assert "<code>ХВС 123,4" in text  # how to send


async def test_verification_flagged_when_past_or_within_30_days(
    client: BotClient, golden: Account, session: AsyncSession
) -> None:
    meters = await meters_by_resource(session, golden)
    meters["cold_water"].verification_due = dt.date(2020, 5, 10)
    meters["hot_water"].verification_due = dt.date(2020, 4, 1)
    await session.commit()
    with at(21):
        await client.send("/readings")
    text = client.last_text()
    assert "⚠️ Поверка до 10.05.2020 — срок скоро истекает" in text
    assert "Срок поверки истёк 01.04.2020" in text


async def test_several_accounts_choose_one_first_and_forged_account_refused(
    client: BotClient, golden: Account, session: AsyncSession
) -> None:
    resident = await factories.resident(session, telegram_id=1002, phone="+79990000002")
    other = await factories.account(session, number="77777777")
    await factories.link(session, resident, other)
    mine = await factories.account(session, number="55555555")
    owner = await get_by_telegram_id(session, 1001)
    assert owner is not None
    await factories.link(session, owner, mine)
    await session.commit()

    await client.send("/readings")
    assert "Выберите лицевой счёт" in client.last_text()
    assert any("00000000" in b for b in buttons(client))
    await client.click("00000000")
    assert "Счётчики · л/с № 00000000" in client.last_text()

    await client.callback(OpenReadings(account_id=other.id).pack())
    assert client.alerts()[-1] == common.ACCOUNT_NOT_AVAILABLE
    assert "77777777" not in client.last_text()


async def test_unregistered_user_is_sent_to_start(make_client, golden: Account) -> None:
    stranger = make_client(5555)
    await stranger.send("123,4")
    assert stranger.last_text() == common.NOT_REGISTERED


# --- readings as messages ----------------------------------------------------------------------


async def test_lone_number_goes_to_the_meter_that_can_take_it_then_confirms_and_saves(
    client: BotClient, golden: Account, session: AsyncSession
) -> None:
    meters = await meters_by_resource(session, golden)
    cold = meters["cold_water"]
    previous = await last_value(session, cold)
    value = previous + Decimal("3.5")
    typed = f"{value:f}".replace(".", ",")
    with at(21):
        await client.send(typed)  # for the hot meter it would be a spike: no question
        text = client.last_text()
        assert "Проверьте, пожалуйста, показания за апрель 2020" in text
        assert "расход 3,5" in text
        assert not await readings_of(session, cold, APRIL)  # nothing saved before the confirmation
        await client.click("Сохранить")
    assert "Показания за апрель 2020 сохранены" in client.last_text()
    assert "До 25 апреля показания можно исправить" in client.last_text()
    saved = await readings_of(session, cold, APRIL)
    assert [(r.value, r.version, r.source, r.needs_review) for r in saved] == [
        (value, 1, "resident", False)
    ]
    assert saved[0].update_id is not None and saved[0].taken_on == dt.date(2020, 4, 21)


async def test_several_lines_by_resource_and_serial_tail(
    client: BotClient, golden: Account, session: AsyncSession
) -> None:
    meters = await meters_by_resource(session, golden)
    cold, hot = meters["cold_water"], meters["hot_water"]
    cold_value = await last_value(session, cold) + 2
    hot_value = Decimal(470)  # the last is 462,2125
    with at(22):
        await client.send(f"Добрый день!\nхол. вода {cold_value:f} м3\n№4711 {hot_value:f}")
        assert "Проверьте" in client.last_text()
        await client.click("Сохранить")
    assert [r.value for r in await readings_of(session, cold, APRIL)] == [cold_value]
    assert [r.value for r in await readings_of(session, hot, APRIL)] == [hot_value]


async def test_electricity_day_and_night(client: BotClient, session: AsyncSession) -> None:
    resident = await factories.resident(session)
    account = await factories.account(session)
    await factories.link(session, resident, account)
    day = await factories.meter(session, account, resource="electricity", zone="day", decimals=1)
    night = await factories.meter(
        session, account, resource="electricity", zone="night", decimals=1
    )
    await factories.reading(session, day, MARCH, "1100")
    await factories.reading(session, night, MARCH, "700")
    await session.commit()
    with at(20):
        await client.send("эл день 1200 ночь 800")
        await client.click("Сохранить")
    assert [r.value for r in await readings_of(session, day, APRIL)] == [Decimal(1200)]
    assert [r.value for r in await readings_of(session, night, APRIL)] == [Decimal(800)]


async def test_text_that_is_not_readings_falls_through(client: BotClient, golden: Account) -> None:
    with at(21):
        await client.send("Спасибо за помощь")
        assert client.last_text() == common.UNKNOWN
        await client.send("кв 12, подъезд 3")
        assert client.last_text() == common.UNKNOWN


async def test_cancel_and_fix_save_nothing(
    client: BotClient, golden: Account, session: AsyncSession
) -> None:
    cold = (await meters_by_resource(session, golden))["cold_water"]
    value = await last_value(session, cold) + 1
    with at(21):
        await client.send(f"ХВС {value:f}")
        await client.send("привет")  # the dialogue waits for its buttons
        assert "Сначала подтвердите показания" in client.last_text()
        await client.click("Исправить")
        assert "пришлите показания ещё раз" in client.last_text()
        await client.send(f"ХВС {value:f}")
        await client.send("/cancel")
        assert client.last_text() == common.CANCELLED
    assert not await readings_of(session, cold, APRIL)


async def test_button_of_replaced_question_is_stale(
    client: BotClient, golden: Account, session: AsyncSession
) -> None:
    cold = (await meters_by_resource(session, golden))["cold_water"]
    base = await last_value(session, cold)
    with at(21):
        await client.send(f"ХВС {base + 1:f}")
        first = client.bot_messages()[-1]
        await client.send(f"ХВС {base + 2:f}")  # replaces the pending value
        save = next(b for b in inline_buttons(first.reply_markup) if "Сохранить" in b.text)
        await client.callback(save.callback_data, first)
        assert client.alerts()[-1].startswith("Эти кнопки устарели")
        await client.click("Сохранить")
    assert [r.value for r in await readings_of(session, cold, APRIL)] == [base + 2]


async def test_forged_meter_choice_is_refused(
    client: BotClient, golden: Account, session: AsyncSession
) -> None:
    stranger_account = await factories.account(session)
    foreign = await factories.meter(session, stranger_account)
    await session.commit()
    with at(21):
        await client.send("123")
        question = client.bot_messages()[-1]
        nonce = inline_buttons(question.reply_markup)[0].callback_data.split(":")[1]
        await client.callback(f"rp:{nonce}:0:{foreign.id}", question)
    assert client.alerts()[-1].startswith("Эти кнопки устарели")
    assert not await readings_of(session, foreign, APRIL)


# --- validation ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "opens"),
    [
        (at(10), "откроется 20 апреля"),
        (at(26), "откроется 20 мая"),
        # 19 April 23:30 in Vladivostok is still the 19th there (13:30 UTC)
        (at(19, 23), "откроется 20 апреля"),
    ],
)
async def test_outside_the_window_says_when_it_opens(
    client: BotClient, golden: Account, session: AsyncSession, moment, opens: str
) -> None:
    cold = (await meters_by_resource(session, golden))["cold_water"]
    with moment:
        await client.send(f"ХВС {await last_value(session, cold) + 1:f}\nГВС 470")
    text = client.last_text()
    assert "Приём показаний с 20 по 25 число" in text and opens in text
    assert text.count("Приём показаний") == 1  # said once for both meters
    assert "ничего не сохранено" in text
    assert not await readings_of(session, cold, APRIL)


async def test_window_follows_the_organization_time_zone(
    client: BotClient, golden: Account, session: AsyncSession
) -> None:
    """19 April 15:00 UTC is already 20 April 01:00 in Vladivostok: the window is open."""
    cold = (await meters_by_resource(session, golden))["cold_water"]
    with time_machine.travel(dt.datetime(2020, 4, 19, 15, tzinfo=dt.UTC), tick=False):
        await client.send(f"ХВС {await last_value(session, cold) + 1:f}")
        assert "Проверьте" in client.last_text()


async def test_window_configured_per_organization(client: BotClient, session: AsyncSession) -> None:
    resident = await factories.resident(session)
    org = await factories.organization(
        session, readings_day_from=1, readings_day_to=5, timezone="Europe/Moscow"
    )
    account = await factories.account(session, org)
    await factories.link(session, resident, account)
    await factories.meter(session, account)
    await session.commit()
    with time_machine.travel(dt.datetime(2020, 12, 10, 12, tzinfo=dt.UTC), tick=False):
        await client.send("15")
    assert "Приём показаний с 1 по 5 число; откроется 1 января" in client.last_text()


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("ХВС 100,1234", "не больше 3 знаков после запятой"),
        ("ХВС 1234567", "не больше 5 знаков до запятой"),
        ("ХВС -5", "показания не бывают отрицательными"),
        ("ХВС 1e3", "не число"),
        ("0x10", "не число"),
        ("газ 12", "у вас нет такого счётчика"),
    ],
)
async def test_malformed_values_are_refused_with_a_reason(
    client: BotClient, golden: Account, session: AsyncSession, text: str, answer: str
) -> None:
    with at(21):
        await client.send(text)
    assert answer in client.last_text()
    assert "ничего не сохранено" in client.last_text()
    assert not await session.scalar(
        select(func.count()).select_from(Reading).where(Reading.period == APRIL)
    )


async def test_below_previous_refused_equal_accepted(
    client: BotClient, golden: Account, session: AsyncSession
) -> None:
    cold = (await meters_by_resource(session, golden))["cold_water"]
    previous = await last_value(session, cold)
    with at(21):
        await client.send(f"ХВС {previous - 1:f}")
        assert "меньше предыдущих показаний" in client.last_text()
        assert not await readings_of(session, cold, APRIL)
        await client.send(f"ХВС {previous:f}")  # equal: zero use
        assert "расход 0" in client.last_text()
        await client.click("Сохранить")
    assert [r.value for r in await readings_of(session, cold, APRIL)] == [previous]


async def test_rollover_saved_when_confirmed_and_plausible(
    client: BotClient, session: AsyncSession
) -> None:
    resident = await factories.resident(session)
    account = await factories.account(session)
    await factories.link(session, resident, account)
    dial = await factories.meter(session, account, digits=5)
    await factories.reading(session, dial, MARCH, "99995")
    await session.commit()
    with at(21):
        await client.send("7")
        assert "перешёл через ноль" in client.last_text()
        assert "расход 12" in client.last_text()
        await client.click("Сохранить")
    saved = await readings_of(session, dial, APRIL)
    assert [(r.value, r.needs_review, r.review_reason) for r in saved] == [
        (Decimal(7), True, "rollover")
    ]


async def test_rollover_refused_when_the_dial_was_not_near_its_end(
    client: BotClient, session: AsyncSession
) -> None:
    resident = await factories.resident(session)
    account = await factories.account(session)
    await factories.link(session, resident, account)
    dial = await factories.meter(session, account, digits=5)
    await factories.reading(session, dial, MARCH, "50000")
    await session.commit()
    with at(21):
        await client.send("7")
    assert "меньше предыдущих показаний" in client.last_text()
    assert not await readings_of(session, dial, APRIL)


async def test_spike_asks_to_confirm_and_marks_for_review(
    client: BotClient, session: AsyncSession
) -> None:
    resident = await factories.resident(session)
    account = await factories.account(session)
    await factories.link(session, resident, account)
    dial = await factories.meter(session, account)
    for back in range(7, 0, -1):  # 3 m³ a month
        await factories.reading(session, dial, add_months(APRIL, -back), 100 + 3 * (7 - back))
    await session.commit()
    with at(21):
        await client.send("ХВС 140")  # 22 m³: over 3× the average (3) and over the floor
        text = client.last_text()
        assert "намного больше обычного" in text and "в среднем 3" in text
        await client.click("Сохранить")
    assert "на проверке у управляющей организации" in client.last_text()
    saved = await readings_of(session, dial, APRIL)
    assert [(r.value, r.needs_review, r.review_reason) for r in saved] == [
        (Decimal(140), True, "spike")
    ]


async def test_small_rise_over_a_tiny_average_is_not_a_spike(
    client: BotClient, session: AsyncSession
) -> None:
    resident = await factories.resident(session)
    account = await factories.account(session)
    await factories.link(session, resident, account)
    dial = await factories.meter(session, account)
    for back in range(7, 0, -1):  # 0.5 m³ a month
        value = Decimal(100) + Decimal("0.5") * (7 - back)
        await factories.reading(session, dial, add_months(APRIL, -back), value)
    await session.commit()
    with at(21):
        await client.send("ХВС 108")  # 5 m³: 10× the average, but under the floor
        assert "намного больше" not in client.last_text()
        await client.click("Сохранить")
    assert [r.needs_review for r in await readings_of(session, dial, APRIL)] == [False]


@pytest.mark.parametrize("field", ["archived", "expired"])
async def test_archived_or_unverified_meter_is_refused(
    client: BotClient, session: AsyncSession, field: str
) -> None:
    resident = await factories.resident(session)
    account = await factories.account(session)
    await factories.link(session, resident, account)
    dial = await factories.meter(session, account, serial="ХВ-4711")
    await factories.meter(session, account, serial="ХВ-0815")
    if field == "archived":
        dial.archived = True
    else:
        dial.verification_due = dt.date(2020, 4, 1)
    await session.commit()
    with at(21):
        await client.send("№4711 12")
    text = client.last_text()
    if field == "archived":
        assert "счётчик выведен из учёта, показания по нему не принимаются" in text
    else:
        assert "срок поверки истёк 01.04.2020 — показания не принимаются" in text
    assert not await readings_of(session, dial, APRIL)


# --- corrections and redelivery ---------------------------------------------------------------


async def test_correction_within_the_window_keeps_every_version(
    client: BotClient, golden: Account, session: AsyncSession
) -> None:
    cold = (await meters_by_resource(session, golden))["cold_water"]
    base = await last_value(session, cold)
    with at(21):
        await client.send(f"ХВС {base + 5:f}")
        await client.click("Сохранить")
    with at(23):
        await client.send(f"ХВС {base + 4:f}")
        assert "заменит переданные ранее" in client.last_text()
        await client.click("Сохранить")
        assert "(исправление)" in client.last_text()
    saved = await readings_of(session, cold, APRIL)
    assert [(r.value, r.version, r.taken_on) for r in saved] == [
        (base + 5, 1, dt.date(2020, 4, 21)),
        (base + 4, 2, dt.date(2020, 4, 23)),
    ]
    assert saved[0].created_at <= saved[1].created_at
    with at(26):  # the window has closed: no more corrections
        await client.send(f"ХВС {base + 6:f}")
        assert "откроется 20 мая" in client.last_text()
    assert len(await readings_of(session, cold, APRIL)) == 2


def _confirm_update(client: BotClient, update_id: int) -> Update:
    """The "Сохранить" press as Telegram delivers it, reusable to redeliver it unchanged."""
    message = client.bot_messages()[-1]
    button = next(b for b in inline_buttons(message.reply_markup) if "Сохранить" in b.text)
    query = CallbackQuery(
        id=f"cq{update_id}",
        from_user=client.user,
        chat_instance="ci",
        message=message,
        data=button.callback_data,
    )
    return Update(update_id=update_id, callback_query=query)


async def test_redelivered_confirmation_saves_one_reading(
    client: BotClient, golden: Account, session: AsyncSession
) -> None:
    cold = (await meters_by_resource(session, golden))["cold_water"]
    value = await last_value(session, cold) + 1
    with at(21):
        await client.send(f"ХВС {value:f}")
        update = _confirm_update(client, 700_001)
        await client.feed(update)
        await client.feed(update)  # Telegram delivers it again
    saved = await readings_of(session, cold, APRIL)
    assert [(r.value, r.update_id) for r in saved] == [(value, 700_001)]
    assert client.texts()[-2].startswith("Показания за апрель 2020 сохранены")
    assert client.alerts()[-1] == "Эти показания уже сохранены."


async def test_redelivery_after_a_crash_before_the_state_was_cleared(
    client: BotClient, golden: Account, session: AsyncSession, dp
) -> None:
    """The reading was committed but the process died before the dialogue state was dropped:
    the state is still there when the update comes again, and the update id stops a resave."""
    cold = (await meters_by_resource(session, golden))["cold_water"]
    value = await last_value(session, cold) + 1
    with at(21):
        await client.send(f"ХВС {value:f}")
        update = _confirm_update(client, 700_002)
        state = dp.fsm.get_context(client.bot, client.chat.id, client.user.id)
        kept_state, kept_data = await state.get_state(), await state.get_data()
        await client.feed(update)
        await state.set_state(kept_state)  # as if the clear never happened
        await state.set_data(kept_data)
        await client.feed(update)
    assert len(await readings_of(session, cold, APRIL)) == 1
    assert "уже сохранены" in " ".join(client.alerts())
    assert await state.get_state() is None


# --- history -----------------------------------------------------------------------------------


async def test_history_shows_twelve_periods_with_consumption_and_pages(
    client: BotClient, golden: Account, session: AsyncSession
) -> None:
    hot = (await meters_by_resource(session, golden))["hot_water"]
    with at(10):
        await client.callback(ReadingsHistory(account_id=golden.id, meter_id=hot.id).pack())
    text = client.last_text()
    assert "История показаний" in text and "ГВ-0047114711" in text
    assert "март 2020" in text and "апрель 2019" in text and "март 2019" not in text
    assert "(расход 1,9125" in text  # March's use, as in figure 5
    assert "(расход 2,1" in text
    assert text.count("расход") == 12
    await client.click("Раньше")
    older = client.last_text()
    assert "март 2019" in older and "апрель 2018" in older and "март 2020" not in older
    assert "(расход" not in older.splitlines()[-1]  # the first reading has no previous one
    assert "Раньше" not in buttons(client)  # 24 months: two pages
    await client.click("Позже")
    assert "март 2020" in client.last_text()
    assert client.sent("editMessageText")  # pages turn in place


async def test_history_of_the_account_asks_for_the_meter_and_refuses_foreign_meters(
    client: BotClient, golden: Account, session: AsyncSession
) -> None:
    await client.callback(ReadingsHistory(account_id=golden.id).pack())
    assert "Выберите счётчик" in client.last_text()
    await client.click("ГВС")
    assert "ГВ-0047114711" in client.last_text()

    other = await factories.account(session)
    foreign = await factories.meter(session, other)
    await session.commit()
    await client.callback(ReadingsHistory(account_id=golden.id, meter_id=foreign.id).pack())
    await client.callback(ReadingsHistory(account_id=other.id, meter_id=foreign.id).pack())
    assert client.alerts()[-2:] == [common.ACCOUNT_NOT_AVAILABLE] * 2
