"""Payments statement, histories of charges and payments, charts: through the real dispatcher."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from aiogram.methods import SendPhoto

from handlers.views import plain
from keyboards.callbacks import AppealsHistory, ReadingsHistory
from keyboards.card import HistoryMenu, StatementMenu
from keyboards.history import (
    CHART_CHARGES,
    CHART_CONSUMPTION,
    ChargesHistory,
    Chart,
    PaymentsHistory,
    StatementSpan,
)
from storage.demo import GOLDEN_NUMBER
from tests import factories
from tests.harness import inline_buttons
from texts.ru import card as tc
from texts.ru import common
from texts.ru import history as th

NB = "\u00a0"


def rub(text: str) -> str:
    return text.replace(" ", NB) + f"{NB}₽"


@pytest.fixture
async def golden_resident(session):
    person = await factories.resident(session)
    account = await factories.golden(session)
    await factories.link(session, person, account)
    await session.commit()
    return person, account


def buttons(client) -> dict[str, str]:
    return {b.text: b.callback_data for b in inline_buttons(client.bot_messages()[-1].reply_markup)}


async def open_card(client) -> None:
    await client.send(common.BTN_ACCOUNTS)


async def test_statement_for_the_golden_month(client, golden_resident) -> None:
    await open_card(client)
    await client.click(tc.BTN_PAYMENTS)
    assert "За какой период" in client.last_text()
    offered = buttons(client)
    assert {"За март 2020", th.BTN_SPAN_3, th.BTN_SPAN_12, "2020 год", "2019 год", "2018 год"} <= (
        offered.keys()
    )
    await client.click("За март 2020")
    shown = plain(client.last_text())
    assert "Период: март 2020" in shown
    assert f"Долг на начало периода: {rub('2 337,08')}" in shown
    assert f"Начислено: + {rub('1 460,23')}" in shown
    assert f"Перерасчёты: + {rub('925,98')}" in shown
    assert f"Оплачено: − {rub('2 340,00')}" in shown
    assert f"Долг на конец периода: {rub('2 383,29')}" in shown
    assert f"10.03.2020 — {rub('2 340,00')} · Сбербанк Онлайн" in shown
    assert "1 платёж" in shown
    assert "Корректировка" not in shown and "Поступило" not in shown


@pytest.mark.parametrize(
    ("span", "period", "count"),
    [
        (th.BTN_SPAN_3, "январь 2020 — март 2020", "3 платежа"),
        (th.BTN_SPAN_12, "апрель 2019 — март 2020", "12 платежей"),
        ("2019 год", "январь 2019 — декабрь 2019", "12 платежей"),
        ("2018 год", "апрель 2018 — декабрь 2018", "9 платежей"),
    ],
)
async def test_statement_spans_balance(client, golden_resident, span, period, count) -> None:
    await open_card(client)
    await client.click(tc.BTN_PAYMENTS)
    await client.click(span)
    shown = plain(client.last_text())
    assert f"Период: {period}" in shown
    assert count in shown
    values = {}
    for line in shown.split("\n"):
        label, _, amount = line.partition(": ")
        if amount.endswith("₽"):
            values[label] = Decimal(amount.strip("+− ₽").replace(NB, "").replace(",", ".")) * (
                -1 if amount.startswith("−") and label.startswith("Перерасч") else 1
            )
    assert (
        values["Долг на начало периода"] + values["Начислено"] + values["Перерасчёты"]
        - values["Оплачено"]
        == values["Долг на конец периода"]
    )  # fmt: skip


async def test_history_menu_links_every_history(client, golden_resident) -> None:
    _, account = golden_resident
    await open_card(client)
    await client.click(tc.BTN_HISTORY)
    offered = buttons(client)
    assert offered[th.BTN_READINGS_HISTORY] == ReadingsHistory(account_id=account.id, via=1).pack()
    assert offered[th.BTN_APPEALS_HISTORY] == AppealsHistory(account_id=account.id).pack()
    assert offered[th.BTN_CHARGES_HISTORY] == ChargesHistory(account_id=account.id).pack()
    assert offered[th.BTN_PAYMENTS_HISTORY] == PaymentsHistory(account_id=account.id).pack()


async def test_charges_history_pages_by_period(client, golden_resident) -> None:
    await open_card(client)
    await client.click(tc.BTN_HISTORY)
    await client.click(th.BTN_CHARGES_HISTORY)
    shown = plain(client.last_text())
    assert shown.index("март 2020") < shown.index("апрель 2019")  # newest first, 12 months
    assert "март 2019" not in shown
    assert f"март 2020 — к оплате {rub('2 383,29')}" in shown
    assert (
        f"начислено {'1 460,23'.replace(' ', NB)} · перерасчёт 925,98 · оплачено {'2 340,00'.replace(' ', NB)}"
        in shown
    )
    assert th.BTN_NEWER not in buttons(client)
    await client.click(th.BTN_OLDER)
    shown = plain(client.last_text())
    assert "март 2019" in shown and "апрель 2018" in shown and "март 2020" not in shown
    assert th.BTN_OLDER not in buttons(client)  # 24 months: two pages
    await client.click("мар 2019", exact=True)  # a month of the grid opens its charges
    assert "Начисления за март 2019" in client.last_text()


async def test_payments_history_pages(client, golden_resident) -> None:
    await open_card(client)
    await client.click(tc.BTN_HISTORY)
    await client.click(th.BTN_PAYMENTS_HISTORY)
    shown = plain(client.last_text())
    assert shown.count("Сбербанк Онлайн") == 10
    assert f"10.03.2020 — {rub('2 340,00')} · Сбербанк Онлайн" in shown
    await client.click(th.BTN_OLDER)
    await client.click(th.BTN_OLDER)
    shown = plain(client.last_text())
    assert shown.count("Сбербанк Онлайн") == 4  # 24 payments: 10 + 10 + 4
    assert "10.04.2018" in shown
    assert th.BTN_OLDER not in buttons(client)
    await client.click(th.BTN_NEWER)
    assert plain(client.last_text()).count("Сбербанк Онлайн") == 10


def png_size(data: bytes) -> tuple[int, int]:
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        return image.size


async def test_charges_chart_is_a_photo_with_a_one_line_caption(client, golden_resident) -> None:
    await open_card(client)
    await client.click(tc.BTN_HISTORY)
    made = await client.click(th.BTN_CHARGES_CHART)
    photos = [m for m in made if isinstance(m, SendPhoto)]
    assert len(photos) == 1
    photo = photos[0]
    assert photo.photo.data.startswith(b"\x89PNG")
    width, height = png_size(photo.photo.data)
    assert width >= 800 and height >= 400
    assert "\n" not in photo.caption
    assert "апрель 2019 — март 2020" in photo.caption and GOLDEN_NUMBER in photo.caption


async def test_consumption_chart_per_meter(client, golden_resident) -> None:
    await open_card(client)
    await client.click(tc.BTN_HISTORY)
    made = await client.click(th.BTN_CONSUMPTION_CHART)
    photo = next(m for m in made if isinstance(m, SendPhoto))
    assert photo.photo.data.startswith(b"\x89PNG")
    assert "\n" not in photo.caption and "Потребление" in photo.caption


async def test_consumption_is_the_difference_of_current_readings(session, golden_resident) -> None:
    from sqlalchemy import select

    from storage.models import Meter, Reading
    from storage.repo import billing

    _, account = golden_resident
    periods, meters = await billing.consumption(session, account.id)
    hot = dict(next(m for m in meters if m.resource == "hot_water").points)
    assert hot[periods[-1]] == Decimal("1.9125")  # March 2020, as the golden data has it
    assert hot[periods[-2]] == Decimal("2.1")
    assert len(periods) == 12 and all(p in hot for p in periods)
    # a corrected reading (a newer version) replaces the old one
    meter = await session.scalar(
        select(Meter).where(Meter.account_id == account.id, Meter.resource == "hot_water")
    )
    last = await session.scalar(
        select(Reading).where(Reading.meter_id == meter.id, Reading.period == periods[-1])
    )
    session.add(
        Reading(
            meter_id=meter.id, period=periods[-1], value=last.value + 1, version=2,
            source="resident",
        )
    )  # fmt: skip
    await session.flush()
    _, meters = await billing.consumption(session, account.id)
    hot = dict(next(m for m in meters if m.resource == "hot_water").points)
    assert hot[periods[-1]] == Decimal("2.9125")


async def test_chart_without_data_says_so(client, session) -> None:
    person = await factories.resident(session)
    acc = await factories.account(session)
    await factories.link(session, person, acc)
    await session.commit()
    for kind in (CHART_CHARGES, CHART_CONSUMPTION):
        await client.callback(Chart(account_id=acc.id, kind=kind).pack())
    assert client.alerts() == [th.CHART_NO_DATA] * 2
    assert not client.sent("sendPhoto")


# --- forged navigation ------------------------------------------------------------------------


@pytest.fixture
async def stranger(session, golden_resident):
    owner = await factories.resident(session, telegram_id=2002, phone="+79990000002")
    from storage.demo import add_golden_account

    # the same figures in another organization: someone else's account
    acc = await add_golden_account(session, await factories.organization(session))
    acc.number = "31337000"
    await factories.link(session, owner, acc)
    await session.commit()
    return acc


@pytest.mark.parametrize(
    "make",
    [
        lambda a: StatementMenu(account_id=a).pack(),
        lambda a: StatementSpan(account_id=a, months=1).pack(),
        lambda a: StatementSpan(account_id=a, year=2019).pack(),
        lambda a: HistoryMenu(account_id=a).pack(),
        lambda a: ChargesHistory(account_id=a).pack(),
        lambda a: PaymentsHistory(account_id=a).pack(),
        lambda a: Chart(account_id=a, kind=CHART_CHARGES).pack(),
        lambda a: Chart(account_id=a, kind=CHART_CONSUMPTION).pack(),
    ],
)
async def test_another_residents_account_is_refused(client, stranger, make) -> None:
    await client.callback(make(stranger.id))
    assert client.alerts() == [common.ACCOUNT_NOT_AVAILABLE]
    assert not client.sent("sendMessage") and not client.sent("editMessageText")
    assert not client.sent("sendPhoto")
    assert not any("31337000" in t for t in client.texts())


@pytest.mark.parametrize(
    "make",
    [
        lambda a: StatementSpan(account_id=a, months=5).pack(),
        lambda a: StatementSpan(account_id=a, months=0, year=0).pack(),
        lambda a: StatementSpan(account_id=a, months=3, year=2019).pack(),
        lambda a: StatementSpan(account_id=a, year=3000).pack(),
        lambda a: StatementSpan(account_id=a, year=2010).pack(),  # a year without data
        lambda a: StatementSpan(account_id=a, months=-12).pack(),
        lambda a: ChargesHistory(account_id=a, page=-1).pack(),
        lambda a: ChargesHistory(account_id=a, page=10**9).pack(),
        lambda a: PaymentsHistory(account_id=a, page=-5).pack(),
        lambda a: Chart(account_id=a, kind=7).pack(),
    ],
)
async def test_malformed_navigation_is_no_data(client, golden_resident, make) -> None:
    _, account = golden_resident
    await client.callback(make(account.id))
    assert len(client.alerts()) == 1
    assert client.alerts()[0] in (tc.NO_DATA, th.CHART_NO_DATA)
    assert not client.sent("sendMessage") and not client.sent("editMessageText")


async def test_a_page_past_the_end_is_empty_not_an_error(client, golden_resident) -> None:
    _, account = golden_resident
    await client.callback(PaymentsHistory(account_id=account.id, page=7).pack())
    assert th.PAGE_EMPTY in client.last_text()
    assert th.BTN_OLDER not in buttons(client)


@pytest.mark.parametrize("account_id", [0, -7, 2**64])
async def test_negative_and_huge_ids_are_refused(client, golden_resident, account_id) -> None:
    for data in (
        f"cs:{account_id}",
        f"cp:{account_id}:1:0",
        f"chc:{account_id}:0",
        f"cg:{account_id}:1",
    ):
        await client.callback(data)
    assert client.alerts() == [common.ACCOUNT_NOT_AVAILABLE] * 4
