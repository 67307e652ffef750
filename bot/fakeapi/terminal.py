"""A chat with the bot in a terminal, over the fake Bot API (`python -m bot try`).

What the bot sends to the person is printed as the person would see it (HTML read as Telegram
reads it); the inline buttons of the newest message with buttons get numbers ([1], [2], …) and
typing a number presses one; the reply keyboard's buttons get k1, k2, …; documents and pictures
are saved in a folder. Everything else typed is a message to the bot.

The tool's own words are English (it is for developers trying the bot); the bot speaks Russian.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from bot.fakeapi.server import Call, FakeTelegram, FakeUser

SENDS = {
    "sendMessage", "sendDocument", "sendPhoto", "sendMediaGroup", "sendSticker", "copyMessage",
    "forwardMessage", "sendInvoice",
}  # fmt: skip
EDITS = {"editMessageText", "editMessageCaption", "editMessageReplyMarkup"}
ANSWER_WAIT = 30.0  # seconds for the bot's first answer to an action
QUIET = 0.7  # then whatever follows without a pause of this long belongs to the same answer

HELP = """\
Type a message and press Enter: it goes to the bot as if typed in Telegram.
  1, 2, …         press the inline button with that number (under the bot's newest buttons)
  k1, k2, …       press a button of the keyboard under the input field
  /contact        share your phone («📱 Поделиться номером»): {phone}, the phone on record
                  of the demo account {number}, so linking it needs no receipt total;
                  /contact +79991234567 shares another number
  /photo PATH     send a picture; /file PATH sends a document (e.g. a billing file)
  /keys           show the buttons again;  /quit  leave (Ctrl-D too)
Documents and pictures the bot sends are saved in {files}"""


class TerminalChat:
    """The person's side of the chat: prints what the bot sends, turns lines into actions."""

    def __init__(
        self,
        tg: FakeTelegram,
        user: FakeUser,
        files: Path,
        default_phone: str,
        out: TextIO = sys.stdout,
    ) -> None:
        self.tg = tg
        self.user = user
        self.files = files
        self.default_phone = default_phone
        self.out = out
        self.inline: list[dict[str, Any]] = []  # the numbered buttons
        self.inline_rows: list[int] = []  # how many of them each row holds
        self.inline_message: int | None = None  # the message that carries them
        self.reply: list[dict[str, Any]] = []  # the reply keyboard, k1, k2, …

    def say(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    # --- what the bot does ---------------------------------------------------------------------

    def echo(self, call: Call) -> None:
        """FakeTelegram's hook: each finished request of the bot."""
        if call.chat_id != self.user.id or not call.ok:
            return
        if call.method == "answerCallbackQuery":
            text = call.params.get("text")
            if text:
                kind = "alert" if call.params.get("show_alert") else "notice"
                self.say(f"🤖 ({kind}) {text}")
            return
        if call.method not in SENDS | EDITS:
            return
        self._print_message(call)
        self._save_files(call)
        self._keyboards(call)

    def _print_message(self, call: Call) -> None:
        text = call.visible_text
        if call.method == "editMessageReplyMarkup":
            return  # only the buttons changed: printed below
        prefix = "🤖 (edited) " if call.method in EDITS else "🤖 "
        if call.method == "sendInvoice":
            text = f"(invoice) {call.params.get('title')}: {call.params.get('description')}"
        self.say("")
        self.say(prefix + (text or f"({call.method.removeprefix('send').lower()})"))

    def _save_files(self, call: Call) -> None:
        for name, data in call.files.items():
            filename = Path(call.filenames.get(name) or f"{name}.bin").name
            path = self.files / filename
            stem, suffix, number = path.stem, path.suffix, 2
            while path.exists():
                path = self.files / f"{stem}-{number}{suffix}"
                number += 1
            self.files.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            self.say(f"   📎 saved {path} ({len(data)} bytes)")

    def _keyboards(self, call: Call) -> None:
        markup = call.reply_markup or {}
        if "inline_keyboard" in markup:
            result = call.result if isinstance(call.result, dict) else {}
            self.inline_message = result.get("message_id") or call.params.get("message_id")
            self.inline = [button for row in markup["inline_keyboard"] for button in row]
            self.inline_rows = [len(row) for row in markup["inline_keyboard"]]
            self.show_inline()
        elif call.method in EDITS and call.params.get("message_id") == self.inline_message:
            self.inline, self.inline_message = [], None  # the buttons were taken away
        if "keyboard" in markup:
            self.reply = [
                button if isinstance(button, dict) else {"text": str(button)}
                for row in markup["keyboard"]
                for button in row
            ]
            self.show_reply()
        elif markup.get("remove_keyboard"):
            self.reply = []

    def show_inline(self) -> None:
        """The buttons in their rows, as Telegram shows them."""
        labels = [f"[{i}] {button['text']}" for i, button in enumerate(self.inline, 1)]
        start = 0
        for length in self.inline_rows:
            self.say("   " + "   ".join(labels[start : start + length]))
            start += length

    def show_reply(self) -> None:
        labels = [f"[k{i}] {button['text']}" for i, button in enumerate(self.reply, 1)]
        self.say("   keyboard: " + "   ".join(labels))

    # --- what the person does ------------------------------------------------------------------

    async def handle(self, line: str) -> bool:
        """One typed line; False when the person leaves."""
        text = line.strip()
        if not text:
            return True
        if text in ("/quit", "/exit"):
            return False
        mark, update = self.tg.mark(), self.tg.last_update_id
        command, _, rest = text.partition(" ")
        actions: dict[str, Callable[[str], Any]] = {
            "/contact": self.contact,
            "/photo": self.photo,
            "/file": self.document,
            "/keys": self.keys,
        }
        if command in actions:
            await actions[command](rest.strip())
        elif text.isdigit():
            await self.press(int(text))
        elif text[:1] in "kK" and text[1:].isdigit():
            await self.press_reply(int(text[1:]))
        else:
            await self.user.send(text)
        if self.tg.last_update_id != update:  # something went to the bot
            await self.settle(mark)
        return True

    async def settle(self, mark: int) -> None:
        """Wait for the bot's answer to an action (its first call to this chat, then those that
        follow without a pause), so that the next line typed or piped in meets its buttons."""

        def here(call: Call) -> bool:
            return call.chat_id == self.user.id

        with contextlib.suppress(AssertionError):
            call = await self.tg.wait_for_call(predicate=here, after=mark, timeout=ANSWER_WAIT)
            while True:
                call = await self.tg.wait_for_call(predicate=here, after=call, timeout=QUIET)

    async def press(self, number: int) -> None:
        if not 1 <= number <= len(self.inline) or self.inline_message is None:
            self.say("   (no button with that number: /keys shows them)")
            return
        button = self.inline[number - 1]
        message = self.tg.message(self.user.id, self.inline_message)
        if message is None:
            self.say("   (that message is gone)")
        elif "callback_data" in button:
            self.say(f"› {button['text']}")
            await self.user.callback(button["callback_data"], message=message)
        else:
            link = button.get("url") or (button.get("web_app") or {}).get("url")
            self.say(f"   (this button opens {link} in Telegram; not in this try)")

    async def press_reply(self, number: int) -> None:
        if not 1 <= number <= len(self.reply):
            self.say("   (no keyboard button with that number: /keys shows them)")
            return
        button = self.reply[number - 1]
        if button.get("request_contact"):
            await self.contact("")
        else:
            self.say(f"› {button['text']}")
            await self.user.send(button["text"])

    async def contact(self, phone: str) -> None:
        phone = phone or self.default_phone
        self.say(f"› 📱 {phone}")
        await self.user.share_contact(phone)

    async def photo(self, path: str) -> None:
        data = self._read(path)
        if data is not None:
            await self.user.send_photo(data)

    async def document(self, path: str) -> None:
        data = self._read(path)
        if data is not None:
            await self.user.send_document(data, Path(path).name)

    async def keys(self, _: str) -> None:
        if self.inline:
            self.show_inline()
        if self.reply:
            self.show_reply()
        if not self.inline and not self.reply:
            self.say("   (no buttons now)")

    def _read(self, path: str) -> bytes | None:
        try:
            return Path(path).expanduser().read_bytes()
        except OSError as error:
            self.say(f"   (cannot read {path!r}: {error.strerror or error})")
            return None


async def read_lines(stream: TextIO, into: asyncio.Queue[str | None]) -> None:
    """Lines typed on `stream` into the queue (None at the end), without a thread: a thread
    blocked in input() would keep the process alive after /quit or Ctrl-C."""
    loop = asyncio.get_running_loop()
    fd = stream.fileno()
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    pending = ""
    done = asyncio.Event()

    def readable() -> None:
        nonlocal pending
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # a pty whose other side closed
            chunk = b""
        pending += decoder.decode(chunk, final=not chunk)
        *lines, pending = pending.split("\n")
        for line in lines:
            into.put_nowait(line)
        if not chunk:
            if pending:
                into.put_nowait(pending)
            into.put_nowait(None)
            done.set()

    try:
        loop.add_reader(fd, readable)
    except (PermissionError, OSError, NotImplementedError):  # a regular file: read it at once
        for line in stream.read().splitlines():
            into.put_nowait(line)
        into.put_nowait(None)
        return
    try:
        await done.wait()
    finally:
        with contextlib.suppress(Exception):
            loop.remove_reader(fd)
