"""Gates shared by the feature routers: registered residents only, and the account a button names
only when the resident has linked it.

Callback data comes from the client and can be forged. `AccountAccess` runs after a router's
filters matched: when the matched `CallbackData` has an `account_id`, it finds that account among
the resident's links (`PeopleCache.linked_account`) and hands it to the handler as `account`; an
account the resident has not linked (or that does not exist: the same answer) is refused with an
alert and the handler never runs. `account_id = 0` is "no account" where a callback declares that default (e.g. "all my
appeals"); there `account` is None. `NamedPeriod` reads a callback's month the same way.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, Router
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, Message, TelegramObject

from services.people_cache import PeopleCache
from storage.models import Resident
from storage.periods import int_to_period
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


def _named(data: dict[str, Any], name: str) -> tuple[int, bool] | None:
    """The integer field `name` of the matched callback data and whether it is 0 where the
    callback declares 0 as its default (nothing named: "no account", "the latest month"); None
    when the data has no such field."""
    callback_data = data.get("callback_data")
    if not isinstance(callback_data, CallbackData):
        return None
    field = type(callback_data).model_fields.get(name)
    if field is None:
        return None
    value = getattr(callback_data, name)
    return value, value == 0 and not field.is_required() and field.default == 0


class AccountAccess(Gate):
    """Authorize `callback_data.account_id` against the resident's links; inject `account`."""

    async def admit(self, event: TelegramObject, data: dict[str, Any]) -> bool:
        named = _named(data, "account_id")
        if named is None:
            return True
        account_id, nothing = named
        if nothing:
            data["account"] = None
            return True
        resident: Resident | None = data.get("resident")
        people: PeopleCache = data["people"]
        account = (
            await people.linked_account(data["session"], resident, account_id)
            if resident is not None
            else None
        )
        if account is None:
            if isinstance(event, CallbackQuery):
                await event.answer(t.ACCOUNT_NOT_AVAILABLE, show_alert=True)
            return False
        data["account"] = account
        return True


class NamedPeriod(Gate):
    """Read `callback_data.period` (YYYYMM) as a month; inject `period` (None for the declared
    default 0: the latest). A malformed one (forged) is refused with `alert`."""

    def __init__(self, alert: str) -> None:
        self.alert = alert

    async def admit(self, event: TelegramObject, data: dict[str, Any]) -> bool:
        named = _named(data, "period")
        if named is None:
            return True
        value, latest = named
        try:
            data["period"] = None if latest else int_to_period(value)
        except ValueError:
            if isinstance(event, CallbackQuery):
                await event.answer(self.alert, show_alert=True)
            return False
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
