"""Every CallbackData of the project fits Telegram's 64 bytes at its largest plausible values,
and no two share a prefix (a press would reach the wrong handler)."""

from __future__ import annotations

import enum
import importlib
import pkgutil
import typing
from types import UnionType

import pytest
from aiogram.filters.callback_data import CallbackData

import handlers
import keyboards

PROJECT_PACKAGES = (keyboards, handlers)
# Ids as large as a forged button may carry (beyond storage.types.MAX_ID, refused on use).
ID = 2**62
# Fields that are not ids, at their largest plausible value; every other int is an id.
INT_BOUNDS = {
    "period": 209912,  # YYYYMM
    "page": 9999,
    "year": 2099,
    "months": 9999,
    "item": 9999,
    "kind": 9,
    "fresh": 1,
    "via": 1,
}
# A plain `str` field (a StrEnum says what it holds): longer than any action word in use.
PLAIN_STR = "x" * 24


def all_callback_data() -> list[type[CallbackData]]:
    for package in PROJECT_PACKAGES:
        for module in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
            importlib.import_module(module.name)
    found: list[type[CallbackData]] = []
    stack = list(CallbackData.__subclasses__())
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        if cls.__module__.split(".")[0] in {p.__name__ for p in PROJECT_PACKAGES}:
            found.append(cls)
    return sorted(found, key=lambda cls: cls.__qualname__)


def largest(name: str, annotation: object) -> object:
    if isinstance(annotation, UnionType) or typing.get_origin(annotation) is typing.Union:
        options = [a for a in typing.get_args(annotation) if a is not type(None)]
        return max((largest(name, a) for a in options), key=lambda v: len(str(v)))
    if typing.get_origin(annotation) is typing.Literal:
        return max(typing.get_args(annotation), key=lambda v: len(str(v)))
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return max(annotation, key=lambda member: len(str(member.value)))
    if annotation is bool:
        return True
    if annotation is int:
        return INT_BOUNDS.get(name, ID)
    if annotation is str:
        return PLAIN_STR
    raise AssertionError(f"no largest value known for {name}: {annotation!r}")


CALLBACK_DATA = all_callback_data()


def test_the_project_s_callback_data_are_found() -> None:
    names = {cls.__name__ for cls in CALLBACK_DATA}
    assert {"OpenCard", "ChargesMonth", "LinkPick", "PickMeter", "OperatorAppeal"} <= names


@pytest.mark.parametrize("cls", CALLBACK_DATA, ids=lambda cls: cls.__name__)
def test_fits_64_bytes_at_its_largest(cls: type[CallbackData]) -> None:
    hints = typing.get_type_hints(cls)
    values = {name: largest(name, hints[name]) for name in cls.model_fields}
    data = cls(**values)
    packed = data.pack()
    assert len(packed.encode()) <= 64, packed
    assert cls.unpack(packed) == data


def test_prefixes_are_unique() -> None:
    prefixes: dict[str, str] = {}
    for cls in CALLBACK_DATA:
        prefix = cls.__prefix__
        assert prefix not in prefixes, f"{cls.__name__} and {prefixes[prefix]} share {prefix!r}"
        prefixes[prefix] = cls.__name__
