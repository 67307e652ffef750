"""Loads the sender's registration (or None) into handler data as `resident`, and hands the
process's `PeopleCache` to handlers as `people` (it keeps residents between updates)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, User

from services.people_cache import PeopleCache


class ResidentMiddleware(BaseMiddleware):
    def __init__(self, people: PeopleCache) -> None:
        self.people = people

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        user: User | None = data.get("event_from_user")
        data["people"] = self.people
        data["resident"] = await self.people.resident(data["session"], user.id) if user else None
        return await handler(event, data)
