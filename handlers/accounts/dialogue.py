"""The linking dialogue's states and its typed data: the path taken through the directory."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup

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
