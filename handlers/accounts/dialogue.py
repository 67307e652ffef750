"""The linking dialogue's states and its typed data: the path taken through the directory."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, TelegramObject
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.access import Gate
from keyboards.accounts import (
    LinkAccounts,
    LinkApartments,
    LinkClearSearch,
    LinkHouses,
    LinkNewCaptcha,
    LinkPick,
)
from services import linking
from texts.ru import accounts as t


class Linking(StatesGroup):
    org = State()
    house = State()
    apartment = State()
    account = State()
    proof = State()
    captcha = State()


# What a step answers to anything it cannot take.
HINTS = {
    Linking.org.state: t.ORG_HINT,
    Linking.house.state: t.HOUSE_HINT,
    Linking.apartment.state: t.APARTMENT_HINT,
    Linking.account.state: t.ACCOUNT_HINT,
    Linking.proof.state: t.PROOF_HINT,
    Linking.captcha.state: t.CAPTCHA_HINT,
}


@dataclass(frozen=True)
class LinkPath:
    """Where the resident is: each step must name something inside the steps before it."""

    org_id: int = 0
    search: str = ""  # the street search within the organization
    house_id: int = 0
    apartment_id: int = 0
    account_id: int = 0
    captcha: str = ""  # the answer of the captcha shown last
    captcha_passed: bool = False

    @classmethod
    def of(cls, data: dict[str, Any]) -> LinkPath:
        names = {field.name for field in fields(cls)}
        return cls(**{key: value for key, value in data.items() if key in names})

    def but(self, **changes: Any) -> LinkPath:
        return replace(self, **changes)


async def load(state: FSMContext) -> LinkPath:
    return LinkPath.of(await state.get_data())


async def save(state: FSMContext, step: State, path: LinkPath) -> None:
    await state.set_state(step)
    await state.set_data(asdict(path))


async def stale(callback: CallbackQuery) -> None:
    await callback.answer(t.STALE, show_alert=True)


Lookup = Callable[[AsyncSession, Any, LinkPath], Awaitable[object | None]]


async def _browsed_org(session: AsyncSession, data: LinkClearSearch, path: LinkPath) -> object:
    return await linking.organization(session, data.org_id) if path.org_id == data.org_id else None


# The buttons that name a step of the directory: the name the thing is injected under, and how it
# is looked up within the path taken.
STEPS: dict[type, tuple[str, Lookup]] = {
    LinkHouses: ("org", lambda session, data, _: linking.organization(session, data.org_id)),
    LinkClearSearch: ("org", _browsed_org),
    LinkApartments: (
        "house",
        lambda session, data, path: linking.house_of(session, data.house_id, path.org_id),
    ),
    LinkAccounts: (
        "apartment",
        lambda session, data, path: linking.apartment_of(session, data.apartment_id, path.house_id),
    ),
    LinkPick: (
        "account",
        lambda session, data, path: linking.account_of(session, data.account_id, path.apartment_id),
    ),
    LinkNewCaptcha: (
        "account",
        lambda session, _, path: linking.account_of(session, path.account_id, path.apartment_id),
    ),
}


class WithinPath(Gate):
    """A button that names a step of the directory: load the path taken, look the named thing up
    within it and inject both (`path`, and `org`, `house`, `apartment` or `account`). A thing
    outside the path (forged, or gone since) gets the stale alert and the handler never runs."""

    async def admit(self, event: TelegramObject, data: dict[str, Any]) -> bool:
        callback_data = data.get("callback_data")
        step = STEPS.get(type(callback_data))
        if step is None:
            return True
        name, lookup = step
        path = await load(data["state"])
        found = await lookup(data["session"], callback_data, path)
        if found is None:
            if isinstance(event, CallbackQuery):
                await stale(event)
            return False
        data["path"], data[name] = path, found
        return True
