"""«Оплатить» and «Открыть PDF» in the Mini App, through its real application, the real bot
talking to the fake Bot API, and the database.

- With a payments provider the API makes an invoice link (`createInvoiceLink`: the chat's
  invoice, its signed payload and limits) for `Telegram.WebApp.openInvoice`; without one it has
  the bot send the chat's «💳 Оплатить» screen (the QR) to the resident's chat.
- The PDF comes through a short-lived signed link that needs no launch data (Telegram's
  `downloadFile`, `openLink`), holding nothing personal: the same bytes as the chat's document.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import pytest
import time_machine
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr
from sqlalchemy import delete

from bot import webapp
from bot.app import create_bot
from bot.fakeapi.server import FakeTelegram
from bot.webapp import links
from services import payments
from services.payments import Verdict
from storage.demo import GOLDEN_NUMBER
from storage.models import AccountLink
from tests import factories
from tests.harness import BOT_TOKEN, BotClient
from tests.webapp.initdata import header, init_data
from texts.ru import common
from texts.ru import payments as tp

NB = "\u00a0"
SECRET = "test-secret-for-payload-signatures"
NOW = dt.datetime(2020, 4, 6, 9, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(BOT_TOKEN) as fake:
        yield fake


@pytest.fixture
def paying(settings):
    return settings.model_copy(
        update={
            "payments_provider_token": SecretStr("284685063:TEST:token"),
            "payments_secret": SecretStr(SECRET),
        }
    )


@pytest.fixture
def make_api(tg, session_factory):
    """The Mini App served with a bot that talks to the fake Bot API."""

    async def make(settings) -> TestClient:
        bot = create_bot(settings.model_copy(update={"telegram_api_url": tg.url}))
        client = TestClient(TestServer(webapp.create_app(settings, session_factory, bot=bot)))
        client.app.on_cleanup.append(lambda _: bot.session.close())
        await client.start_server()
        return client

    return make


@pytest.fixture
async def api(make_api, paying) -> AsyncIterator[TestClient]:
    client = await make_api(paying)
    yield client
    await client.close()


@pytest.fixture
async def chat_only_api(make_api, settings) -> AsyncIterator[TestClient]:
    client = await make_api(settings)
    yield client
    await client.close()


async def post(api, path: str, body: object = None, *, data: str | None = None, **params):
    headers = header(init_data() if data is None else data)
    return await api.post(f"/app/api{path}", json=body, params=params, headers=headers)


async def answer(response) -> tuple[int, dict]:
    return response.status, await response.json()


# --- «Оплатить» with a payments provider --------------------------------------------------------


async def test_an_invoice_link_for_the_amount_due(api, tg, golden_resident, session, paying):
    person, account = golden_resident
    receipts = await (
        await api.get(f"/app/api/accounts/{account.id}/receipts", headers=header(init_data()))
    ).json()
    assert receipts["pay"]["mode"] == "invoice"
    assert receipts["pay"]["due"] == {"value": "2383.29", "text": f"2{NB}383,29"}
    status, body = await answer(await post(api, f"/accounts/{account.id}/invoice", {}))
    assert status == 200
    assert body["url"].startswith("https://t.me/$")
    assert body["amount"] == {"value": "2383.29", "text": f"2{NB}383,29"}
    [made] = tg.calls(method="createInvoiceLink")
    assert made.ok and made.result == body["url"]
    assert (made.params["currency"], made.params["prices"][0]["amount"]) == ("RUB", 238329)
    assert GOLDEN_NUMBER in made.params["title"]  # the chat's invoice: «Оплата ЖКУ, Л/С …»
    # Telegram's pre-checkout for this link gets the chat's verdict: ours, this account, amount
    verdict = await payments.check(
        session, paying, person.id, made.params["payload"], "RUB", 238329
    )
    assert verdict is Verdict.OK


async def test_another_amount_in_rubles_and_kopecks(api, tg, golden_resident) -> None:
    _, account = golden_resident
    status, body = await answer(
        await post(api, f"/accounts/{account.id}/invoice", {"amount": "1 500,50"})
    )
    assert status == 200 and body["amount"]["value"] == "1500.50"
    [made] = tg.calls(method="createInvoiceLink")
    assert made.params["prices"][0]["amount"] == 150050


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"amount": "abc"}, "bad_amount"),
        ({"amount": 1500}, "bad_amount"),  # a number, not the decimal string
        ({"amount": "-5"}, "bad_amount"),
        ({"amount": "99,99"}, "amount_out_of_limits"),  # under PAYMENTS_MIN_RUB
        ({"amount": "250000,01"}, "amount_out_of_limits"),
        ([1], "bad_request"),
        ("1500", "bad_request"),
    ],
)
async def test_a_bad_amount_is_400_and_no_invoice(api, tg, golden_resident, body, code) -> None:
    _, account = golden_resident
    response = await post(api, f"/accounts/{account.id}/invoice", body)
    assert await answer(response) == (400, {"error": code})
    assert tg.calls(method="createInvoiceLink") == []


async def test_nothing_due_and_no_amount_is_400(api, tg, session) -> None:
    person = await factories.resident(session)
    account = await factories.account(session)  # no charges: nothing due
    await factories.link(session, person, account)
    await session.commit()
    response = await post(api, f"/accounts/{account.id}/invoice", {})
    assert await answer(response) == (400, {"error": "amount_out_of_limits"})
    assert tg.calls(method="createInvoiceLink") == []


async def test_no_launch_data_and_someone_elses_account(api, tg, golden_resident, session):
    _, golden = golden_resident
    for path in ("invoice", "pay_in_chat", "receipt_link"):
        response = await api.post(f"/app/api/accounts/{golden.id}/{path}", json={})
        assert await answer(response) == (401, {"error": "unauthorized"})
    await factories.resident(session, telegram_id=1002, phone="+79990000002")
    await session.commit()
    stranger = init_data(user_id=1002)
    for account_id in (golden.id, 999_999):
        for path in ("invoice", "pay_in_chat", "receipt_link"):
            response = await post(
                api, f"/accounts/{account_id}/{path}", {}, data=stranger, period="2020-03"
            )
            assert await answer(response) == (404, {"error": "not_found"}), path
    assert tg.calls() == []


# --- «Оплатить» without a provider: back to the chat ------------------------------------------------


async def test_without_a_provider_the_chat_gets_the_pay_screen(
    chat_only_api, tg, golden_resident
) -> None:
    _, account = golden_resident
    receipts = await (
        await chat_only_api.get(
            f"/app/api/accounts/{account.id}/receipts", headers=header(init_data())
        )
    ).json()
    assert receipts["pay"]["mode"] == "chat"
    response = await post(chat_only_api, f"/accounts/{account.id}/invoice", {})
    assert await answer(response) == (409, {"error": "payments_off"})
    response = await post(chat_only_api, f"/accounts/{account.id}/pay_in_chat", {})
    assert await answer(response) == (200, {"sent": True})
    [sent] = tg.delivered(chat_id=1001, method="sendMessage")
    text = sent.params["text"].replace(NB, " ")
    assert f"Оплата по л/с № {GOLDEN_NUMBER}" in text and "2 383,29" in text
    assert tp.PAY_QR_ONLY.split(":")[0] in text
    buttons = [b["text"] for row in sent.params["reply_markup"]["inline_keyboard"] for b in row]
    assert tp.BTN_QR in buttons
    assert tg.calls(method="createInvoiceLink") == []


async def test_the_pay_screen_not_delivered_is_502(chat_only_api, tg, golden_resident) -> None:
    _, account = golden_resident
    tg.block(1001)
    response = await post(chat_only_api, f"/accounts/{account.id}/pay_in_chat", {})
    assert await answer(response) == (502, {"error": "not_sent"})


# --- the PDF through a signed link ----------------------------------------------------------------


async def link_of(api, account_id: int, period: str = "2020-03") -> dict:
    response = await post(api, f"/accounts/{account_id}/receipt_link", {}, period=period)
    assert response.status == 200
    return await response.json()


async def test_the_linked_pdf_is_the_chats_document(api, golden_resident, dp, bot) -> None:
    _, account = golden_resident
    link = await link_of(api, account.id)
    assert link["file_name"] == f"receipt_{GOLDEN_NUMBER}_2020-03.pdf"
    url = link["url"]
    assert url.startswith("files/")
    # nothing personal, no launch data: not the number, the Telegram id, nor a hash of init data
    for secret in (GOLDEN_NUMBER, "1001", "tma", "query_id", "hash", "user"):
        assert secret not in url
    response = await api.get(f"/app/{url}")  # no Authorization header: the token is the proof
    assert response.status == 200 and response.content_type == "application/pdf"
    served = await response.read()
    chat = BotClient(dp, bot)  # the resident asks the chat for the same receipt
    await chat.send(common.BTN_RECEIPTS)
    await chat.click("март 2020", exact=True)
    [document] = chat.sent("sendDocument")
    assert served == document.document.data
    again = await api.get(f"/app/{url}")  # within its lifetime the link may be opened again
    assert again.status == 200


async def test_an_expired_link_is_401(api, golden_resident) -> None:
    _, account = golden_resident
    url = (await link_of(api, account.id))["url"]
    with time_machine.travel(NOW + links.LIFETIME + dt.timedelta(seconds=1), tick=False):
        response = await api.get(f"/app/{url}")
    assert await answer(response) == (401, {"error": "link_expired"})


async def test_forged_links_are_404(api, golden_resident, session) -> None:
    person, account = golden_resident
    token = (await link_of(api, account.id))["url"].removeprefix("files/")
    body, mac = token.split(".")
    flipped = mac[:-1] + ("A" if mac[-1] != "A" else "B")
    expires = NOW + links.LIFETIME
    foreign = links.sign("42:another-bot", links.Grant(person.id, account.id, dt.date(2020, 3, 1),
                                                       int(expires.timestamp())))  # fmt: skip
    for forged in (f"{body}.{flipped}", f"{body}x.{mac}", "garbage", "a.b.c", "x" * 500, foreign):
        response = await api.get(f"/app/files/{forged}")
        assert await answer(response) == (404, {"error": "not_found"}), forged


async def test_a_link_stops_working_when_the_account_is_unlinked(
    api, golden_resident, session
) -> None:
    person, account = golden_resident
    url = (await link_of(api, account.id))["url"]
    await session.execute(
        delete(AccountLink).where(
            AccountLink.resident_id == person.id, AccountLink.account_id == account.id
        )
    )
    await session.commit()
    assert await answer(await api.get(f"/app/{url}")) == (404, {"error": "not_found"})


async def test_a_link_for_a_month_without_a_receipt_is_404(api, golden_resident) -> None:
    _, account = golden_resident
    response = await post(api, f"/accounts/{account.id}/receipt_link", {}, period="2030-01")
    assert await answer(response) == (404, {"error": "no_receipt"})
    response = await post(api, f"/accounts/{account.id}/receipt_link", {}, period="2020-13")
    assert await answer(response) == (400, {"error": "bad_period"})
