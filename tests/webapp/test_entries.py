"""How residents reach the Mini App: «📋 Таблица» on the card and the month view, the menu
button; and where it is served: the webhook's server, or WEBAPP_HOST:WEBAPP_PORT when polling."""

from __future__ import annotations

import socket
from urllib.parse import parse_qs, urlsplit

from aiogram.methods import SetChatMenuButton
from aiogram.types import ChatMemberMember, User
from aiohttp import ClientSession
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

from bot import webapp
from bot.app import create_dispatcher
from bot.webhook import build_app
from tests.harness import BotClient, inline_buttons
from tests.webapp.conftest import WEBAPP_URL
from tests.webapp.initdata import header, init_data
from texts.ru import card as tc
from texts.ru import common
from texts.ru import webapp as tw


def table_url(client: BotClient) -> str | None:
    for button in inline_buttons(client.bot_messages()[-1].reply_markup):
        if button.text == tw.BTN_TABLE:
            assert button.callback_data is None and button.web_app is not None
            return button.web_app.url
    return None


async def test_card_and_month_open_the_app_at_the_account(client, golden_resident) -> None:
    _, account = golden_resident
    await client.send(common.BTN_ACCOUNTS)
    url = table_url(client)
    assert url is not None and url.startswith(WEBAPP_URL)
    assert parse_qs(urlsplit(url).query) == {"account": [str(account.id)]}
    await client.click(tc.BTN_CHARGES)
    url = table_url(client)
    assert url is not None
    assert parse_qs(urlsplit(url).query) == {"account": [str(account.id)], "period": ["2020-03"]}
    await client.click("◀ февраль 2020")
    assert parse_qs(urlsplit(table_url(client) or "").query)["period"] == ["2020-02"]


async def test_no_button_without_webapp_url(settings, session_factory, bot, golden_resident):
    plain = settings.model_copy(update={"webapp_url": ""})
    dp = create_dispatcher(plain, session_factory)
    try:
        client = BotClient(dp, bot)
        await client.send(common.BTN_ACCOUNTS)
        assert table_url(client) is None
        await client.click(tc.BTN_CHARGES)
        assert table_url(client) is None
    finally:
        await dp.storage.close()


async def test_menu_button_opens_the_app(bot, settings) -> None:
    await webapp.set_menu_button(bot, settings)
    [call] = [r for r in bot.session.requests if isinstance(r, SetChatMenuButton)]
    assert call.menu_button.web_app.url == WEBAPP_URL
    assert call.menu_button.text == tw.MENU_BUTTON
    bot.session.requests.clear()
    await webapp.set_menu_button(bot, settings.model_copy(update={"webapp_url": ""}))
    assert bot.session.requests == []


async def test_webhook_server_serves_the_app(settings, bot, dp, golden_resident) -> None:
    hooked = settings.model_copy(
        update={"webhook_url": "https://bot.example.org/tg", "webhook_secret": SecretStr("s3cret")}
    )
    # the dispatcher's startup checks the bot's membership in the operators' chat
    member = ChatMemberMember(user=User(id=42, is_bot=True, first_name="bot"))
    bot.session.responses["getChatMember"] = lambda method: member
    app = build_app(hooked, bot, dp)
    async with TestClient(TestServer(app)) as http:
        assert (await http.get("/app/")).status == 200
        response = await http.get("/app/api/accounts", headers=header(init_data()))
        assert response.status == 200
        assert len((await response.json())["accounts"]) == 1
        assert (await http.get("/app/api/accounts")).status == 401


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def test_polling_mode_serves_the_app_on_its_port(settings, session_factory) -> None:
    port = free_port()
    polling = settings.model_copy(update={"webapp_host": "127.0.0.1", "webapp_port": port})
    async with webapp.serve(polling, session_factory), ClientSession() as http:
        async with http.get(f"http://127.0.0.1:{port}/app/") as page:
            assert page.status == 200
        async with http.get(f"http://127.0.0.1:{port}/app/api/accounts") as api:
            assert api.status == 401
