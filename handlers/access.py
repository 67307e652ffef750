"""Gates shared by the feature routers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, Router
from aiogram.types import CallbackQuery, Message, TelegramObject
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Account, Resident
from storage.repo.accounts import get_linked_account
from texts.ru import common as t


class RegisteredOnly(BaseMiddleware):
    """Features past registration answer unregistered users with a pointer to /start."""

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        resident: Resident | None = data.get("resident")
        if resident is not None and resident.is_registered:
            return await handler(event, data)
        if isinstance(event, CallbackQuery):
            await event.answer(t.NOT_REGISTERED, show_alert=True)
        elif isinstance(event, Message):
            await event.answer(t.NOT_REGISTERED)
        return None


async def authorized(
    callback: CallbackQuery, session: AsyncSession, resident: Resident, account_id: int
) -> Account | None:
    """The account named in callback data if the resident has linked it; otherwise the resident
    is told so and None is returned (nothing of the account is read). Callback data can be
    forged: every button that names an account comes through here."""
    account = await get_linked_account(session, resident.id, account_id)
    if account is None:
        await callback.answer(t.ACCOUNT_NOT_AVAILABLE, show_alert=True)
    return account


def registered_only(router: Router) -> Router:
    """Attach the gate to a router's messages and callbacks (as an inner middleware, so it runs
    only for updates that the router's filters matched)."""
    gate = RegisteredOnly()
    router.message.middleware(gate)
    router.callback_query.middleware(gate)
    return router
