"""Loads the sender's registration (or None) into handler data as `resident`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, User

from storage.repo import residents


class ResidentMiddleware(BaseMiddleware):
    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        user: User | None = data.get("event_from_user")
        data["resident"] = (
            await residents.get_by_telegram_id(data["session"], user.id) if user else None
        )
        return await handler(event, data)
