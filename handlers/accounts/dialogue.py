"""The linking dialogue's states and its typed data: the path taken through the directory."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from aiogram.dispatcher.flags import get_flag
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message, TelegramObject
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


@dataclass(frozen=True)
class Level:
    """A level of the directory: the name a thing of it is injected under, the field that holds
    its id (in a button and in the path), the path's field of the level it must belong to, and
    how it is found."""

    name: str
    key: str
    within: str  # "" for the top level
    find: Callable[..., Awaitable[object | None]]

    async def lookup(
        self, session: AsyncSession, path: LinkPath, named: object, *, current: bool
    ) -> object | None:
        """The thing a button names (`named`, its callback data), or the path's own one when
        `named` has no id of this level. None when it is not within the path taken, or when it
        should be the path's own (`current`) and is not."""
        own = getattr(path, self.key)
        thing_id = getattr(named, self.key, own)
        if current and thing_id != own:
            return None
        if not self.within:
            return await self.find(session, thing_id)
        return await self.find(session, thing_id, getattr(path, self.within))


ORG = Level("org", "org_id", "", linking.organization)
HOUSE = Level("house", "house_id", "org_id", linking.house_of)
APARTMENT = Level("apartment", "apartment_id", "house_id", linking.apartment_of)
ACCOUNT = Level("account", "account_id", "apartment_id", linking.account_of)

# The buttons that name a thing of the directory; "current": the path's own one (a button's id
# of it, if it has one, must be the path's).
BUTTONS: dict[type, tuple[Level, bool]] = {
    LinkHouses: (ORG, False),
    LinkClearSearch: (ORG, True),
    LinkApartments: (HOUSE, False),
    LinkAccounts: (APARTMENT, False),
    LinkPick: (ACCOUNT, False),
    LinkNewCaptcha: (ACCOUNT, True),
}
# The steps that take typed text about the path's own thing of a level.
TYPED: dict[str | None, Level] = {
    Linking.house.state: ORG,
    Linking.apartment.state: HOUSE,
    Linking.proof.state: ACCOUNT,
    Linking.captcha.state: ACCOUNT,
}
# The flag of a handler whose typed text is about the path's own thing (`TYPED`).
ON_PATH = {"on_path": True}

Restart = Callable[[Message, FSMContext, AsyncSession], Awaitable[None]]


class WithinPath(Gate):
    """A button that names a thing of the directory, or a typed step's text (a handler flagged
    `ON_PATH`): load the path taken, look the thing up within it and inject both (`path`, and
    `org`, `house`, `apartment` or `account`). A thing outside the path (forged, or gone since)
    gets the stale alert on a button, and the dialogue from its beginning (`restart`) on a text;
    the handler never runs."""

    def __init__(self, restart: Restart) -> None:
        self.restart = restart

    async def admit(self, event: TelegramObject, data: dict[str, Any]) -> bool:
        named = data.get("callback_data")
        level, current = BUTTONS.get(type(named), (None, False))
        if isinstance(event, Message) and get_flag(data, "on_path"):
            level, current = TYPED.get(data.get("raw_state")), True
        if level is None:
            return True
        path = await load(data["state"])
        found = await level.lookup(data["session"], path, named, current=current)
        if found is None:
            await self._refuse(event, data)
            return False
        data["path"], data[level.name] = path, found
        return True

    async def _refuse(self, event: TelegramObject, data: dict[str, Any]) -> None:
        if isinstance(event, CallbackQuery):
            await stale(event)
        elif isinstance(event, Message):
            await self.restart(event, data["state"], data["session"])
