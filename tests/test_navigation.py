"""Consistent navigation (issue 16, point 3): ◀ means earlier, labels make sense where they
stand, and the screens that were dead ends have a way back."""

from __future__ import annotations

from tests.harness import inline_buttons
from tests.test_history import golden_resident  # noqa: F401 (a fixture)
from texts.ru import appeals as ta
from texts.ru import card as tc
from texts.ru import common
from texts.ru import history as th
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
