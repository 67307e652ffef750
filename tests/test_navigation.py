"""Consistent navigation (issue 16, point 3): ◀ means earlier, labels make sense where they
stand, and every screen has «◀ Назад» (where it came from) and «🏠 Меню»."""

from __future__ import annotations

from keyboards.menu import MENU_BUTTONS
from tests.harness import inline_buttons, reply_buttons
from tests.test_appeals import stored_appeal
from tests.test_history import golden_resident  # noqa: F401 (a fixture)
from texts.ru import accounts as ta_link
from texts.ru import appeals as ta
from texts.ru import card as tc
from texts.ru import common
from texts.ru import history as th
from texts.ru import profile as tp
from texts.ru import readings as tr


def offered(client) -> list[str]:
    return [b.text for b in inline_buttons(client.bot_messages()[-1].reply_markup)]


async def test_the_payments_statement_offers_the_history_of_payments_by_its_name(
    client,
    golden_resident,  # noqa: F811
) -> None:
    await client.send(common.BTN_ACCOUNTS)
    await client.click(tc.BTN_PAYMENTS)
    await client.click("За март 2020")
    assert th.BTN_ALL_PAYMENTS in offered(client)
    assert th.BTN_PAYMENTS_HISTORY not in offered(client)  # «💳 Платежей» was a genitive
    await client.click(th.BTN_ALL_PAYMENTS)
    assert "История платежей" in client.last_text()


async def test_no_appeals_yet_leads_back_where_it_came_from(client, golden_resident) -> None:  # noqa: F811
    await client.send(common.BTN_ACCOUNTS)
    await client.click(tc.BTN_HISTORY)
    await client.click(th.BTN_APPEALS_HISTORY)
    assert ta.NO_APPEALS in client.last_text()
    await client.click(common.BTN_BACK)
    assert client.last_text().endswith("Что показать?")  # the account's history again


async def test_the_readings_history_meter_choice_leads_back(client, golden_resident) -> None:  # noqa: F811
    await client.send(common.BTN_ACCOUNTS)
    await client.click(tc.BTN_HISTORY)
    await client.click(th.BTN_READINGS_HISTORY)
    assert tr.CHOOSE_HISTORY_METER.split(".")[-1].strip() in client.last_text()
    await client.click(common.BTN_BACK)
    assert client.last_text().endswith("Что показать?")


# --- every screen: «◀ Назад» where it came from, «🏠 Меню» always ------------------------------


def nav_of(client) -> list[str]:
    """The screen's last row: its navigation."""
    markup = client.bot_messages()[-1].reply_markup
    assert markup is not None, f"a dead end: {client.last_text()[:80]!r}"
    return [b.text for b in markup.inline_keyboard[-1]]


def has_back_and_menu(client) -> None:
    assert nav_of(client) == [common.BTN_BACK, common.BTN_MENU], client.last_text()[:80]


def has_menu(client) -> None:
    assert nav_of(client) == [common.BTN_MENU], client.last_text()[:80]


async def back_leads_to(client, expected: str) -> None:
    await client.click(common.BTN_BACK, exact=True)
    assert expected in client.last_text()


async def test_every_screen_of_a_resident_has_a_way_back_and_the_menu(
    client,
    golden_resident,  # noqa: F811
    session,
) -> None:
    # the card and the month
    await client.send(common.BTN_ACCOUNTS)
    has_menu(client)  # one account: the card is the first screen
    await client.click(tc.BTN_CHARGES)
    has_back_and_menu(client)
    await client.click(tc.BTN_MONTH_DETAIL)
    has_back_and_menu(client)
    await back_leads_to(client, "Начисления за март 2020")
    await back_leads_to(client, "Абонент:")  # the card
    # the payments statement
    await client.click(tc.BTN_PAYMENTS)
    has_back_and_menu(client)
    await client.click("За март 2020")
    has_back_and_menu(client)
    await back_leads_to(client, "За какой период")
    await back_leads_to(client, "Абонент:")
    # the histories
    await client.click(tc.BTN_HISTORY)
    has_back_and_menu(client)
    for label, title in (
        (th.BTN_CHARGES_HISTORY, "История начислений"),
        (th.BTN_PAYMENTS_HISTORY, "История платежей"),
        (th.BTN_READINGS_HISTORY, "Выберите счётчик"),
        (th.BTN_APPEALS_HISTORY, ta.NO_APPEALS),
    ):
        await client.click(label)
        assert title in client.last_text()
        has_back_and_menu(client)
        await back_leads_to(client, "Что показать?")
    await client.click(th.BTN_READINGS_HISTORY)
    await client.click("ХВС")
    assert "История показаний" in client.last_text()
    has_back_and_menu(client)
    await back_leads_to(client, "Выберите счётчик")  # opened from the history menu: back there
    await back_leads_to(client, "Что показать?")
    await back_leads_to(client, "Абонент:")
    # a meter's history opened from the meters list leads back to that list
    await client.click(tc.BTN_READINGS)
    await client.click(tr.BTN_HISTORY.split("{")[0])
    assert "История показаний" in client.last_text()
    has_back_and_menu(client)
    await back_leads_to(client, "Счётчики · л/с № 00000000")
    has_back_and_menu(client)  # the meters list
    await back_leads_to(client, "Абонент:")
    # receipts (one account: its months straight away)
    await client.send(common.BTN_RECEIPTS)
    assert "Выберите месяц квитанции" in client.last_text()
    has_back_and_menu(client)
    await back_leads_to(client, "Абонент:")
    # readings from the menu
    await client.send(common.BTN_READINGS)
    has_back_and_menu(client)
    # appeals: the list with an appeal, then the thread
    await client.send(common.BTN_APPEALS)
    has_menu(client)  # the first step of a new appeal
    account = golden_resident[1]
    person = golden_resident[0]
    await stored_appeal(session, person, account, text="Течёт кран")
    await session.commit()
    await client.send(common.BTN_APPEALS)
    await client.click(ta.BTN_MY_APPEALS)
    assert "Ваши обращения" in client.last_text()
    has_menu(client)  # all the resident's appeals: opened from the menu
    await client.click("№")
    has_back_and_menu(client)
    await back_leads_to(client, "Ваши обращения")
    # the profile
    await client.send(common.BTN_PROFILE)
    has_menu(client)
    await client.click(tp.BTN_UNLINK)
    has_back_and_menu(client)
    # linking, step by step
    await client.send("/link")
    has_menu(client)  # the organizations: the first step
    await client.click('АО "ДЭК"', exact=True)
    has_back_and_menu(client)
    await client.click("ул. Ленина, д. 1")
    has_back_and_menu(client)
    await client.click("кв. 1", exact=True)
    has_back_and_menu(client)
    await back_leads_to(client, "Выберите квартиру")
    await back_leads_to(client, "Выберите дом")
    await back_leads_to(client, ta_link.CHOOSE_ORG)


async def test_the_menu_button_leaves_any_dialogue_for_the_main_menu(
    client,
    golden_resident,  # noqa: F811
) -> None:
    await client.send("/link")
    await client.click('АО "ДЭК"', exact=True)
    await client.click(common.BTN_MENU)
    assert client.last_text() == common.MENU
    assert reply_buttons(client.replies[-1].reply_markup) == list(MENU_BUTTONS)
    await client.send("Ленина")  # no longer a search in the linking dialogue
    assert client.last_text() == common.UNKNOWN
