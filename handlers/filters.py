"""Async filters for hot paths (aiogram runs synchronous filters, magic `F` included, in a
thread: about 0.2 ms each)."""

from __future__ import annotations

from aiogram.filters import Filter
from aiogram.types import Message


class TextIs(Filter):
    """The message text is exactly one of the given strings (reply-keyboard buttons)."""

    def __init__(self, *texts: str) -> None:
        self.texts = frozenset(texts)

    async def __call__(self, message: Message) -> bool:
        return message.text in self.texts


class PrivateChat(Filter):
    async def __call__(self, message: Message) -> bool:
        return message.chat.type == "private"
