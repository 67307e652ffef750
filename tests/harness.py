"""Handler-test harness: a recording bot session (the only fake) and a resident-like client.

`BotClient.send("/start")`, `.click("Button text")`, `.share_contact(...)` feed real `Update`s
through the real dispatcher; every method the bot calls is recorded and answered the way
Telegram would (a message gets an id, an edit returns the message, and so on).
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.client.session.base import BaseSession
from aiogram.exceptions import TelegramAPIError, TelegramNetworkError
from aiogram.methods import (
    AnswerCallbackQuery,
    EditMessageCaption,
    EditMessageReplyMarkup,
    EditMessageText,
    GetFile,
    GetMe,
    SendMediaGroup,
    TelegramMethod,
)
from aiogram.types import (
    CallbackQuery,
    Chat,
    Contact,
    Document,
    File,
    InlineKeyboardMarkup,
    Message,
    PhotoSize,
    Update,
    User,
)

BOT_ID = 42
BOT_TOKEN = f"{BOT_ID}:TEST-token-for-tests-only"
BOT_USER = User(id=BOT_ID, is_bot=True, first_name="Кабинет", username="cabinet_test_bot")

_update_ids = itertools.count(1)
MAX_DOWNLOAD = 20 * 1024 * 1024  # the Bot API's getFile limit for bots


@dataclass(frozen=True)
class ApiError:
    """Telegram's answer refusing a call (`{"ok": false, "error_code": …, "description": …}`).

    The recording session turns it into the exception aiogram raises for that answer through
    aiogram's own `check_response`, as aiogram's tests/mocked_bot.py does: 400 gives
    TelegramBadRequest, 403 TelegramForbiddenError, 429 TelegramRetryAfter with its retry_after.
    """

    error_code: int
    description: str
    retry_after: int | None = None
    migrate_to_chat_id: int | None = None

    def content(self) -> str:
        parameters = {
            key: value
            for key, value in (
                ("retry_after", self.retry_after),
                ("migrate_to_chat_id", self.migrate_to_chat_id),
            )
            if value is not None
        }
        answer: dict[str, Any] = {
            "ok": False,
            "error_code": self.error_code,
            "description": self.description,
        }
        if parameters:
            answer["parameters"] = parameters
        return json.dumps(answer)


def bad_request(description: str) -> ApiError:
    """`bad_request("message is not modified")`: Telegram's 400 with its usual prefix."""
    return ApiError(400, f"Bad Request: {description}")


def forbidden(description: str = "bot was blocked by the user") -> ApiError:
    return ApiError(403, f"Forbidden: {description}")


def too_many_requests(retry_after: int) -> ApiError:
    return ApiError(429, f"Too Many Requests: retry after {retry_after}", retry_after=retry_after)


@dataclass(frozen=True)
class NetworkDown:
    """No answer at all: aiogram's HTTP session raises TelegramNetworkError."""

    message: str = "ClientConnectorError: Cannot connect to host api.telegram.org:443"


Outcome = ApiError | NetworkDown


class RecordingSession(BaseSession):
    """Records every Bot API call and answers it as Telegram would, without any network."""

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[TelegramMethod[Any]] = []
        # what each request returned (or the exception it raised), in the same order
        self.results: list[Any] = []
        self._message_ids = itertools.count(1000)
        # api method name -> Telegram's error answer (or no answer) for every such call
        self.fail_with: dict[str, Outcome] = {}
        # api method name -> callable(method) giving the result Telegram would return
        # (e.g. "getChatMember" -> a ChatMemberMember) or an ApiError / NetworkDown;
        # `self.answer(method)` is the default answer
        self.responses: dict[str, Callable[[TelegramMethod[Any]], Any]] = {}
        # files users sent (file id -> bytes), served by getFile and the file download path
        self.files: dict[str, bytes] = {}
        self.downloads: list[str] = []  # file ids the bot downloaded

    def _answered(self, method: TelegramMethod[Any], result: Any) -> None:
        self.results.append(result)

    async def close(self) -> None:
        return None

    async def stream_content(
        self,
        url: str,
        headers: dict[str, Any] | None = None,
        timeout: int = 30,
        chunk_size: int = 65536,
        raise_for_status: bool = True,
    ) -> AsyncIterator[bytes]:
        """The file download path (`/file/bot<token>/<file_path>`), as Telegram serves it."""
        marker = f"/file/bot{BOT_TOKEN}/files/"
        file_id = url.split(marker, 1)[1] if marker in url else ""
        if file_id not in self.files:
            raise TelegramNetworkError(method=GetFile(file_id=file_id), message="404 Not Found")
        self.downloads.append(file_id)
        data = self.files[file_id]
        for start in range(0, len(data), chunk_size):
            yield data[start : start + chunk_size]
        if not data:
            yield b""

    def store_file(self, data: bytes) -> str:
        """Keep a file a user sent; its file id."""
        file_id = f"FILE{len(self.files) + 1}-{len(data)}"
        self.files[file_id] = data
        return file_id

    def _file(self, file_id: str) -> File | ApiError:
        data = self.files.get(file_id)
        if data is None:
            return bad_request("invalid file_id")
        if len(data) > MAX_DOWNLOAD:
            return bad_request("file is too big")
        return File(
            file_id=file_id, file_unique_id=f"U{file_id}", file_size=len(data),
            file_path=f"files/{file_id}",
        )  # fmt: skip

    async def make_request(
        self, bot: Bot, method: TelegramMethod[Any], timeout: int | None = None
    ) -> Any:
        self.requests.append(method)
        outcome = self.fail_with.get(method.__api_method__)
        if outcome is None:
            responder = self.responses.get(method.__api_method__)
            try:
                outcome = responder(method) if responder is not None else self.answer(method)
            except Exception as error:  # a responder's own failure (a test's crash)
                self._answered(method, error)
                raise
        if isinstance(outcome, ApiError | NetworkDown):
            try:
                self.refuse(bot, method, outcome)
            except TelegramAPIError as error:
                self._answered(method, error)
                raise
        self._answered(method, outcome)
        return outcome

    def refuse(self, bot: Bot, method: TelegramMethod[Any], outcome: Outcome) -> None:
        """Raise what aiogram raises for this outcome."""
        if isinstance(outcome, NetworkDown):  # as aiogram's AiohttpSession wraps a ClientError
            raise TelegramNetworkError(method=method, message=outcome.message)
        self.check_response(bot, method, outcome.error_code, outcome.content())
        raise AssertionError(f"check_response accepted the error answer {outcome}")

    def _message(self, chat_id: int, **fields: Any) -> Message:
        return Message(
            message_id=next(self._message_ids),
            date=dt.datetime.now(dt.UTC),
            chat=Chat(id=chat_id, type="private" if chat_id > 0 else "supergroup"),
            from_user=BOT_USER,
            **fields,
        )

    def answer(self, method: TelegramMethod[Any]) -> Any:
        """The answer of a successful call, as Telegram gives it."""
        if isinstance(method, GetMe):
            return BOT_USER
        if isinstance(method, GetFile):
            return self._file(method.file_id)
        if isinstance(method, AnswerCallbackQuery):
            return True
        if isinstance(method, EditMessageText | EditMessageReplyMarkup | EditMessageCaption):
            chat_id = int(method.chat_id or 0)
            return Message(
                message_id=method.message_id or 0,
                date=dt.datetime.now(dt.UTC),
                chat=Chat(id=chat_id, type="private" if chat_id > 0 else "supergroup"),
                from_user=BOT_USER,
                text=getattr(method, "text", None),
                caption=getattr(method, "caption", None),
                reply_markup=method.reply_markup,
            )
        if isinstance(method, SendMediaGroup):
            return [
                self._message(int(method.chat_id), caption=getattr(item, "caption", None))
                for item in method.media
            ]
        returning = getattr(method, "__returning__", bool)
        if returning is Message or "Message" in str(returning):
            chat_id = int(getattr(method, "chat_id", 0) or 0)
            fields: dict[str, Any] = {
                "text": getattr(method, "text", None),
                "caption": getattr(method, "caption", None),
            }
            markup = getattr(method, "reply_markup", None)
            if isinstance(markup, InlineKeyboardMarkup):
                fields["reply_markup"] = markup
            if getattr(method, "document", None) is not None:
                fields["document"] = Document(file_id="doc", file_unique_id="doc")
            if getattr(method, "photo", None) is not None:
                fields["photo"] = [PhotoSize(file_id="ph", file_unique_id="ph", width=1, height=1)]
            return self._message(chat_id, **fields)
        return True

    def clear(self) -> None:
        self.requests.clear()
        self.results.clear()


def inline_buttons(markup: Any) -> list[Any]:
    if not isinstance(markup, InlineKeyboardMarkup):
        return []
    return [button for row in markup.inline_keyboard for button in row]


def reply_buttons(markup: Any) -> list[str]:
    rows = getattr(markup, "keyboard", None) or []
    return [button.text for row in rows for button in row]


class BotClient:
    """One Telegram user in a private chat with the bot."""

    def __init__(
        self,
        dp: Dispatcher,
        bot: Bot,
        user_id: int = 1001,
        first_name: str = "Анна",
        chat_id: int | None = None,
    ) -> None:
        self.dp = dp
        self.bot = bot
        self.session: RecordingSession = bot.session  # type: ignore[assignment]
        self.user = User(id=user_id, is_bot=False, first_name=first_name, language_code="ru")
        self.chat = Chat(id=chat_id or user_id, type="private", first_name=first_name)
        self._message_ids = itertools.count(1)
        self.replies: list[TelegramMethod[Any]] = []  # everything the bot did for this client
        self.results: list[Any] = []  # and what Telegram answered to each

    # -- feeding updates --------------------------------------------------------------------

    async def feed(self, update: Update) -> list[TelegramMethod[Any]]:
        before = len(self.session.requests)
        await self.dp.feed_update(self.bot, update)
        made = self.session.requests[before:]
        self.replies.extend(made)
        self.results.extend(self.session.results[before:])
        return made

    async def during(self, work: Awaitable[Any]) -> list[TelegramMethod[Any]]:
        """Await work the bot does in the background (a batch's check, an import, a push) and
        record what it did meanwhile as this client's replies."""
        before = len(self.session.requests)
        await work
        made = self.session.requests[before:]
        self.replies.extend(made)
        self.results.extend(self.session.results[before:])
        return made

    def message(self, **fields: Any) -> Message:
        return Message(
            message_id=next(self._message_ids),
            date=dt.datetime.now(dt.UTC),
            chat=self.chat,
            from_user=self.user,
            **fields,
        )

    async def send(self, text: str, **fields: Any) -> list[TelegramMethod[Any]]:
        return await self.feed(
            Update(update_id=next(_update_ids), message=self.message(text=text, **fields))
        )

    async def send_message(self, **fields: Any) -> list[TelegramMethod[Any]]:
        """Any kind of message: `send_message(sticker=...)`, `send_message(photo=[...])`."""
        return await self.feed(Update(update_id=next(_update_ids), message=self.message(**fields)))

    async def send_document(
        self, data: bytes, filename: str, **fields: Any
    ) -> list[TelegramMethod[Any]]:
        """A file as a document (`reply_to_message=` a bot's message, `caption=`...); the bot can
        download it through getFile. `size=` claims another size (a file over the limit)."""
        size = fields.pop("size", len(data))
        file_id = self.session.store_file(data)
        document = Document(
            file_id=file_id, file_unique_id=f"U{file_id}", file_name=filename, file_size=size
        )
        return await self.send_message(document=document, **fields)

    async def share_contact(
        self, phone: str, user_id: int | None = None, forwarded: bool = False
    ) -> list[TelegramMethod[Any]]:
        """Share a contact; by default the sender's own (`user_id` = the sender's id)."""
        contact = Contact(
            phone_number=phone,
            first_name=self.user.first_name,
            user_id=self.user.id if user_id is None else user_id,
        )
        extra: dict[str, Any] = {}
        if forwarded:
            from aiogram.types import MessageOriginUser

            extra["forward_origin"] = MessageOriginUser(
                date=dt.datetime.now(dt.UTC), sender_user=self.user
            )
        return await self.send_message(contact=contact, **extra)

    async def callback(self, data: str, message: Message | None = None) -> list[Any]:
        """Send raw callback data (forged data in security tests)."""
        query = CallbackQuery(
            id=str(next(_update_ids)),
            from_user=self.user,
            chat_instance="ci",
            message=message or self._bot_message_stub(),
            data=data,
        )
        return await self.feed(Update(update_id=next(_update_ids), callback_query=query))

    async def click(self, text: str, *, exact: bool = False) -> list[TelegramMethod[Any]]:
        """Press the inline button whose text contains `text`, in the newest bot message that has
        one (edits included), as a resident would."""
        for message in reversed(self.bot_messages()):
            for button in inline_buttons(message.reply_markup):
                if (button.text == text) if exact else (text in button.text):
                    if button.callback_data is None:
                        raise AssertionError(f"button {button.text!r} has no callback data")
                    return await self.callback(button.callback_data, message)
        raise AssertionError(f"no inline button with {text!r}; the bot said: {self.texts()[-3:]}")

    # -- what the bot did ---------------------------------------------------------------------

    def _bot_message_stub(self) -> Message:
        return Message(
            message_id=999_999, date=dt.datetime.now(dt.UTC), chat=self.chat, from_user=BOT_USER
        )

    def bot_messages(self) -> list[Message]:
        """The messages in this chat as they stand now: sends, with edits applied."""
        by_id: dict[int, Message] = {}
        for method, result in zip(self.replies, self.results, strict=True):
            if getattr(method, "chat_id", None) not in (self.chat.id, str(self.chat.id)):
                continue
            if isinstance(result, Message):
                by_id.pop(result.message_id, None)  # an edit moves the message to the end
                by_id[result.message_id] = result
        return list(by_id.values())

    def texts(self, methods: Iterable[TelegramMethod[Any]] | None = None) -> list[str]:
        """Texts and captions the bot sent or edited in, in order."""
        out = []
        for method in self.replies if methods is None else methods:
            text = getattr(method, "text", None) or getattr(method, "caption", None)
            if text:
                out.append(text)
        return out

    def last_text(self) -> str:
        texts = self.texts()
        if not texts:
            raise AssertionError("the bot sent nothing")
        return texts[-1]

    def alerts(self) -> list[str]:
        return [m.text for m in self.replies if isinstance(m, AnswerCallbackQuery) and m.text]

    def sent(self, api_method: str) -> list[TelegramMethod[Any]]:
        return [m for m in self.replies if m.__api_method__ == api_method]
