"""A fake Telegram Bot API server (aiohttp, loopback only) that the real bot process talks to.

The bot needs nothing special: start it with `TELEGRAM_API_URL=http://127.0.0.1:PORT` and a
`BOT_TOKEN` whose number before the colon is the bot's id. The fake answers like Telegram does
(`{"ok": true, "result": ...}` with real Message objects; form-encoded, JSON and multipart bodies;
`attach://` uploads) and enforces Telegram's limits:

* 429 `Too Many Requests: retry after N` with `parameters.retry_after` over sending methods: about
  30 messages/s overall, one message per second per chat (Telegram allows short bursts: the
  fake lets 10 through at once, `per_chat_burst`), 20 messages per minute in a group.
  `tg.set_limits(per_chat_interval=1)` makes it a strict one a second and turns the others off;
  `tg.clock = lambda: 100.0` fixes the limits' clock so a test does not depend on the machine's
  speed; `tg.upload_latency = 0.2` makes every sendDocument take 200 ms (off by default);
* 400 `file is too big` from getFile for a file over 20 MB (the Bot API's download limit);
* privacy mode in a group (`group.privacy_mode = True`): unless the bot is an administrator there,
  only commands and replies to the bot's messages reach it;
* 403 `Forbidden: bot was blocked by the user` for a chat that blocked the bot (`tg.block(chat_id)`);
* payments: `sendInvoice` checks title (≤ 32), description (≤ 255), payload (≤ 128 bytes), currency,
  prices (RUB within Telegram's minimum and maximum) and JSON provider_data, and so does
  `createInvoiceLink` (a Mini App's invoice: the link `Telegram.WebApp.openInvoice` opens);
  `user.pay(invoice_call)` sends the `pre_checkout_query` as Telegram does and, when the bot
  answers ok (`answerPreCheckoutQuery`), the `successful_payment` message;
  `user.redeliver_payment(...)` sends that message again (Telegram may redeliver an update);
* 400 for text over 4096 characters, a caption over 1024, an empty text, callback data over
  64 bytes (`BUTTON_DATA_INVALID`), HTML that Telegram cannot parse (`can't parse entities: ...`),
  an edit that changes nothing (`message is not modified`), unknown message or file ids.

In tests (see `tests/e2e/conftest.py` for the `fake_tg` and `start_bot` fixtures):

    async with FakeTelegram(BOT_TOKEN) as tg:          # or: await tg.start() ... await tg.stop()
        anna = tg.user(1001, first_name="Анна")
        await anna.send("/start")
        call = await anna.wait_for("Здравствуйте")     # the sendMessage the bot made, as a Call
        await anna.click("Мои счета")                   # a callback_query for the newest button
        await anna.share_contact("+79991234567")
        tg.calls(chat_id=1001, method="sendMessage")    # every request, with its status
        tg.delivered(chat_id=1001)                      # only the accepted ones
        tg.block(1001); tg.set_limits(global_per_second=30, per_chat_interval=1)
        tg.fail_next("sendDocument", 400, "Bad Request: chat not found", chat_id=1001)
        operators = tg.group(-100500, "Операторы"); await operators.send(9000, "ответ")
        await tg.wait_confirmed()                       # the bot confirmed the newest update

By hand, without Telegram: `python -m bot try` (a chat in the terminal, `bot.fakeapi.terminal`).
For scripts (a terminal for the fake, one for the bot):

    python -m bot.fakeapi.server --port 8081 --token 42:fake
    BOT_TOKEN=42:fake TELEGRAM_API_URL=http://127.0.0.1:8081 python -m bot
    curl -s localhost:8081/_fake/send -d '{"user_id": 1, "text": "/start", "wait": 5}'
    curl -s localhost:8081/_fake/click -d '{"user_id": 1, "text": "Принимаю", "wait": 5}'
    curl -s localhost:8081/_fake/click -d '{"user_id": 1, "text": "Даю согласие", "wait": 5}'
    curl -s localhost:8081/_fake/contact -d '{"user_id": 1, "phone": "+79991234567", "wait": 5}'
    curl -s 'localhost:8081/_fake/calls?chat_id=1'

The fake prints every message the bot sends; `wait` (seconds) makes /_fake/send return the bot's
answer (its first message and those that follow without a pause). `--no-limits` turns the flood
limits off.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import functools
import hashlib
import itertools
import json
import math
import mimetypes
import struct
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from bot.fakeapi.html_entities import HtmlParseError, parse_html, utf16_len

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64
MAX_DOWNLOAD = 20 * 1024 * 1024  # getFile: the largest file a bot may download
# sendInvoice: title 1-32 characters, description 1-255, payload 1-128 bytes
MAX_INVOICE_TITLE = 32
MAX_INVOICE_DESCRIPTION = 255
MAX_INVOICE_PAYLOAD = 128
# Telegram's limits for RUB payments (currencies.json moves with the exchange rate; these are
# inside today's), in kopecks
RUB_MIN_AMOUNT = 8_000
RUB_MAX_AMOUNT = 80_000_000

FILE_FIELDS = (
    "document",
    "photo",
    "audio",
    "video",
    "animation",
    "voice",
    "video_note",
    "sticker",
    "thumbnail",
    "certificate",
)
JSON_FIELDS = {
    "prices",
    "reply_markup",
    "entities",
    "caption_entities",
    "media",
    "commands",
    "scope",
    "allowed_updates",
    "link_preview_options",
    "reply_parameters",
    "menu_button",
    "results",
    "message_ids",
}
TEXT_FIELDS = {
    "text",
    "payload",
    "provider_token",
    "provider_data",
    "currency",
    "error_message",
    "caption",
    "description",
    "short_description",
    "name",
    "url",
    "callback_query_id",
    "parse_mode",
    "title",
    "phone_number",
    "first_name",
    "last_name",
    "vcard",
    "emoji",
    "address",
    "question",
    "custom_title",
    "secret_token",
    "language_code",
}
DEFAULT_ALLOWED = {
    "message",
    "edited_message",
    "channel_post",
    "edited_channel_post",
    "inline_query",
    "chosen_inline_result",
    "callback_query",
    "shipping_query",
    "pre_checkout_query",
    "poll",
    "poll_answer",
    "my_chat_member",
    "chat_join_request",
}


class ApiError(Exception):
    """A Bot API error answer (`ok: false`)."""

    def __init__(self, code: int, description: str, **parameters: Any) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters

    def payload(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.code,
            "description": self.description,
        }
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def bad_request(reason: str) -> ApiError:
    return ApiError(400, f"Bad Request: {reason}")


def _check_inline_button(button: dict[str, Any]) -> None:
    """Telegram's checks of one inline button (its text, callback data ≤ 64 bytes, URL)."""
    if not button.get("text"):
        raise bad_request("BUTTON_TEXT_EMPTY")
    if "callback_data" in button:
        data = str(button["callback_data"]).encode()
        if not data or len(data) > MAX_CALLBACK_DATA:
            raise bad_request("BUTTON_DATA_INVALID")
    elif "url" in button:
        if not str(button["url"]).startswith(("http://", "https://", "tg://")):
            raise bad_request("BUTTON_URL_INVALID")
    elif not set(button) - {"text"}:
        raise bad_request(
            "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
        )


@dataclass
class Call:
    """One request the bot made; `status` is None while a long poll is still waiting."""

    index: int
    method: str
    params: dict[str, Any]
    files: dict[str, bytes] = field(default_factory=dict)
    filenames: dict[str, str] = field(default_factory=dict)
    chat_id: int | None = None
    time: float = 0.0  # the event loop's clock when the request arrived
    status: int | None = None
    response: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return self.status == 200

    @property
    def result(self) -> Any:
        return (self.response or {}).get("result")

    @property
    def description(self) -> str | None:
        return (self.response or {}).get("description")

    @property
    def text(self) -> str | None:
        """The text (or caption) exactly as the bot sent it, HTML tags included."""
        if "text" in self.params:
            return self.params["text"]
        if "caption" in self.params:
            return self.params["caption"]
        media = self.params.get("media")
        if isinstance(media, list):
            captions = [item.get("caption") for item in media if item.get("caption")]
            return "\n".join(captions) if captions else None
        return None

    @property
    def visible_text(self) -> str | None:
        """The text as the resident sees it (HTML parsed when the parse mode is HTML)."""
        text = self.text
        if text is None or str(self.params.get("parse_mode", "")).upper() != "HTML":
            return text
        try:
            return parse_html(text)[0]
        except HtmlParseError:
            return text

    @property
    def reply_markup(self) -> dict[str, Any] | None:
        return self.params.get("reply_markup")

    def buttons(self) -> list[str]:
        """Texts of the inline and reply keyboard buttons the call carried."""
        return [button["text"] for button in _buttons(self.reply_markup)]

    def callback_data(self) -> dict[str, str]:
        """Inline button text -> its callback data."""
        return {
            button["text"]: button["callback_data"]
            for button in _buttons(self.reply_markup)
            if "callback_data" in button
        }

    def matches(self, what: str | Callable[[Call], bool]) -> bool:
        if callable(what):
            return bool(what(self))
        return any(what in text for text in (self.text, self.visible_text) if text)

    def __repr__(self) -> str:
        text = self.text
        short = (text[:60] + "…") if text and len(text) > 60 else text
        return f"<Call #{self.index} {self.method} chat={self.chat_id} {self.status} {short!r}>"


def _buttons(markup: Any) -> Iterable[dict[str, Any]]:
    if not isinstance(markup, dict):
        return []
    rows = markup.get("inline_keyboard") or markup.get("keyboard") or []
    buttons: list[dict[str, Any]] = []
    for row in rows:
        for button in row:
            buttons.append(button if isinstance(button, dict) else {"text": str(button)})
    return buttons


def _image_size(data: bytes) -> tuple[int, int] | None:
    """Width and height of a PNG, JPEG, GIF or WebP; None when it is not an image."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return width, height
    if data.startswith(b"GIF8") and len(data) >= 10:
        width, height = struct.unpack("<HH", data[6:10])
        return width, height
    if data.startswith(b"RIFF") and data[8:12] == b"WEBP":
        return 512, 512
    if data.startswith(b"\xff\xd8"):
        i = 2
        while i + 9 < len(data):
            if data[i] != 0xFF:
                i += 1
                continue
            marker = data[i + 1]
            if marker in (0xC0, 0xC1, 0xC2):
                height, width = struct.unpack(">HH", data[i + 5 : i + 9])
                return width, height
            (length,) = struct.unpack(">H", data[i + 2 : i + 4])
            i += 2 + length
        return 1, 1
    return None


@dataclass
class StoredFile:
    file_id: str
    unique_id: str
    data: bytes
    filename: str | None
    mime_type: str | None


class _Chat:
    """A chat as a test sees it: what the bot delivered there, and waiting for it."""

    def __init__(self, tg: FakeTelegram, chat: dict[str, Any]) -> None:
        self.tg = tg
        self.chat = chat
        self.id: int = chat["id"]
        self._mark = 0  # index of the first call after this chat's latest action
        self.last_update_id: int | None = None  # of this chat's latest action

    def delivered(self, method: str | None = None) -> list[Call]:
        return self.tg.delivered(chat_id=self.id, method=method)

    def texts(self) -> list[str]:
        """Texts and captions of what the bot delivered here, as sent (HTML included)."""
        return [call.text for call in self.delivered() if call.text is not None]

    def last_text(self) -> str | None:
        texts = self.texts()
        return texts[-1] if texts else None

    def messages(self, include_own: bool = False) -> list[dict[str, Any]]:
        """Messages in the chat now (after edits and deletions), oldest first: the bot's, and
        the people's too with `include_own=True`."""
        return [
            message
            for message in self.tg.chat_messages(self.id)
            if include_own or message.get("from", {}).get("id") == self.tg.bot_id
        ]

    async def wait_for(
        self,
        what: str | Callable[[Call], bool],
        timeout: float = 15,
        after: Call | int | None = None,
    ) -> Call:
        """The first delivered call to this chat (a message, an edit, an answer to a button)
        matching a substring of its text or a predicate, since this chat's latest action
        (`after` overrides: a Call or a call index)."""
        start = (
            self._mark if after is None else (after.index + 1 if isinstance(after, Call) else after)
        )

        def find() -> Call | None:
            for call in self.tg._calls[start:]:
                if call.ok and call.chat_id == self.id and call.matches(what):
                    return call
            return None

        try:
            return await self.tg._wait(find, timeout)
        except TimeoutError:
            received = "\n".join(
                f"  {call.method} [{call.status}]: {call.text!r}"
                for call in self.tg._calls[start:]
                if call.chat_id == self.id
            )
            raise AssertionError(
                f"chat {self.id} got nothing matching {what!r} within {timeout} s; "
                f"since the last action it got:\n{received or '  nothing'}"
            ) from None

    async def wait_for_alert(self, what: str | None = None, timeout: float = 15) -> Call:
        """The bot's answer to a button press (answerCallbackQuery) since the latest action."""
        return await self.wait_for(
            lambda c: (
                c.method == "answerCallbackQuery"
                and (what is None or what in (c.params.get("text") or ""))
            ),
            timeout=timeout,
        )

    def _find_button(self, text: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
        messages = list(reversed(self.messages()))
        for exact in (True, False):
            for message in messages:
                markup = message.get("reply_markup") or {}
                for row in markup.get("inline_keyboard", []):
                    for button in row:
                        label = button.get("text", "")
                        if label == text if exact else text in label:
                            return message, button
        return None

    async def _await_button(
        self, text: str, timeout: float, reply_too: bool = False
    ) -> tuple[dict[str, Any] | None, dict[str, Any]]:
        """The newest inline button (or, with `reply_too`, reply keyboard button) with this
        text, waiting for the bot to send it if it is not there yet."""

        def find() -> tuple[dict[str, Any] | None, dict[str, Any]] | None:
            found = self._find_button(text)
            if found is None and reply_too:
                button = self._reply_button(text)
                return (None, button) if button is not None else None
            return found

        try:
            return await self.tg._wait(find, timeout)
        except TimeoutError:
            inline = [b["text"] for m in self.messages() for b in _buttons(m.get("reply_markup"))]
            raise AssertionError(
                f"no button {text!r} in chat {self.id} within {timeout} s; inline buttons: "
                f"{inline}, reply keyboard: {self.reply_keyboard()}"
            ) from None

    def reply_keyboard(self) -> list[str]:
        """Texts of the reply keyboard the person sees now (empty when there is none)."""
        return [button["text"] for button in _buttons(self.tg._reply_keyboards.get(self.id))]

    def _reply_button(self, text: str) -> dict[str, Any] | None:
        for button in _buttons(self.tg._reply_keyboards.get(self.id)):
            if button["text"] == text:
                return button
        return None


class FakeUser(_Chat):
    """A person in a private chat with the bot."""

    def __init__(self, tg: FakeTelegram, user: dict[str, Any]) -> None:
        chat = {"id": user["id"], "type": "private", "first_name": user["first_name"]}
        for name in ("last_name", "username"):
            if user.get(name):
                chat[name] = user[name]
        super().__init__(tg, chat)
        self.user = user

    @property
    def first_name(self) -> str:
        return self.user["first_name"]

    async def send(self, text: str, **fields: Any) -> dict[str, Any]:
        """A text message from this person (commands get their bot_command entity)."""
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            fields.setdefault(
                "entities", [{"type": "bot_command", "offset": 0, "length": utf16_len(command)}]
            )
        return await self.send_message(text=text, **fields)

    async def send_message(self, **fields: Any) -> dict[str, Any]:
        """A message with any Message fields: `photo=[...]`, `sticker={...}`, `document={...}`."""
        message = self.tg._new_message(self.chat, self.user, **fields)
        self._mark = len(self.tg._calls)
        self.last_update_id = await self.tg.queue_update({"message": message})
        return message

    async def share_contact(
        self, phone: str, user_id: int | None = None, first_name: str | None = None
    ) -> dict[str, Any]:
        """The "share my phone" button; `user_id=` someone else's contact (a forgery attempt)."""
        contact = {
            "phone_number": phone,
            "first_name": first_name or self.first_name,
            "user_id": self.id if user_id is None else user_id,
        }
        return await self.send_message(contact=contact)

    async def send_photo(self, data: bytes, caption: str | None = None) -> dict[str, Any]:
        stored = self.tg.store_file(data, "photo.jpg", "image/jpeg")
        width, height = _image_size(data) or (1, 1)
        photo = [
            {
                "file_id": stored.file_id,
                "file_unique_id": stored.unique_id,
                "width": width,
                "height": height,
                "file_size": len(data),
            }
        ]
        extra = {"caption": caption} if caption is not None else {}
        return await self.send_message(photo=photo, **extra)

    async def send_document(
        self, data: bytes, filename: str, caption: str | None = None, mime_type: str | None = None
    ) -> dict[str, Any]:
        stored = self.tg.store_file(data, filename, mime_type)
        document = {
            "file_id": stored.file_id,
            "file_unique_id": stored.unique_id,
            "file_name": filename,
            "file_size": len(data),
        }
        if stored.mime_type:
            document["mime_type"] = stored.mime_type
        extra = {"caption": caption} if caption is not None else {}
        return await self.send_message(document=document, **extra)

    async def click(self, button_text: str, timeout: float = 15) -> dict[str, Any]:
        """Press the newest inline button whose text is (or contains) `button_text`; a reply
        keyboard button of the current keyboard sends its text. Waits (up to `timeout`) for
        the bot to show the button."""
        message, button = await self._await_button(button_text, timeout, reply_too=True)
        if message is None:
            return await self.send(button["text"])
        if "callback_data" not in button:
            raise AssertionError(f"button {button_text!r} has no callback data: {button}")
        return await self.callback(button["callback_data"], message=message)

    async def callback(self, data: str, message: dict[str, Any] | None = None) -> dict[str, Any]:
        """A callback query with any data (forgery tests); on the newest bot message by default."""
        if message is None:
            messages = self.messages()
            message = messages[-1] if messages else None
        query = self.tg._new_callback_query(self.user, self.id, data, message)
        self._mark = len(self.tg._calls)
        self.last_update_id = await self.tg.queue_update({"callback_query": query})
        return query

    def block(self) -> None:
        self.tg.block(self.id)

    async def pre_checkout(
        self, invoice: Call, *, payload: str | None = None, total: int | None = None
    ) -> Call:
        """Press "Pay" under an invoice the bot sent: the `pre_checkout_query` as Telegram sends
        it (a forged `payload` or another `total` for tests); the bot's answer as a Call."""
        params = invoice.params
        query_id = str(next(self.tg._pre_checkout_ids))
        query: dict[str, Any] = {
            "id": query_id,
            "from": self.user,
            "currency": params["currency"],
            "total_amount": total if total is not None else invoice_total(params),
            "invoice_payload": payload if payload is not None else params["payload"],
        }
        if params.get("need_phone_number"):
            query["order_info"] = {"phone_number": "79990000001"}
        self.tg._pre_checkout[query_id] = None
        mark = len(self.tg._calls)
        await self.tg.queue_update({"pre_checkout_query": query})
        return await self.tg.wait_for_call(
            "answerPreCheckoutQuery",
            lambda call: str(call.params.get("pre_checkout_query_id")) == query_id,
            after=mark,
        )

    async def pay(self, invoice: Call, **forged: Any) -> tuple[Call, dict[str, Any] | None]:
        """Pay an invoice: the pre-checkout query, then (only when the bot said ok, as Telegram
        does) the `successful_payment` service message. (The bot's answer, the message.)"""
        answer = await self.pre_checkout(invoice, **forged)
        if answer.params.get("ok") is not True:
            return answer, None
        query = answer.params
        charge = f"tg-charge-{query['pre_checkout_query_id']}"
        paid = {
            "currency": invoice.params["currency"],
            "total_amount": forged.get("total", invoice_total(invoice.params)),
            "invoice_payload": forged.get("payload", invoice.params["payload"]),
            "telegram_payment_charge_id": charge,
            "provider_payment_charge_id": f"provider-{charge}",
        }
        return answer, await self.send_message(successful_payment=paid)

    async def redeliver_payment(self, message: dict[str, Any]) -> None:
        """The same `successful_payment` message in a new update (a redelivery)."""
        self._mark = len(self.tg._calls)
        self.last_update_id = await self.tg.queue_update({"message": message})


class FakeGroup(_Chat):
    """A group (the operators' chat): people in it write, reply and press buttons."""

    def __init__(self, tg: FakeTelegram, chat: dict[str, Any]) -> None:
        super().__init__(tg, chat)
        self.admins: set[int] = set()
        # None: everyone asked about is a member; a set: only these (and admins), others "left"
        self.members: set[int] | None = None
        # Telegram's privacy mode for bots: when on and the bot is not an administrator here,
        # the bot gets only commands and replies to its own messages (`send_document` returns None
        # for a file the bot would not get; nothing is queued)
        self.privacy_mode = False

    def reaches_bot(self, message: dict[str, Any]) -> bool:
        if not self.privacy_mode or self.tg.bot_id in self.admins:
            return True
        replied = message.get("reply_to_message") or {}
        if (replied.get("from") or {}).get("id") == self.tg.bot_id:
            return True
        return str(message.get("text") or "").startswith("/")

    async def send_document(
        self,
        user_id: int,
        data: bytes,
        filename: str,
        reply_to_message_id: int | None = None,
        caption: str | None = None,
    ) -> dict[str, Any] | None:
        """A member sends a file (as a reply to a message of the chat when told)."""
        stored = self.tg.store_file(data, filename)
        document = {
            "file_id": stored.file_id,
            "file_unique_id": stored.unique_id,
            "file_name": filename,
            "file_size": len(data),
        }
        if stored.mime_type:
            document["mime_type"] = stored.mime_type
        fields: dict[str, Any] = {"document": document}
        if caption is not None:
            fields["caption"] = caption
        if reply_to_message_id is not None:
            replied = self.tg.message(self.id, reply_to_message_id)
            if replied is None:
                raise AssertionError(f"no message {reply_to_message_id} in chat {self.id}")
            fields["reply_to_message"] = replied
        user = self.tg.user(user_id).user
        message = self.tg._new_message(self.chat, user, **fields)
        if not self.reaches_bot(message):
            return None
        self._mark = len(self.tg._calls)
        self.last_update_id = await self.tg.queue_update({"message": message})
        return message

    async def send(
        self,
        user_id: int,
        text: str,
        reply_to_message_id: int | None = None,
        message_thread_id: int | None = None,
        **fields: Any,
    ) -> dict[str, Any]:
        user = self.tg.user(user_id).user
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            fields.setdefault(
                "entities", [{"type": "bot_command", "offset": 0, "length": utf16_len(command)}]
            )
        if reply_to_message_id is not None:
            replied = self.tg.message(self.id, reply_to_message_id)
            if replied is None:
                raise AssertionError(f"no message {reply_to_message_id} in chat {self.id}")
            fields["reply_to_message"] = replied
            if message_thread_id is None and replied.get("message_thread_id"):
                message_thread_id = replied["message_thread_id"]
        if message_thread_id is not None:
            fields["message_thread_id"] = message_thread_id
            fields["is_topic_message"] = True
        message = self.tg._new_message(self.chat, user, text=text, **fields)
        self._mark = len(self.tg._calls)
        self.last_update_id = await self.tg.queue_update({"message": message})
        return message

    async def click(self, user_id: int, button_text: str, timeout: float = 15) -> dict[str, Any]:
        message, button = await self._await_button(button_text, timeout)
        if "callback_data" not in button:
            raise AssertionError(f"button {button_text!r} has no callback data: {button}")
        query = self.tg._new_callback_query(
            self.tg.user(user_id).user, self.id, button["callback_data"], message
        )
        self._mark = len(self.tg._calls)
        self.last_update_id = await self.tg.queue_update({"callback_query": query})
        return query


class Hold:
    """Requests held unanswered by `FakeTelegram.hold`."""

    def __init__(self, tg: FakeTelegram, method: str, chat_id: int | None) -> None:
        self.tg = tg
        self.method = method
        self.chat_id = chat_id
        self.calls: list[Call] = []  # the requests being held (then answered), in order
        self._released = asyncio.Event()

    async def reached(self, timeout: float = 15) -> Call:
        """The first held request, once it arrives."""
        return await self.tg._wait(lambda: self.calls[0] if self.calls else None, timeout)

    def release(self) -> None:
        """Answer the held requests (and let later ones through)."""
        self._released.set()
        if self in self.tg._holds:
            self.tg._holds.remove(self)


class _Limits:
    def __init__(self) -> None:
        self.global_per_second: float | None = None
        self.per_chat_interval: float | None = None
        self.per_chat_burst: int = 1
        self.group_per_minute: int | None = None
        self._global: collections.deque[float] = collections.deque()
        self._group: dict[int, collections.deque[float]] = {}
        self._chat: dict[int, tuple[float, float]] = {}  # chat -> (tokens, last time)

    def reset(self) -> None:
        self._global.clear()
        self._group.clear()
        self._chat.clear()

    def check(self, chat_id: int | None, now: float) -> int | None:
        """Seconds to wait (Telegram's retry_after) or None when the send may go now."""
        waits: list[float] = []
        if self.global_per_second:
            window = self._global
            while window and window[0] <= now - 1:
                window.popleft()
            if len(window) >= self.global_per_second:
                waits.append(window[0] + 1 - now)
        if chat_id is not None and self.per_chat_interval:
            tokens = self._tokens(chat_id, now)
            if tokens < 1:
                waits.append((1 - tokens) * self.per_chat_interval)
        if chat_id is not None and chat_id < 0 and self.group_per_minute:
            window = self._group.setdefault(chat_id, collections.deque())
            while window and window[0] <= now - 60:
                window.popleft()
            if len(window) >= self.group_per_minute:
                waits.append(window[0] + 60 - now)
        if not waits:
            return None
        return max(1, math.ceil(max(waits)))

    def _tokens(self, chat_id: int, now: float) -> float:
        assert self.per_chat_interval
        tokens, last = self._chat.get(chat_id, (float(self.per_chat_burst), now))
        return min(float(self.per_chat_burst), tokens + (now - last) / self.per_chat_interval)

    def consume(self, chat_id: int | None, now: float) -> None:
        self._global.append(now)
        if chat_id is None:
            return
        if self.per_chat_interval:
            self._chat[chat_id] = (self._tokens(chat_id, now) - 1, now)
        if chat_id < 0:
            self._group.setdefault(chat_id, collections.deque()).append(now)


def not_modified() -> ApiError:
    return bad_request(
        "message is not modified: specified new message content and reply markup are "
        "exactly the same as a current content and reply markup of the message"
    )


def _edited(message: dict[str, Any], markup: Any) -> dict[str, Any]:
    """`message` with its new keyboard (none: removed) and the time of the edit."""
    message.pop("reply_markup", None)
    if markup:
        message["reply_markup"] = markup
    message["edit_date"] = int(time.time())
    return message


class Hang:
    """What `FakeTelegram.hang` returns: `wait()` until a request hangs; `release()` to answer
    the requests that come after it (the hung ones stay unanswered)."""

    def __init__(self) -> None:
        self.started = asyncio.Event()
        self.released = False

    async def wait(self) -> None:
        await self.started.wait()

    def release(self) -> None:
        self.released = True


# Methods the fake accepts and answers `true` without keeping anything: settings of the bot's
# profile and of forum topics that no test looks at again, and the session's close/log out.
ACCEPTED_AS_IS = frozenset(
    {
        "logOut",
        "close",
        "setMyDescription",
        "setMyShortDescription",
        "setMyName",
        "setChatMenuButton",
        "editForumTopic",
        "closeForumTopic",
        "reopenForumTopic",
        "deleteForumTopic",
        "unpinChatMessage",
    }
)


def _accepted(_call: Call) -> bool:
    return True


class FakeTelegram:
    """The fake Bot API server. See the module docstring."""

    def __init__(
        self,
        token: str = "42:TEST-token-for-tests-only",
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        bot_first_name: str = "Кабинет",
        bot_username: str = "cabinet_test_bot",
        global_per_second: float | None = 30,
        per_chat_interval: float | None = 1.0,
        per_chat_burst: int = 10,
        group_per_minute: int | None = 20,
        echo: Callable[[Call], None] | None = None,
    ) -> None:
        self.token = token
        self.bot_id = int(token.split(":", 1)[0])
        self.bot_user = {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": bot_first_name,
            "username": bot_username,
        }
        self.host = host
        self.port = port
        self.echo = echo
        # The flood limits' clock; a test may set a fixed one (e.g. `lambda: 100.0`) so that
        # whether a send is within a limit does not depend on how fast the machine is.
        self.clock: Callable[[], float] | None = None
        self.limits = _Limits()
        self.set_limits(
            global_per_second=global_per_second,
            per_chat_interval=per_chat_interval,
            per_chat_burst=per_chat_burst,
            group_per_minute=group_per_minute,
        )
        # Seconds each sendDocument takes before Telegram sees it (a real upload: 150-250 ms);
        # its Call is recorded, timed and counted against the limits after that. 0: none.
        self.upload_latency = 0.0
        self._init_state()

    def _init_state(self) -> None:
        """What the server holds: updates, chats and their messages, files, calls."""
        self.webhook: dict[str, Any] | None = None
        self.commands: dict[tuple[str, str], list[dict[str, Any]]] = {}  # (scope, lang) -> list
        self.blocked: set[int] = set()
        self._calls: list[Call] = []
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1)
        self._last_update_id = 0
        self._allowed: set[str] = set(DEFAULT_ALLOWED)
        self._poll_generation = 0
        self._changed = asyncio.Condition()
        self._closing = False
        self._chats: dict[int, dict[str, Any]] = {}
        self._users: dict[int, FakeUser] = {}
        self._groups: dict[int, FakeGroup] = {}
        self._messages: dict[int, dict[int, dict[str, Any]]] = {}  # chat -> id -> message
        self._message_ids: dict[int, itertools.count[int]] = {}
        self._callback_ids = itertools.count(1)
        self._callbacks: dict[str, int] = {}  # callback query id -> chat id
        self._pre_checkout_ids = itertools.count(1)
        self._pre_checkout: dict[str, dict[str, Any] | None] = {}  # query id -> the bot's answer
        self._reply_keyboards: dict[int, dict[str, Any]] = {}  # chat -> current reply keyboard
        self._files: dict[str, StoredFile] = {}
        self._file_ids = itertools.count(1)
        self._topic_ids = itertools.count(100)
        self._failures: list[tuple[str, int | None, ApiError, list[int]]] = []
        self._holds: list[Hold] = []
        self._runner: web.AppRunner | None = None
        self._handlers: dict[str, Callable[[Call], Any]] = {}
        for name in dir(self):
            if name.startswith("api_"):
                self._handlers[name[4:].lower()] = getattr(self, name)
        for method in ACCEPTED_AS_IS:
            self._handlers[method.lower()] = _accepted

    # ----- lifecycle -----

    def make_app(self) -> web.Application:
        app = web.Application(client_max_size=60 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        app.router.add_post("/_fake/send", self._fake_send)
        app.router.add_post("/_fake/click", self._fake_click)
        app.router.add_post("/_fake/contact", self._fake_contact)
        app.router.add_get("/_fake/calls", self._fake_calls)
        return app

    async def start(self) -> FakeTelegram:
        self._closing = False
        self._runner = web.AppRunner(self.make_app(), access_log=None, shutdown_timeout=1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        server = site._server
        assert server is not None and server.sockets  # type: ignore[union-attr]
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        self._closing = True
        await self._notify()  # long polls return at once
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeTelegram:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def now(self) -> float:
        return self.clock() if self.clock is not None else asyncio.get_running_loop().time()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # ----- the test's side -----

    def user(
        self,
        user_id: int,
        first_name: str = "Анна",
        last_name: str | None = None,
        username: str | None = None,
        language_code: str = "ru",
    ) -> FakeUser:
        """A person (created on first use; later calls return the same one)."""
        if user_id not in self._users:
            user: dict[str, Any] = {
                "id": user_id,
                "is_bot": False,
                "first_name": first_name,
                "language_code": language_code,
            }
            if last_name:
                user["last_name"] = last_name
            if username:
                user["username"] = username
            person = FakeUser(self, user)
            self._users[user_id] = person
            self._chats[user_id] = person.chat
        return self._users[user_id]

    def group(self, chat_id: int, title: str = "Операторы", is_forum: bool = False) -> FakeGroup:
        if chat_id not in self._groups:
            chat: dict[str, Any] = {"id": chat_id, "type": "supergroup", "title": title}
            if is_forum:
                chat["is_forum"] = True
            self._groups[chat_id] = FakeGroup(self, chat)
            self._chats[chat_id] = chat
        return self._groups[chat_id]

    def calls(self, chat_id: int | None = None, method: str | None = None) -> list[Call]:
        """Every request so far (any status), oldest first."""
        return [
            call
            for call in self._calls
            if (chat_id is None or call.chat_id == chat_id)
            and (method is None or call.method == method)
        ]

    def delivered(self, chat_id: int | None = None, method: str | None = None) -> list[Call]:
        """Accepted requests that touched a chat (messages, edits, deletions, button answers)."""
        return [
            call
            for call in self.calls(chat_id=chat_id, method=method)
            if call.ok and call.chat_id is not None
        ]

    def mark(self) -> int:
        """The index the next call will get (for `after=`)."""
        return len(self._calls)

    def block(self, chat_id: int) -> None:
        """The person blocked the bot: every request to this chat gets 403 from now on."""
        self.blocked.add(chat_id)

    def unblock(self, chat_id: int) -> None:
        self.blocked.discard(chat_id)

    def set_limits(
        self,
        global_per_second: float | None = None,
        per_chat_interval: float | None = None,
        per_chat_burst: int = 1,
        group_per_minute: int | None = None,
    ) -> None:
        """Flood limits; None disables one. The defaults of the constructor are Telegram's."""
        self.limits.global_per_second = global_per_second
        self.limits.per_chat_interval = per_chat_interval
        self.limits.per_chat_burst = max(1, per_chat_burst)
        self.limits.group_per_minute = group_per_minute
        self.limits.reset()

    def hold(self, method: str, chat_id: int | None = None) -> Hold:
        """Keep requests of `method` (to `chat_id`) unanswered until `release()`: the bot is
        caught in the middle of a handler or a send. `await h.reached()` waits for the first."""
        hold = Hold(self, method, chat_id)
        self._holds.append(hold)
        return hold

    def hang(self, method: str, after: int) -> Hang:
        """Once `after` requests of `method` were answered, leave every later one unanswered for
        good (its sender waits on it, or times out and tries the next, until it is killed), until
        the returned `Hang` is released; requests after that are answered again."""
        original = self._handlers[method.lower()]
        hang = Hang()

        @functools.wraps(original)
        async def hung(call: Call) -> Any:
            if len(self.delivered(method=method)) >= after and not hang.released:
                hang.started.set()
                await asyncio.Event().wait()  # never answered
            return original(call)

        self._handlers[method.lower()] = hung
        return hang

    async def _held(self, call: Call) -> None:
        for hold in list(self._holds):
            if hold.method == call.method and hold.chat_id in (None, call.chat_id):
                hold.calls.append(call)
                await self._notify()
                await hold._released.wait()

    def fail_next(
        self,
        method: str,
        error_code: int = 500,
        description: str = "Internal Server Error",
        *,
        chat_id: int | None = None,
        times: int = 1,
        **parameters: Any,
    ) -> None:
        """The next `times` calls of `method` (to `chat_id`, if given) get this error."""
        error = ApiError(error_code, description, **parameters)
        self._failures.append((method, chat_id, error, [times]))

    def message(self, chat_id: int, message_id: int) -> dict[str, Any] | None:
        return self._messages.get(chat_id, {}).get(message_id)

    def chat_messages(self, chat_id: int) -> list[dict[str, Any]]:
        return list(self._messages.get(chat_id, {}).values())

    def file(self, file_id: str) -> bytes:
        return self._files[file_id].data

    def store_file(
        self, data: bytes, filename: str | None = None, mime_type: str | None = None
    ) -> StoredFile:
        number = next(self._file_ids)
        digest = hashlib.sha1(data).hexdigest()[:16]
        if mime_type is None and filename:
            mime_type = mimetypes.guess_type(filename)[0]
        stored = StoredFile(f"FILE{number}-{digest}", f"U{digest}", data, filename, mime_type)
        self._files[stored.file_id] = stored
        return stored

    async def queue_update(self, update: dict[str, Any]) -> int:
        """Queue a raw update (without update_id) for the bot's next getUpdates."""
        update = {"update_id": next(self._update_ids), **update}
        self._last_update_id = update["update_id"]
        self._updates.append(update)
        await self._notify()
        return update["update_id"]

    def pending_updates(self) -> list[dict[str, Any]]:
        """Queued updates the bot has not confirmed yet."""
        return list(self._updates)

    def take_pending_updates(self) -> list[dict[str, Any]]:
        """Queued updates, taken out of the getUpdates queue (to deliver them by webhook)."""
        updates, self._updates = self._updates, []
        return updates

    @property
    def last_update_id(self) -> int:
        """The id of the newest queued update (0 before any)."""
        return self._last_update_id

    async def wait_confirmed(self, update_id: int | None = None, timeout: float = 15) -> Call:
        """Until the bot confirms `update_id` (default: the newest update) by polling with a
        higher offset, as Telegram counts it. After that, a killed bot will not get it again."""
        target = self.last_update_id if update_id is None else update_id

        def confirms(call: Call) -> bool:
            offset = call.params.get("offset")
            return isinstance(offset, int) and offset > target

        return await self.wait_for_call("getUpdates", confirms, timeout=timeout, finished=False)

    async def wait_for_call(
        self,
        method: str | None = None,
        predicate: Callable[[Call], bool] | None = None,
        timeout: float = 15,
        after: Call | int = 0,
        *,
        finished: bool = True,
    ) -> Call:
        """The first call (of `method`, matching `predicate`) from index `after` on; with
        `finished=False` a long poll counts as soon as it arrives."""
        start = after.index + 1 if isinstance(after, Call) else after

        def find() -> Call | None:
            for call in self._calls[start:]:
                if (
                    (method is None or call.method == method)
                    and (call.status is not None or not finished)
                    and (predicate is None or predicate(call))
                ):
                    return call
            return None

        try:
            return await self._wait(find, timeout)
        except TimeoutError:
            seen = [f"{c.method}:{c.status}" for c in self._calls[start:]][-20:]
            raise AssertionError(
                f"no {method or 'call'} matching within {timeout} s; calls since: {seen}"
            ) from None

    async def _wait(self, find: Callable[[], Any], timeout: float) -> Any:
        async with asyncio.timeout(timeout), self._changed:
            result = find()
            while result is None:
                await self._changed.wait()
                result = find()
            return result

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    # ----- messages -----

    def _chat(self, chat_id: int) -> dict[str, Any]:
        chat = self._chats.get(chat_id)
        if chat is None:
            if chat_id > 0:
                chat = {"id": chat_id, "type": "private", "first_name": f"User {chat_id}"}
            else:
                chat = {"id": chat_id, "type": "supergroup", "title": f"Chat {chat_id}"}
            self._chats[chat_id] = chat
        return chat

    def _new_message(
        self, chat: dict[str, Any], sender: dict[str, Any], **fields: Any
    ) -> dict[str, Any]:
        ids = self._message_ids.setdefault(chat["id"], itertools.count(1))
        message = {
            "message_id": next(ids),
            "date": int(time.time()),
            "chat": chat,
            "from": sender,
            **{name: value for name, value in fields.items() if value is not None},
        }
        self._messages.setdefault(chat["id"], {})[message["message_id"]] = message
        return message

    def _new_callback_query(
        self, user: dict[str, Any], chat_id: int, data: str, message: dict[str, Any] | None
    ) -> dict[str, Any]:
        query_id = str(next(self._callback_ids))
        self._callbacks[query_id] = chat_id
        query: dict[str, Any] = {
            "id": query_id,
            "from": user,
            "chat_instance": str(chat_id),
            "data": data,
        }
        if message is not None:
            query["message"] = message
        return query

    # ----- HTTP -----

    async def _read_params(
        self, request: web.Request
    ) -> tuple[dict[str, Any], dict[str, tuple[bytes, str | None]]]:
        params: dict[str, Any] = dict(request.query)
        uploads: dict[str, tuple[bytes, str | None]] = {}
        if request.method == "POST" and request.can_read_body:
            if request.content_type == "application/json":
                body = await request.json()
                if isinstance(body, dict):
                    params.update(body)
            elif request.content_type.startswith("multipart/"):
                reader = await request.multipart()
                async for part in reader:
                    if part.name is None:
                        continue
                    if part.filename is not None:
                        uploads[part.name] = (bytes(await part.read()), part.filename)
                    else:
                        params[part.name] = await part.text()
            else:
                params.update(await request.post())
        return {name: _decode(name, value) for name, value in params.items()}, uploads

    async def _handle_api(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        name = request.match_info["method"]
        if token != self.token:
            body = {"ok": False, "error_code": 401, "description": "Unauthorized"}
            return web.json_response(body, status=401)
        params, uploads = await self._read_params(request)
        if self.upload_latency and name.lower() == "senddocument":
            await asyncio.sleep(self.upload_latency)  # the upload's round trip; then as usual
        handler = self._handlers.get(name.lower())
        method = handler.__name__[4:] if handler else name
        call = Call(
            index=len(self._calls),
            method=method,
            params=params,
            time=self.now(),
        )
        call.chat_id = self._chat_of(call)
        self._calls.append(call)
        if method == "getUpdates":
            await self._notify()  # a long poll is under way: the bot is ready
        try:
            if handler is None:
                raise ApiError(404, "Not Found: method not found")
            self._resolve_files(call, uploads)
            await self._held(call)
            self._injected_failure(call)
            if call.chat_id is not None and call.chat_id in self.blocked:
                raise ApiError(403, "Forbidden: bot was blocked by the user")
            result = handler(call)
            if asyncio.iscoroutine(result):
                result = await result
            call.status = 200
            call.response = {"ok": True, "result": result}
        except ApiError as error:
            call.status = error.code
            call.response = error.payload()
        if self.echo is not None and call.method != "getUpdates":
            self.echo(call)
        await self._notify()
        return web.json_response(call.response, status=call.status, dumps=_dumps)

    def _chat_of(self, call: Call) -> int | None:
        if call.method == "answerCallbackQuery":
            return self._callbacks.get(str(call.params.get("callback_query_id")))
        chat_id = call.params.get("chat_id")
        return chat_id if isinstance(chat_id, int) else None

    def _injected_failure(self, call: Call) -> None:
        for method, chat_id, error, left in self._failures:
            if method == call.method and chat_id in (None, call.chat_id) and left[0] > 0:
                left[0] -= 1
                raise error

    def _resolve_files(self, call: Call, uploads: dict[str, tuple[bytes, str | None]]) -> None:
        """`attach://name` (and a file uploaded under the field's own name) -> the bytes."""

        def attach(field_name: str, value: Any) -> None:
            if isinstance(value, str) and value.startswith("attach://"):
                key = value[len("attach://") :]
                if key not in uploads:
                    raise bad_request(f"file {key!r} must be uploaded as multipart/form-data")
                call.files[field_name], filename = uploads[key]
                call.filenames[field_name] = filename or key

        for name in FILE_FIELDS:
            if name in uploads and name not in call.params:
                call.files[name], filename = uploads[name]
                call.filenames[name] = filename or name
            else:
                attach(name, call.params.get(name))
        media = call.params.get("media")
        if isinstance(media, list):
            for i, item in enumerate(media):
                if isinstance(item, dict):
                    attach(f"media[{i}]", item.get("media"))

    async def _handle_file(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401
            )
        path = request.match_info["path"]
        for stored in self._files.values():
            if f"files/{stored.file_id}" == path:
                return web.Response(body=stored.data)
        return web.json_response(
            {"ok": False, "error_code": 404, "description": "Not Found"}, status=404
        )

    # ----- validation -----

    def _text(self, call: Call, name: str, limit: int, required: bool) -> tuple[str, list[dict]]:
        """The visible text and entities of `text`/`caption`, or Telegram's 400."""
        raw = call.params.get(name)
        if raw is None or raw == "":
            if required:
                raise bad_request("message text is empty")
            return "", []
        raw = str(raw)
        mode = str(call.params.get("parse_mode") or "").upper()
        entities: list[dict] = list(
            call.params.get(f"{'caption_' if name == 'caption' else ''}entities") or []
        )
        visible = raw
        if mode == "HTML":
            try:
                visible, entities = parse_html(raw)
            except HtmlParseError as error:
                raise bad_request(f"can't parse entities: {error}") from None
        if required and not visible.strip():
            raise bad_request("message text is empty")
        if utf16_len(visible) > limit:
            raise bad_request(
                "message is too long" if name == "text" else "message caption is too long"
            )
        return visible, entities

    def _markup(self, call: Call) -> dict[str, Any] | None:
        markup = call.params.get("reply_markup")
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise bad_request("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" in markup:
            for row in markup["inline_keyboard"]:
                for button in row:
                    _check_inline_button(button)
            return markup
        if "keyboard" in markup:
            rows = [
                [button if isinstance(button, dict) else {"text": button} for button in row]
                for row in markup["keyboard"]
            ]
            return {**markup, "keyboard": rows}
        return markup

    def _accept_send(self, call: Call) -> None:
        """Flood control for a new message: 429 with retry_after, or count it."""
        now = self.now()
        retry_after = self.limits.check(call.chat_id, now)
        if retry_after is not None:
            raise ApiError(
                429, f"Too Many Requests: retry after {retry_after}", retry_after=retry_after
            )
        self.limits.consume(call.chat_id, now)

    def _target_chat(self, call: Call) -> dict[str, Any]:
        chat_id = call.params.get("chat_id")
        if chat_id is None:
            raise bad_request("chat_id is empty")
        if not isinstance(chat_id, int):
            raise bad_request("chat not found")
        return self._chat(chat_id)

    def _reply_fields(self, call: Call, chat_id: int) -> dict[str, Any]:
        fields: dict[str, Any] = {}
        reply_to = call.params.get("reply_to_message_id")
        parameters = call.params.get("reply_parameters")
        if isinstance(parameters, dict):
            reply_to = parameters.get("message_id")
        if reply_to is not None:
            replied = self.message(chat_id, int(reply_to))
            if replied is None:
                allow = isinstance(parameters, dict) and parameters.get(
                    "allow_sending_without_reply"
                )
                if not allow:
                    raise bad_request("message to be replied not found")
            else:
                fields["reply_to_message"] = {
                    k: v for k, v in replied.items() if k != "reply_to_message"
                }
        thread = call.params.get("message_thread_id")
        if thread is not None:
            fields["message_thread_id"] = thread
            fields["is_topic_message"] = True
        return fields

    def _bot_message(self, call: Call, chat: dict[str, Any], **fields: Any) -> dict[str, Any]:
        markup = self._markup(call)
        if markup is not None and "inline_keyboard" in markup:
            fields["reply_markup"] = markup
        elif markup is not None and "keyboard" in markup:
            self._reply_keyboards[chat["id"]] = markup
        elif markup is not None and markup.get("remove_keyboard"):
            self._reply_keyboards.pop(chat["id"], None)
        return self._new_message(chat, self.bot_user, **fields)

    def _input_file(self, call: Call, name: str, value: Any) -> StoredFile:
        if name in call.files:
            filename = call.filenames.get(name)
            return self.store_file(call.files[name], filename)
        if isinstance(value, str) and value in self._files:
            return self._files[value]
        if isinstance(value, str) and value.startswith(("http://", "https://")):
            raise bad_request("failed to get HTTP URL content")
        raise bad_request("wrong file identifier/HTTP URL specified")

    def _photo_sizes(self, stored: StoredFile) -> list[dict[str, Any]]:
        size = _image_size(stored.data)
        if size is None:
            raise bad_request("IMAGE_PROCESS_FAILED")
        width, height = size
        return [
            {
                "file_id": stored.file_id,
                "file_unique_id": stored.unique_id,
                "width": width,
                "height": height,
                "file_size": len(stored.data),
            }
        ]

    @staticmethod
    def _document(stored: StoredFile) -> dict[str, Any]:
        document: dict[str, Any] = {
            "file_id": stored.file_id,
            "file_unique_id": stored.unique_id,
            "file_size": len(stored.data),
        }
        if stored.filename:
            document["file_name"] = stored.filename
        if stored.mime_type:
            document["mime_type"] = stored.mime_type
        return document

    def _existing(self, call: Call, what: str) -> dict[str, Any]:
        if "inline_message_id" in call.params:
            raise bad_request("MESSAGE_ID_INVALID")
        chat = self._target_chat(call)
        message_id = call.params.get("message_id")
        message = self.message(chat["id"], message_id) if isinstance(message_id, int) else None
        if message is None:
            raise bad_request(f"message to {what} not found")
        return message

    # ----- Bot API methods (api_<name>; names are case-insensitive like Telegram's) -----

    def api_getMe(self, call: Call) -> dict[str, Any]:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def api_getUpdates(self, call: Call) -> list[dict[str, Any]]:
        if self.webhook is not None:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        params = call.params
        offset = params.get("offset")
        limit = min(100, max(1, int(params.get("limit") or 100)))
        timeout = max(0.0, float(params.get("timeout") or 0))
        if "allowed_updates" in params:
            allowed = params["allowed_updates"] or []
            self._allowed = set(allowed) if allowed else set(DEFAULT_ALLOWED)
        if isinstance(offset, int):
            if offset < 0:
                self._updates = self._updates[offset:]
            else:
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
        self._poll_generation += 1
        generation = self._poll_generation

        def ready() -> bool:
            self._updates = [
                u for u in self._updates if next(k for k in u if k != "update_id") in self._allowed
            ]
            return bool(self._updates) or generation != self._poll_generation or self._closing

        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout), self._changed:
                await self._changed.wait_for(ready)
        if generation != self._poll_generation:
            raise ApiError(
                409,
                "Conflict: terminated by other getUpdates request; make sure that only one "
                "bot instance is running",
            )
        return self._updates[:limit]

    def api_setWebhook(self, call: Call) -> bool:
        url = call.params.get("url") or ""
        if url and not url.startswith("https://"):
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        self.webhook = dict(call.params) if url else None
        if call.params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    def api_deleteWebhook(self, call: Call) -> bool:
        self.webhook = None
        if call.params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    def api_getWebhookInfo(self, call: Call) -> dict[str, Any]:
        return {
            "url": (self.webhook or {}).get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }

    @staticmethod
    def _scope_key(call: Call) -> tuple[str, str]:
        scope = call.params.get("scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True), str(call.params.get("language_code") or "")

    def api_setMyCommands(self, call: Call) -> bool:
        commands = call.params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise bad_request("can't parse commands JSON object")
        for command in commands:
            name = str(command.get("command", ""))
            if not (1 <= len(name) <= 32) or not all(
                c.islower() or c.isdigit() or c == "_" for c in name
            ):
                raise bad_request("BOT_COMMAND_INVALID")
            if not (1 <= len(str(command.get("description", ""))) <= 256):
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        self.commands[self._scope_key(call)] = commands
        return True

    def api_getMyCommands(self, call: Call) -> list[dict[str, Any]]:
        return self.commands.get(self._scope_key(call), [])

    def api_deleteMyCommands(self, call: Call) -> bool:
        self.commands.pop(self._scope_key(call), None)
        return True

    def api_sendChatAction(self, call: Call) -> bool:
        self._target_chat(call)
        return True

    def api_sendMessage(self, call: Call) -> dict[str, Any]:
        chat = self._target_chat(call)
        text, entities = self._text(call, "text", MAX_TEXT, required=True)
        self._markup(call)
        fields = self._reply_fields(call, chat["id"])
        self._accept_send(call)
        return self._bot_message(call, chat, text=text, entities=entities or None, **fields)

    def _send_file(self, call: Call, kind: str) -> dict[str, Any]:
        chat = self._target_chat(call)
        caption, entities = self._text(call, "caption", MAX_CAPTION, required=False)
        self._markup(call)
        if kind not in call.params and kind not in call.files:
            raise bad_request(f"there is no {kind} in the request")
        stored = self._input_file(call, kind, call.params.get(kind))
        if kind == "photo":
            media: Any = self._photo_sizes(stored)
        elif kind == "sticker":
            media = {
                **self._document(stored),
                "type": "regular",
                "width": 512,
                "height": 512,
                "is_animated": False,
                "is_video": False,
            }
        else:
            media = self._document(stored)
        fields = self._reply_fields(call, chat["id"])
        self._accept_send(call)
        return self._bot_message(
            call,
            chat,
            caption=caption or None,
            caption_entities=entities or None,
            **{kind: media},
            **fields,
        )

    def api_sendDocument(self, call: Call) -> dict[str, Any]:
        return self._send_file(call, "document")

    def api_sendPhoto(self, call: Call) -> dict[str, Any]:
        return self._send_file(call, "photo")

    def api_sendSticker(self, call: Call) -> dict[str, Any]:
        return self._send_file(call, "sticker")

    def api_sendMediaGroup(self, call: Call) -> list[dict[str, Any]]:
        chat = self._target_chat(call)
        media = call.params.get("media")
        if not isinstance(media, list) or not media:
            raise bad_request('parameter "media" is required')
        if not 2 <= len(media) <= 10:
            raise bad_request("wrong number of media in the group (2-10 allowed)")
        prepared = []
        for i, item in enumerate(media):
            kind = item.get("type")
            if kind not in ("photo", "document", "video", "audio"):
                raise bad_request(f"unsupported media type {kind!r}")
            stored = self._input_file(call, f"media[{i}]", item.get("media"))
            caption = item.get("caption")
            visible = caption
            if caption and str(item.get("parse_mode") or "").upper() == "HTML":
                try:
                    visible = parse_html(caption)[0]
                except HtmlParseError as error:
                    raise bad_request(f"can't parse entities: {error}") from None
            if visible and utf16_len(visible) > MAX_CAPTION:
                raise bad_request("message caption is too long")
            content = self._photo_sizes(stored) if kind == "photo" else self._document(stored)
            prepared.append((kind, content, visible))
        self._accept_send(call)
        group_id = str(next(self._file_ids))
        return [
            self._new_message(
                chat,
                self.bot_user,
                media_group_id=group_id,
                caption=caption or None,
                **{kind: content},
            )
            for kind, content, caption in prepared
        ]

    def api_copyMessage(self, call: Call) -> dict[str, Any]:
        chat = self._target_chat(call)
        source = self.message(call.params.get("from_chat_id"), call.params.get("message_id"))  # type: ignore[arg-type]
        if source is None:
            raise bad_request("message to copy not found")
        self._markup(call)
        self._accept_send(call)
        content = {
            k: v
            for k, v in source.items()
            if k
            in (
                "text",
                "entities",
                "caption",
                "caption_entities",
                "photo",
                "document",
                "sticker",
                "contact",
            )
        }
        if "caption" in call.params:
            content["caption"], _ = self._text(call, "caption", MAX_CAPTION, required=False)
        message = self._bot_message(call, chat, **content)
        return {"message_id": message["message_id"]}

    def api_forwardMessage(self, call: Call) -> dict[str, Any]:
        chat = self._target_chat(call)
        source = self.message(call.params.get("from_chat_id"), call.params.get("message_id"))  # type: ignore[arg-type]
        if source is None:
            raise bad_request("message to forward not found")
        self._accept_send(call)
        content = {
            k: v for k, v in source.items() if k not in ("message_id", "date", "chat", "from")
        }
        origin = {"type": "user", "date": source["date"], "sender_user": source["from"]}
        return self._new_message(chat, self.bot_user, forward_origin=origin, **content)

    def api_editMessageText(self, call: Call) -> dict[str, Any]:
        message = self._existing(call, "edit")
        text, entities = self._text(call, "text", MAX_TEXT, required=True)
        markup = self._markup(call)
        if "text" not in message:
            raise bad_request("there is no text in the message to edit")
        if (
            message.get("text") == text
            and (message.get("entities") or []) == entities
            and message.get("reply_markup") == markup
        ):
            raise not_modified()
        message["text"] = text
        message.pop("entities", None)
        if entities:
            message["entities"] = entities
        return _edited(message, markup)

    def api_editMessageCaption(self, call: Call) -> dict[str, Any]:
        message = self._existing(call, "edit")
        caption, _entities = self._text(call, "caption", MAX_CAPTION, required=False)
        markup = self._markup(call)
        if message.get("caption", "") == caption and message.get("reply_markup") == markup:
            raise not_modified()
        message["caption"] = caption
        return _edited(message, markup)

    def api_editMessageReplyMarkup(self, call: Call) -> dict[str, Any]:
        message = self._existing(call, "edit")
        markup = self._markup(call)
        if message.get("reply_markup") == markup:
            raise not_modified()
        return _edited(message, markup)

    def api_deleteMessage(self, call: Call) -> bool:
        message = self._existing(call, "delete")
        del self._messages[message["chat"]["id"]][message["message_id"]]
        return True

    def api_deleteMessages(self, call: Call) -> bool:
        chat = self._target_chat(call)
        for message_id in call.params.get("message_ids") or []:
            self._messages.get(chat["id"], {}).pop(message_id, None)
        return True

    def api_answerCallbackQuery(self, call: Call) -> bool:
        query_id = str(call.params.get("callback_query_id"))
        if query_id not in self._callbacks:
            raise bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        text = call.params.get("text")
        if text is not None and len(str(text)) > 200:
            raise bad_request("MESSAGE_TOO_LONG")
        return True

    def api_sendInvoice(self, call: Call) -> dict[str, Any]:
        chat = self._target_chat(call)
        params = call.params
        title, description, currency, total = _check_invoice(params)
        self._markup(call)
        fields = self._reply_fields(call, chat["id"])
        self._accept_send(call)
        invoice = {
            "title": title,
            "description": description,
            "start_parameter": str(params.get("start_parameter") or ""),
            "currency": currency,
            "total_amount": total,
        }
        return self._bot_message(call, chat, invoice=invoice, **fields)

    def api_createInvoiceLink(self, call: Call) -> str:
        """A link a Mini App opens with `Telegram.WebApp.openInvoice` (the same checks as
        sendInvoice). `user.pay(call)` pays it as it would an invoice message."""
        _check_invoice(call.params)
        slug = hashlib.sha256(f"{self.bot_id}:{call.index}".encode()).hexdigest()[:16]
        return f"https://t.me/$invoice{slug}"

    def api_answerPreCheckoutQuery(self, call: Call) -> bool:
        query_id = str(call.params.get("pre_checkout_query_id"))
        if query_id not in self._pre_checkout or self._pre_checkout[query_id] is not None:
            raise bad_request("QUERY_ID_INVALID")
        ok = call.params.get("ok")
        if not isinstance(ok, bool):
            raise bad_request('parameter "ok" is required')
        if not ok and not call.params.get("error_message"):
            raise bad_request("error_message is required when ok is false")
        self._pre_checkout[query_id] = dict(call.params)
        return True

    def api_getFile(self, call: Call) -> dict[str, Any]:
        stored = self._files.get(str(call.params.get("file_id")))
        if stored is None:
            raise bad_request("invalid file_id")
        if len(stored.data) > MAX_DOWNLOAD:
            raise bad_request("file is too big")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.unique_id,
            "file_size": len(stored.data),
            "file_path": f"files/{stored.file_id}",
        }

    def api_getChat(self, call: Call) -> dict[str, Any]:
        chat = self._target_chat(call)
        return {**chat, "accent_color_id": 0, "max_reaction_count": 11}

    def api_getChatMember(self, call: Call) -> dict[str, Any]:
        chat = self._target_chat(call)
        user_id = call.params.get("user_id")
        person = self._users.get(user_id) if isinstance(user_id, int) else None
        user = person.user if person else {"id": user_id, "is_bot": False, "first_name": "?"}
        group = self._groups.get(chat["id"])
        if group is not None and user_id in group.admins:
            return {
                "status": "administrator",
                "user": user,
                "can_be_edited": False,
                "is_anonymous": False,
                "can_manage_chat": True,
                "can_delete_messages": True,
                "can_manage_video_chats": True,
                "can_restrict_members": True,
                "can_promote_members": False,
                "can_change_info": True,
                "can_invite_users": True,
                "can_post_stories": False,
                "can_edit_stories": False,
                "can_delete_stories": False,
            }
        if group is not None and group.members is not None and user_id not in group.members:
            return {"status": "left", "user": user}
        return {"status": "member", "user": user}

    def api_createForumTopic(self, call: Call) -> dict[str, Any]:
        self._target_chat(call)
        name = str(call.params.get("name") or "")
        if not 1 <= len(name) <= 128:
            raise bad_request("TOPIC_TITLE_EMPTY" if not name else "TOPIC_TITLE_TOO_LONG")
        return {"message_thread_id": next(self._topic_ids), "name": name, "icon_color": 7322096}

    def api_pinChatMessage(self, call: Call) -> bool:
        self._existing(call, "pin")
        return True

    # ----- the /_fake/ control endpoints (for trying the bot by hand) -----

    async def _fake_reply(self, person: _Chat, body: dict[str, Any]) -> web.Response:
        wait = float(body.get("wait") or 0)
        mark = person._mark
        if wait:
            # For people trying the bot by hand: the first answer, then whatever follows it
            # without a pause (a handler often sends a few messages).
            with contextlib.suppress(AssertionError):
                call = await person.wait_for(lambda call: True, timeout=wait)
                while True:
                    call = await person.wait_for(lambda call: True, timeout=0.5, after=call)
        calls = [_call_json(c) for c in self.delivered(chat_id=person.id) if c.index >= mark]
        return web.json_response({"ok": True, "delivered": calls}, dumps=_dumps)

    async def _fake_send(self, request: web.Request) -> web.Response:
        body = await request.json()
        person = self.user(int(body["user_id"]), first_name=body.get("first_name", "Анна"))
        await person.send(str(body["text"]))
        if self.echo is not None:
            print(f"{person.id} → bot: {body['text']}", flush=True)
        return await self._fake_reply(person, body)

    async def _fake_click(self, request: web.Request) -> web.Response:
        body = await request.json()
        person = self.user(int(body["user_id"]))
        try:
            await person.click(str(body["text"]), timeout=float(body.get("wait") or 1))
        except AssertionError as error:
            return web.json_response(
                {"ok": False, "description": str(error)}, status=400, dumps=_dumps
            )
        return await self._fake_reply(person, body)

    async def _fake_contact(self, request: web.Request) -> web.Response:
        body = await request.json()
        person = self.user(int(body["user_id"]))
        await person.share_contact(str(body["phone"]), user_id=body.get("contact_user_id"))
        return await self._fake_reply(person, body)

    async def _fake_calls(self, request: web.Request) -> web.Response:
        chat_id = request.query.get("chat_id")
        method = request.query.get("method")
        calls = self.calls(chat_id=int(chat_id) if chat_id else None, method=method)
        return web.json_response([_call_json(c) for c in calls], dumps=_dumps)


def _check_invoice(params: dict[str, Any]) -> tuple[str, str, Any, int]:
    """sendInvoice's and createInvoiceLink's checks: (title, description, currency, total)."""
    title, description = str(params.get("title") or ""), str(params.get("description") or "")
    payload = str(params.get("payload") or "")
    if not 1 <= len(title) <= MAX_INVOICE_TITLE:
        raise bad_request("INVOICE_TITLE_INVALID" if title else "title is empty")
    if not 1 <= len(description) <= MAX_INVOICE_DESCRIPTION:
        raise bad_request("INVOICE_DESCRIPTION_INVALID")
    if not 1 <= len(payload.encode()) <= MAX_INVOICE_PAYLOAD:
        raise bad_request("INVOICE_PAYLOAD_INVALID")
    currency = params.get("currency")
    if currency not in ("RUB", "XTR", "USD", "EUR"):
        raise bad_request("CURRENCY_INVALID")
    if currency != "XTR" and not params.get("provider_token"):
        raise bad_request("PAYMENT_PROVIDER_INVALID")
    _check_prices(params.get("prices"))
    total = invoice_total(params)
    if currency == "RUB" and not RUB_MIN_AMOUNT <= total <= RUB_MAX_AMOUNT:
        raise bad_request("CURRENCY_TOTAL_AMOUNT_INVALID")
    if params.get("provider_data") is not None:
        try:
            json.loads(str(params["provider_data"]))
        except ValueError:
            raise bad_request("DATA_JSON_INVALID") from None
    return title, description, currency, total


def _check_prices(prices: Any) -> None:
    if not isinstance(prices, list) or not prices:
        raise bad_request('parameter "prices" is required')
    for price in prices:
        if not isinstance(price, dict) or not price.get("label"):
            raise bad_request("can't parse prices JSON object")
        if not isinstance(price.get("amount"), int):
            raise bad_request("can't parse prices JSON object")


def invoice_total(params: dict[str, Any]) -> int:
    """The invoice's total: the sum of its prices (smallest units of the currency)."""
    return sum(int(price.get("amount", 0)) for price in params.get("prices") or [])


def _decode(name: str, value: Any) -> Any:
    """Form values are strings; decode them the way Telegram reads each field."""
    if not isinstance(value, str) or name in TEXT_FIELDS:
        return value
    if name in JSON_FIELDS or value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except ValueError:
            return value
    if value in ("true", "false"):
        return value == "true"
    if value.lstrip("-").isdigit() and name not in FILE_FIELDS:
        return int(value)
    return value


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _call_json(call: Call) -> dict[str, Any]:
    return {
        "index": call.index,
        "method": call.method,
        "chat_id": call.chat_id,
        "status": call.status,
        "text": call.text,
        "buttons": call.buttons(),
        "files": {
            name: {"filename": call.filenames.get(name), "size": len(data)}
            for name, data in call.files.items()
        },
        "description": call.description,
    }


def _print_call(call: Call) -> None:
    if call.chat_id is None and call.ok:
        return
    line = f"[{call.status}] {call.method} → {call.chat_id}"
    if call.text:
        line += "\n    " + (call.visible_text or "").replace("\n", "\n    ")
    if call.buttons():
        line += f"\n    buttons: {call.buttons()}"
    for name, data in call.files.items():
        line += f"\n    {name}: {call.filenames.get(name)} ({len(data)} bytes)"
    if not call.ok:
        line += f"\n    {call.description}"
    print(line, flush=True)


async def _serve(args: argparse.Namespace) -> None:
    tg = FakeTelegram(args.token, host=args.host, port=args.port, echo=_print_call)
    if args.no_limits:
        tg.set_limits()
    await tg.start()
    print(f"Fake Telegram Bot API on {tg.url} for token {args.token}", flush=True)
    print(f"  BOT_TOKEN={args.token} TELEGRAM_API_URL={tg.url} python -m bot", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await tg.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bot.fakeapi.server", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--token", default="42:fake")
    parser.add_argument("--no-limits", action="store_true", help="no 429 flood limits")
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args))
    sys.exit(0)


if __name__ == "__main__":
    main()
