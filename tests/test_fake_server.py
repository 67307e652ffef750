"""The fake Bot API server answers aiogram's real Bot (real AiohttpSession) the way Telegram does."""

from __future__ import annotations

import asyncio
import json
import re
import struct
import zlib
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramRetryAfter,
)
from aiogram.types import (
    BotCommand,
    BufferedInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaDocument,
    KeyboardButton,
    LabeledPrice,
    Message,
    ReplyKeyboardMarkup,
)

from bot.fakeapi.html_entities import HtmlParseError, parse_html
from bot.fakeapi.server import FakeTelegram
from tests.harness import BOT_TOKEN


def png(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def keyboard(*buttons: tuple[str, str]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=text, callback_data=data)] for text, data in buttons
        ]
    )


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(BOT_TOKEN) as server:
        yield server


@pytest.fixture
async def api_bot(tg: FakeTelegram) -> AsyncIterator[Bot]:
    """aiogram's real Bot and HTTP session, pointed at the fake as the bot process does it."""
    session = AiohttpSession()
    session.api = TelegramAPIServer.from_base(tg.url)
    bot = Bot(BOT_TOKEN, session=session, default=DefaultBotProperties(parse_mode=ParseMode.HTML))
    yield bot
    await bot.session.close()


async def test_get_me_is_the_bot_of_the_token(api_bot: Bot) -> None:
    me = await api_bot.get_me()
    assert me.id == 42 and me.is_bot and me.username == "cabinet_test_bot"


async def test_long_polling_waits_for_a_queued_update_and_offsets_confirm(
    tg: FakeTelegram, api_bot: Bot
) -> None:
    poll = asyncio.create_task(api_bot.get_updates(timeout=10))
    await tg.wait_for_call("getUpdates", finished=False)  # the poll is waiting, empty-handed
    assert not poll.done()
    await tg.user(1001).send("/start")

    updates = await poll
    assert [u.message.text for u in updates] == ["/start"]
    assert updates[0].message.chat.type == "private"
    assert updates[0].message.entities[0].type == "bot_command"

    await tg.user(1001).send("ещё")
    again = await api_bot.get_updates(timeout=0)  # not confirmed yet: both
    assert [u.message.text for u in again] == ["/start", "ещё"]
    confirmed = await api_bot.get_updates(offset=again[-1].update_id + 1, timeout=0)
    assert confirmed == []
    assert tg.pending_updates() == []


async def test_a_second_poller_terminates_the_first_with_409(
    tg: FakeTelegram, api_bot: Bot
) -> None:
    first = asyncio.create_task(api_bot.get_updates(timeout=10))
    await tg.wait_for_call("getUpdates", finished=False)
    second = asyncio.create_task(api_bot.get_updates(timeout=10))
    with pytest.raises(TelegramConflictError, match="terminated by other getUpdates"):
        await first
    await tg.user(7).send("hi")
    assert [u.message.text for u in await second] == ["hi"]


@pytest.fixture
def clock(tg: FakeTelegram) -> list[float]:
    """A fixed clock for the flood limits: `clock[0] += 1` is a second later."""
    now = [1000.0]
    tg.clock = lambda: now[0]
    return now


async def test_per_chat_limit_answers_429_with_retry_after(
    tg: FakeTelegram, api_bot: Bot, clock: list[float]
) -> None:
    tg.set_limits(per_chat_interval=1.0)  # no burst: one message a second in a chat
    await api_bot.send_message(1001, "первое")
    # aiogram does not retry by itself: the caller gets TelegramRetryAfter.
    with pytest.raises(TelegramRetryAfter) as error:
        await api_bot.send_message(1001, "второе")
    assert error.value.retry_after == 1
    assert "Too Many Requests: retry after 1" in error.value.message
    await api_bot.send_message(1002, "другой чат не ждёт")
    clock[0] += 1
    await api_bot.send_message(1001, "через секунду")

    assert [c.status for c in tg.calls(chat_id=1001)] == [200, 429, 200]
    assert [c.text for c in tg.delivered(chat_id=1001)] == ["первое", "через секунду"]
    rejected = tg.calls(chat_id=1001)[1]
    assert rejected.response["parameters"] == {"retry_after": 1}


async def test_global_limit_answers_429(tg: FakeTelegram, api_bot: Bot, clock: list[float]) -> None:
    tg.set_limits(global_per_second=3)
    for chat_id in (1, 2, 3):
        await api_bot.send_message(chat_id, "рассылка")
    with pytest.raises(TelegramRetryAfter) as error:
        await api_bot.send_message(4, "рассылка")
    assert error.value.retry_after == 1
    clock[0] += 1
    await api_bot.send_message(4, "рассылка")
    assert len(tg.delivered(method="sendMessage")) == 4


async def test_telegram_defaults_allow_a_short_burst_in_a_chat(
    tg: FakeTelegram, api_bot: Bot, clock: list[float]
) -> None:
    for n in range(10):  # a dialogue's few messages at once are fine, as on Telegram
        await api_bot.send_message(1001, f"часть {n}")
    with pytest.raises(TelegramRetryAfter):
        await api_bot.send_message(1001, "одиннадцатое подряд")
    clock[0] += 1  # then one a second
    await api_bot.send_message(1001, "через секунду")
    with pytest.raises(TelegramRetryAfter):
        await api_bot.send_message(1001, "и сразу ещё")


async def test_group_limit_is_per_minute(
    tg: FakeTelegram, api_bot: Bot, clock: list[float]
) -> None:
    tg.set_limits(group_per_minute=2)
    await api_bot.send_message(-100500, "1")
    clock[0] += 10
    await api_bot.send_message(-100500, "2")
    with pytest.raises(TelegramRetryAfter) as error:
        await api_bot.send_message(-100500, "3")
    assert error.value.retry_after == 50
    clock[0] += 50
    await api_bot.send_message(-100500, "3")


async def test_a_chat_that_blocked_the_bot_gets_403(tg: FakeTelegram, api_bot: Bot) -> None:
    await api_bot.send_message(1001, "до блокировки")
    tg.block(1001)
    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await api_bot.send_message(1001, "после")
    await api_bot.send_message(1002, "другим можно")
    assert [c.status for c in tg.calls(method="sendMessage")] == [200, 403, 200]
    assert [c.text for c in tg.delivered(chat_id=1001)] == ["до блокировки"]


async def test_text_over_4096_characters_is_a_bad_request(tg: FakeTelegram, api_bot: Bot) -> None:
    await api_bot.send_message(1001, "я" * 4096)
    await api_bot.send_message(1001, "<b>" + "я" * 4096 + "</b>")  # tags do not count
    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await api_bot.send_message(1001, "я" * 4097)
    with pytest.raises(TelegramBadRequest, match="message caption is too long"):
        await api_bot.send_document(
            1001, BufferedInputFile(b"x", filename="a.txt"), caption="я" * 1025
        )
    with pytest.raises(TelegramBadRequest, match="message text is empty"):
        await api_bot.send_message(1001, "<b></b>")
    assert [c.status for c in tg.calls(chat_id=1001)] == [200, 200, 400, 400, 400]


async def test_callback_data_over_64_bytes_is_a_bad_request(tg: FakeTelegram, api_bot: Bot) -> None:
    await api_bot.send_message(1001, "ok", reply_markup=keyboard(("Да", "x" * 64)))
    with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
        await api_bot.send_message(1001, "no", reply_markup=keyboard(("Да", "x" * 65)))
    with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):  # bytes, not characters
        await api_bot.send_message(1001, "no", reply_markup=keyboard(("Да", "я" * 33)))


async def test_html_that_telegram_cannot_parse_is_a_bad_request(api_bot: Bot) -> None:
    with pytest.raises(TelegramBadRequest, match="can't parse entities: Unsupported start tag"):
        await api_bot.send_message(1001, "Долг <Петрова> 5 ₽")
    with pytest.raises(TelegramBadRequest, match="Can't find end tag corresponding to start tag"):
        await api_bot.send_message(1001, "<b>жирно")
    message = await api_bot.send_message(1001, "<b>Итого:</b> 1 &lt; 2 &amp; 3")
    assert message.text == "Итого: 1 < 2 & 3"
    assert message.entities[0].type == "bold" and message.entities[0].length == 6


async def test_multipart_upload_is_captured(tg: FakeTelegram, api_bot: Bot) -> None:
    pdf = b"%PDF-1.4 receipt bytes"
    message = await api_bot.send_document(
        1001,
        BufferedInputFile(pdf, filename="Квитанция 2020-03.pdf"),
        caption="Квитанция за <b>март 2020</b>",
    )
    call = tg.delivered(chat_id=1001, method="sendDocument")[0]
    assert call.files == {"document": pdf}
    assert call.filenames == {"document": "Квитанция 2020-03.pdf"}
    assert call.visible_text == "Квитанция за март 2020"
    assert message.document.file_name == "Квитанция 2020-03.pdf"
    assert message.document.mime_type == "application/pdf"
    assert message.caption == "Квитанция за март 2020"

    # The file id can be sent again without an upload, and downloaded like from Telegram.
    again = await api_bot.send_document(1002, message.document.file_id)
    assert again.document.file_unique_id == message.document.file_unique_id
    file = await api_bot.get_file(message.document.file_id)
    downloaded = await api_bot.download_file(file.file_path)
    assert downloaded.read() == pdf
    with pytest.raises(TelegramBadRequest, match="wrong file identifier"):
        await api_bot.send_document(1001, "no-such-file-id")


async def test_photos_must_be_images(tg: FakeTelegram, api_bot: Bot) -> None:
    message = await api_bot.send_photo(1001, BufferedInputFile(png(30, 20), filename="chart.png"))
    assert (message.photo[-1].width, message.photo[-1].height) == (30, 20)
    assert tg.delivered(method="sendPhoto")[0].files["photo"] == png(30, 20)
    with pytest.raises(TelegramBadRequest, match="IMAGE_PROCESS_FAILED"):
        await api_bot.send_photo(1001, BufferedInputFile(b"not an image", filename="x.png"))


async def test_media_group_uploads_every_file(tg: FakeTelegram, api_bot: Bot) -> None:
    messages = await api_bot.send_media_group(
        1001,
        [
            InputMediaDocument(media=BufferedInputFile(b"one", filename="1.pdf")),
            InputMediaDocument(media=BufferedInputFile(b"two", filename="2.pdf"), caption="два"),
        ],
    )
    assert [m.document.file_name for m in messages] == ["1.pdf", "2.pdf"]
    assert messages[0].media_group_id == messages[1].media_group_id
    call = tg.delivered(method="sendMediaGroup")[0]
    assert call.files == {"media[0]": b"one", "media[1]": b"two"}
    assert call.text == "два"


async def test_click_edit_and_answer_like_telegram(tg: FakeTelegram, api_bot: Bot) -> None:
    anna = tg.user(1001)
    sent = await api_bot.send_message(
        1001, "Выберите счёт", reply_markup=keyboard(("Счёт 00000000", "c:1"), ("Отмена", "x"))
    )
    query = await anna.click("00000000")  # a part of the button's text is enough
    assert query["data"] == "c:1" and query["message"]["message_id"] == sent.message_id
    updates = await api_bot.get_updates(timeout=0)
    callback = updates[-1].callback_query
    assert callback.message.text == "Выберите счёт"
    await api_bot.answer_callback_query(callback.id, text="Готово")
    edited = await api_bot.edit_message_text(
        "Счёт 00000000", chat_id=1001, message_id=sent.message_id
    )
    assert edited.edit_date is not None and edited.reply_markup is None
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await api_bot.edit_message_text("Счёт 00000000", chat_id=1001, message_id=sent.message_id)
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await api_bot.edit_message_text("x", chat_id=1001, message_id=999)
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await api_bot.answer_callback_query("no-such-query")
    assert await api_bot.delete_message(1001, sent.message_id)
    assert anna.messages() == []
    assert [c.method for c in anna.delivered()] == [
        "sendMessage",
        "answerCallbackQuery",
        "editMessageText",
        "deleteMessage",
    ]


async def test_wait_for_finds_the_answer_after_the_users_action(
    tg: FakeTelegram, api_bot: Bot
) -> None:
    anna = tg.user(1001)
    await api_bot.send_message(1001, "старое")
    await anna.send("/help")
    answer = asyncio.create_task(anna.wait_for("Помощь"))
    await api_bot.send_message(1001, "<i>Помощь</i>")
    call = await answer
    assert call.method == "sendMessage" and call.visible_text == "Помощь"
    with pytest.raises(AssertionError, match="старое"):  # not since the action: not found
        await anna.wait_for("старое", timeout=0.2, after=call)


async def test_reply_keyboard_and_contact(tg: FakeTelegram, api_bot: Bot) -> None:
    anna = tg.user(1001)
    await api_bot.send_message(
        1001,
        "Поделитесь номером",
        reply_markup=ReplyKeyboardMarkup(
            keyboard=[
                [KeyboardButton(text="📱 Номер", request_contact=True)],
                [KeyboardButton(text="Меню")],
            ],
            resize_keyboard=True,
        ),
    )
    assert anna.reply_keyboard() == ["📱 Номер", "Меню"]
    await anna.click("Меню")  # a reply keyboard button sends its text
    await anna.share_contact("+79991234567")
    await anna.share_contact("+79990000000", user_id=555)
    updates = await api_bot.get_updates(timeout=0)
    assert updates[0].message.text == "Меню"
    assert updates[1].message.contact.user_id == 1001
    assert updates[2].message.contact.user_id == 555


async def test_operators_group_and_replies(tg: FakeTelegram, api_bot: Bot) -> None:
    operators = tg.group(-100500, "Операторы")
    posted = await api_bot.send_message(-100500, "Обращение №1")
    await operators.send(9000, "Ответ жильцу", reply_to_message_id=posted.message_id)
    updates = await api_bot.get_updates(timeout=0)
    message = updates[0].message
    assert message.chat.type == "supergroup" and message.chat.title == "Операторы"
    assert message.reply_to_message.message_id == posted.message_id
    assert message.reply_to_message.from_user.id == 42


async def test_commands_are_recorded(tg: FakeTelegram, api_bot: Bot) -> None:
    await api_bot.set_my_commands([BotCommand(command="help", description="Что умеет бот")])
    assert [c.command for c in await api_bot.get_my_commands()] == ["help"]
    call = tg.calls(method="setMyCommands")[0]
    assert call.params["commands"] == [{"command": "help", "description": "Что умеет бот"}]


async def test_raw_http_json_bodies_unknown_methods_and_bad_tokens(tg: FakeTelegram) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.post(
            f"{tg.url}/bot{BOT_TOKEN}/sendMessage",
            json={"chat_id": 5, "text": "json", "reply_markup": {"inline_keyboard": []}},
        ) as response:
            body = await response.json()
            assert response.status == 200 and body["ok"] and body["result"]["text"] == "json"
        async with http.post(
            f"{tg.url}/bot{BOT_TOKEN}/sendmessage", data={"chat_id": "5", "text": "form"}
        ) as response:
            assert response.status == 200  # method names are case-insensitive
        async with http.post(f"{tg.url}/bot{BOT_TOKEN}/launchRocket") as response:
            assert response.status == 404
            assert await response.json() == {
                "ok": False,
                "error_code": 404,
                "description": "Not Found: method not found",
            }
        async with http.post(f"{tg.url}/bot1:wrong/getMe") as response:
            assert response.status == 401
    assert [c.params["chat_id"] for c in tg.delivered(method="sendMessage")] == [5, 5]


async def test_control_endpoints_for_trying_the_bot_by_hand(tg: FakeTelegram, api_bot: Bot) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.post(
            f"{tg.url}/_fake/send", data=json.dumps({"user_id": 1, "text": "/start"})
        ) as response:
            assert (await response.json())["ok"]
        updates = await api_bot.get_updates(timeout=0)
        assert updates[0].message.text == "/start"
        await api_bot.send_message(1, "Здравствуйте!")
        async with http.get(f"{tg.url}/_fake/calls", params={"chat_id": "1"}) as response:
            calls = await response.json()
    assert [(c["method"], c["text"]) for c in calls] == [("sendMessage", "Здравствуйте!")]


async def test_injected_failure(tg: FakeTelegram, api_bot: Bot) -> None:
    tg.fail_next("sendDocument", 400, "Bad Request: chat not found", chat_id=1001)
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await api_bot.send_document(1001, BufferedInputFile(b"x", filename="x.pdf"))
    await api_bot.send_document(1001, BufferedInputFile(b"x", filename="x.pdf"))


async def test_hold_keeps_a_request_unanswered_until_released(
    tg: FakeTelegram, api_bot: Bot
) -> None:
    held = tg.hold("sendMessage", chat_id=1001)
    sending = asyncio.create_task(api_bot.send_message(1001, "жду"))
    call = await held.reached()
    assert call.status is None and not sending.done()
    await api_bot.send_message(1002, "другим не мешает")
    held.release()
    assert (await sending).text == "жду"
    assert call.ok


async def test_click_waits_for_the_button_to_appear(tg: FakeTelegram, api_bot: Bot) -> None:
    anna = tg.user(1001)
    clicking = asyncio.create_task(anna.click("Да"))
    await api_bot.send_message(1001, "Вопрос", reply_markup=keyboard(("Да", "y")))
    assert (await clicking)["data"] == "y"
    with pytest.raises(AssertionError, match="no button 'Нет'"):
        await anna.click("Нет", timeout=0.1)


# --- payments ---------------------------------------------------------------------------------


async def _invoice(api_bot: Bot, **overrides: object) -> Message:
    fields: dict[str, object] = {
        "title": "Оплата ЖКУ",
        "description": "Лицевой счёт 00000000",
        "payload": "p1:1:238329:202003:sig",
        "currency": "RUB",
        "prices": [LabeledPrice(label="Оплата", amount=238329)],
        "provider_token": "284685063:TEST:token",
        "provider_data": '{"receipt": {"items": []}}',
    }
    fields.update(overrides)
    return await api_bot.send_invoice(1001, **fields)  # type: ignore[arg-type]


async def test_send_invoice_enforces_telegrams_limits(tg: FakeTelegram, api_bot: Bot) -> None:
    message = await _invoice(api_bot)
    assert message.invoice is not None and message.invoice.total_amount == 238329
    with pytest.raises(TelegramBadRequest, match="INVOICE_TITLE_INVALID"):
        await _invoice(api_bot, title="Т" * 33)
    with pytest.raises(TelegramBadRequest, match="INVOICE_DESCRIPTION_INVALID"):
        await _invoice(api_bot, description="о" * 256)
    with pytest.raises(TelegramBadRequest, match="INVOICE_PAYLOAD_INVALID"):
        await _invoice(api_bot, payload="я" * 65)  # 130 bytes in UTF-8
    with pytest.raises(TelegramBadRequest, match="CURRENCY_TOTAL_AMOUNT_INVALID"):
        await _invoice(api_bot, prices=[LabeledPrice(label="Оплата", amount=100)])
    with pytest.raises(TelegramBadRequest, match="DATA_JSON_INVALID"):
        await _invoice(api_bot, provider_data="{not json")


async def test_paying_an_invoice_sends_pre_checkout_then_the_successful_payment(
    tg: FakeTelegram, api_bot: Bot
) -> None:
    await _invoice(api_bot)
    invoice = tg.delivered(chat_id=1001, method="sendInvoice")[-1]
    anna = tg.user(1001)

    async def answer(ok: bool) -> None:
        updates = await api_bot.get_updates(timeout=10)
        query = updates[-1].pre_checkout_query
        assert query is not None and query.total_amount == 238329
        await api_bot.get_updates(offset=updates[-1].update_id + 1, timeout=0)
        if ok:
            await api_bot.answer_pre_checkout_query(query.id, ok=True)
        else:
            await api_bot.answer_pre_checkout_query(query.id, ok=False, error_message="Нельзя")
        with pytest.raises(TelegramBadRequest, match="QUERY_ID_INVALID"):  # answered once
            await api_bot.answer_pre_checkout_query(query.id, ok=True)

    refused = asyncio.create_task(anna.pay(invoice))
    await answer(ok=False)
    call, message = await refused
    assert call.params["ok"] is False and message is None
    assert tg.pending_updates() == []

    paid = asyncio.create_task(anna.pay(invoice))
    await answer(ok=True)
    call, message = await paid
    assert message is not None and message["successful_payment"]["total_amount"] == 238329
    updates = await api_bot.get_updates(timeout=0)
    assert updates[-1].message.successful_payment.invoice_payload == "p1:1:238329:202003:sig"


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ("<b>жир</b> x", ("жир x", [{"type": "bold", "offset": 0, "length": 3}])),
        (
            "<a href='http://x'>l</a><a>y</a>",
            ("ly", [{"type": "text_link", "offset": 0, "length": 1, "url": "http://x"}]),
        ),
        ("&lt;&amp;&gt;", ("<&>", [])),
        (
            '<blockquote expandable="">q</blockquote>',
            ("q", [{"type": "expandable_blockquote", "offset": 0, "length": 1}]),
        ),
        ("<u>😀</u>", ("😀", [{"type": "underline", "offset": 0, "length": 2}])),
    ],
)
def test_the_fake_parses_html_as_telegram_does(html: str, expected: tuple) -> None:
    assert parse_html(html) == expected


@pytest.mark.parametrize(
    ("html", "error"),
    [
        ("<b", "Unclosed start tag at byte offset 0"),
        ("<b x>y</b>", 'Expected equal sign in declaration of an attribute of the tag "b"'),
        ("<b x='y>z</b>", "Unclosed start tag at byte offset 0"),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ("<span>x</span>", 'Tag "span" must have class "tg-spoiler"'),
        ("<b>x</b", "Unclosed end tag at byte offset 4"),
        ("<b>x", 'Can\'t find end tag corresponding to start tag "b"'),
    ],
)
def test_the_fake_refuses_bad_html_as_telegram_does(html: str, error: str) -> None:
    with pytest.raises(HtmlParseError, match=re.escape(error)):
        parse_html(html)
