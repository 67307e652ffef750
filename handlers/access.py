"""Gates shared by the feature routers: registered residents only, and the account a button names
only when the resident has linked it.

Callback data comes from the client and can be forged. `AccountAccess` runs after a router's
filters matched: when the matched `CallbackData` has an `account_id`, it loads that account through
the resident's links and hands it to the handler as `account`; an account the resident has not
linked (or that does not exist: the same answer) is refused with an alert and the handler never
runs. `account_id = 0` is "no account" where a callback declares that default (e.g. "all my
appeals"); there `account` is None.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, Router
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, Message, TelegramObject

from storage.models import Resident
from storage.repo.accounts import get_linked_account
from texts.ru import common as t


class Gate(BaseMiddleware):
    """A middleware that lets the update through when `admit` says so (it may add to `data`)."""

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        if await self.admit(event, data):
            return await handler(event, data)
        return None

    async def admit(self, event: TelegramObject, data: dict[str, Any]) -> bool:
        raise NotImplementedError


class RegisteredOnly(Gate):
    """Features past registration answer unregistered users with a pointer to /start."""

    async def admit(self, event: TelegramObject, data: dict[str, Any]) -> bool:
        resident: Resident | None = data.get("resident")
        if resident is not None and resident.is_registered:
            return True
        if isinstance(event, CallbackQuery):
            await event.answer(t.NOT_REGISTERED, show_alert=True)
        elif isinstance(event, Message):
            await event.answer(t.NOT_REGISTERED)
        return False


class AccountAccess(Gate):
    """Authorize `callback_data.account_id` against the resident's links; inject `account`."""

    async def admit(self, event: TelegramObject, data: dict[str, Any]) -> bool:
        callback_data = data.get("callback_data")
        if (
            not isinstance(callback_data, CallbackData)
            or "account_id" not in type(callback_data).model_fields
        ):
            return True
        account_id = callback_data.account_id  # type: ignore[attr-defined]
        field = type(callback_data).model_fields["account_id"]
        if account_id == 0 and not field.is_required() and field.default == 0:
            data["account"] = None
            return True
        resident: Resident | None = data.get("resident")
        account = (
            await get_linked_account(data["session"], resident.id, account_id)
            if resident is not None
            else None
        )
        if account is None:
            if isinstance(event, CallbackQuery):
                await event.answer(t.ACCOUNT_NOT_AVAILABLE, show_alert=True)
            return False
        data["account"] = account
        return True


def registered_only(router: Router, *, linked_accounts: bool = True) -> Router:
    """Attach the gates to a router's messages and callbacks (as inner middlewares, so they run
    only for updates that the router's filters matched): registered residents only, then the
    account named in callback data authorized and injected as `account`. Only the linking
    dialogue, whose buttons name accounts the resident is about to link, goes without the
    second gate (`linked_accounts=False`)."""
    gate = RegisteredOnly()
    router.message.middleware(gate)
    router.callback_query.middleware(gate)
    if linked_accounts:
        router.callback_query.middleware(AccountAccess())
    return router
