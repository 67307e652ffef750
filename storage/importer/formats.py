"""The file formats: one file per kind of record, recognized by its header (or its name).

`docs/import-format.md` documents every column listed here; keep the two in step.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from storage.importer import values as v


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()  # an empty cell is an error


@dataclass(frozen=True)
class Column:
    name: str
    aliases: tuple[str, ...]
    parse: Callable[[str], Any]
    in_header: bool = False  # the header must have it
    default: Any = REQUIRED  # the value of an empty cell


@dataclass(frozen=True)
class Kind:
    name: str
    hints: tuple[str, ...]  # file-name words that name the kind
    columns: tuple[Column, ...]

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


def normalize(header: str) -> str:
    """`Лицевой счёт` → `лицевой_счет`, `Л/С` → `л_с`, `\\ufeffcode` → `code`."""
    lowered = header.replace("\ufeff", "").strip().lower().replace("ё", "е")
    return re.sub(r"[^0-9a-zа-я]+", "_", lowered).strip("_")


ORG = Column(
    "org",
    ("org", "org_code", "organization", "организация", "код_организации", "ук", "поставщик"),
    v.text(64),
    default=None,
)
ACCOUNT_ALIASES = (
    "account", "account_number", "лицевой_счет", "л_с", "лс", "номер_лс", "номер_лицевого_счета",
    "счет",
)  # fmt: skip
ACCOUNT = Column("account", ACCOUNT_ALIASES, v.text(32), in_header=True)
PERIOD = Column(
    "period", ("period", "период", "месяц", "расчетный_период"), v.period, in_header=True
)


ORGANIZATIONS = Kind(
    "organizations",
    ("organizations", "organization", "orgs", "организации", "организация", "поставщики"),
    (
        Column("code", ("code", "org_code", "код", "код_организации"), v.text(64), True),
        Column("name", ("name", "наименование", "название"), v.text(300), True),
        Column("inn", ("inn", "инн"), v.digits(10, 12), default=""),
        Column("kpp", ("kpp", "кпп"), v.digits(9), default=""),
        Column("address", ("address", "адрес", "юридический_адрес"), v.text(500), default=""),
        Column("phone", ("phone", "телефон"), v.text(64), default=""),
        Column("branch", ("branch", "отделение", "филиал"), v.text(300), default=""),
        Column("bank_name", ("bank_name", "bank", "банк"), v.text(300), default=""),
        Column("bic", ("bic", "бик"), v.digits(9), default=""),
        Column(
            "corr_account",
            ("corr_account", "корр_счет", "кор_счет", "к_с"),
            v.digits(20),
            default="",
        ),
        Column(
            "settlement_account",
            ("settlement_account", "расчетный_счет", "р_с"),
            v.digits(20),
            default="",
        ),
        Column("timezone", ("timezone", "tz", "часовой_пояс"), v.timezone, default="Europe/Moscow"),
        Column(
            "readings_day_from",
            ("readings_day_from", "readings_from", "показания_с"),
            v.integer(1, 31),
            default=20,
        ),
        Column(
            "readings_day_to",
            ("readings_day_to", "readings_to", "показания_по"),
            v.integer(1, 31),
            default=25,
        ),
    ),
)

HOUSES = Kind(
    "houses",
    ("houses", "house", "дома", "дом"),
    (
        ORG,
        Column("code", ("code", "house_code", "house", "код", "код_дома"), v.text(64), True),
        Column("address", ("address", "адрес"), v.text(500), True),
        Column("street", ("street", "улица"), v.text(300), default=""),
    ),
)

APARTMENTS = Kind(
    "apartments",
    ("apartments", "apartment", "flats", "помещения", "квартиры"),
    (
        ORG,
        Column("house", ("house", "house_code", "дом", "код_дома"), v.text(64), True),
        Column(
            "number",
            ("number", "apartment", "flat", "квартира", "помещение", "номер_помещения", "кв"),
            v.text(32),
            True,
        ),
        Column("area", ("area", "площадь", "общая_площадь"), v.area, default=None),
        Column(
            "ownership_type",
            ("ownership_type", "ownership", "тип_собственности", "собственность"),
            v.text(64),
            default="",
        ),
    ),
)

ACCOUNTS = Kind(
    "accounts",
    ("accounts", "лицевые_счета", "счета", "лс"),
    (
        ORG,
        Column("number", (*ACCOUNT_ALIASES, "number"), v.text(32), True),
        Column("house", ("house", "house_code", "дом", "код_дома"), v.text(64), True),
        Column("apartment", ("apartment", "flat", "квартира", "помещение", "кв"), v.text(32), True),
        Column(
            "holder_name",
            ("holder_name", "holder", "фио", "владелец", "абонент"),
            v.text(300),
            default="",
        ),
        Column("phone", ("phone", "телефон"), v.phone, default=None),
        Column("closed", ("closed", "закрыт"), v.boolean, default=False),
    ),
)

SERVICES = Kind(
    "services",
    ("services", "услуги"),
    (
        ORG,
        Column("code", ("code", "service_code", "код", "код_услуги"), v.text(64), True),
        Column("name", ("name", "наименование", "название", "услуга"), v.text(200), True),
        Column("unit", ("unit", "ед_изм", "единица", "единица_измерения"), v.text(32), default=""),
        Column("group_name", ("group_name", "group", "группа"), v.text(200), default=""),
        Column("resource", ("resource", "ресурс"), v.service_resource, default=""),
        Column("is_common", ("is_common", "common", "одн"), v.boolean, default=False),
        Column("sort_order", ("sort_order", "order", "порядок"), v.integer(0, 10_000), default=0),
    ),
)

CHARGES = Kind(
    "charges",
    ("charges", "начисления"),
    (
        ORG,
        ACCOUNT,
        PERIOD,
        Column("service", ("service", "service_code", "услуга", "код_услуги"), v.text(64), True),
        Column("tariff", ("tariff", "тариф"), v.quantity, default=0),
        Column("volume", ("volume", "объем", "количество"), v.quantity, default=0),
        Column(
            "opening",
            (
                "opening",
                "на_начало",
                "сальдо_на_начало",
                "входящее_сальдо",
                "к_оплате_на_начало_месяца",
                "долг_на_начало",
            ),
            v.money,
            default=0,
        ),
        Column("charged", ("charged", "начислено"), v.money, True),
        Column("recalculation", ("recalculation", "recalc", "перерасчет"), v.money, default=0),
        Column("paid", ("paid", "оплачено", "оплата"), v.money, default=0),
        Column(
            "closing",
            (
                "closing",
                "total",
                "итого",
                "итого_начислено",
                "на_конец",
                "сальдо_на_конец",
                "исходящее_сальдо",
            ),
            v.money,
            default=None,  # computed when absent
        ),
    ),
)

PAYMENTS = Kind(
    "payments",
    ("payments", "оплаты", "платежи"),
    (
        ORG,
        ACCOUNT,
        Column("date", ("date", "paid_on", "дата", "дата_оплаты", "дата_платежа"), v.date, True),
        Column("amount", ("amount", "sum", "сумма", "сумма_оплаты"), v.money, True),
        Column("period", PERIOD.aliases, v.period, default=None),  # default: the date's month
        Column(
            "source",
            ("source", "источник", "способ_оплаты", "место_оплаты"),
            v.text(100),
            default="",
        ),
    ),
)

METERS = Kind(
    "meters",
    ("meters", "счетчики", "пу", "приборы_учета"),
    (
        ORG,
        ACCOUNT,
        Column(
            "code",
            ("code", "meter", "meter_code", "код", "код_пу", "код_счетчика"),
            v.text(64),
            True,
        ),
        Column("resource", ("resource", "ресурс"), v.resource, True),
        Column(
            "serial",
            ("serial", "serial_number", "заводской_номер", "номер_пу"),
            v.text(64),
            default="",
        ),
        Column("zone", ("zone", "tariff_zone", "зона", "тарифная_зона"), v.zone, default=""),
        Column("digits", ("digits", "разрядность"), v.integer(1, 12), default=5),
        Column("decimals", ("decimals", "дробных_знаков"), v.integer(0, 4), default=3),
        Column(
            "verification_due",
            ("verification_due", "verification", "поверка", "дата_поверки", "следующая_поверка"),
            v.date,
            default=None,
        ),
        Column("archived", ("archived", "архив", "снят"), v.boolean, default=False),
    ),
)

READINGS = Kind(
    "readings",
    ("readings", "показания"),
    (
        ORG,
        ACCOUNT,
        Column(
            "meter",
            ("meter", "meter_code", "код_пу", "код_счетчика", "счетчик", "пу"),
            v.text(64),
            True,
        ),
        PERIOD,
        Column(
            "value",
            ("value", "reading", "показание", "показания", "значение"),
            v.nonnegative_quantity,
            True,
        ),
        Column("date", ("date", "taken_on", "дата", "дата_показаний"), v.date, default=None),
        Column("source", ("source", "источник"), v.reading_source, default="billing"),
    ),
)

# The order of loading: every kind refers only to kinds before it.
KINDS = (ORGANIZATIONS, HOUSES, APARTMENTS, ACCOUNTS, SERVICES, METERS, CHARGES, PAYMENTS, READINGS)
KINDS_BY_NAME = {kind.name: kind for kind in KINDS}


@dataclass
class Layout:
    """A file's kind and where each of its columns is (index into the row)."""

    kind: Kind
    positions: dict[str, int]
    ignored: list[str]


def _map_header(kind: Kind, header: list[str]) -> tuple[dict[str, int], list[str], list[str]]:
    """(positions, ignored headers, problems)."""
    positions: dict[str, int] = {}
    ignored: list[str] = []
    problems: list[str] = []
    lookup = {alias: column.name for column in kind.columns for alias in column.aliases}
    for index, title in enumerate(header):
        name = lookup.get(normalize(title))
        if name is None:
            if title.strip():
                ignored.append(title.strip())
        elif name in positions:
            first = header[positions[name]].strip()
            problems.append(f"columns {first!r} and {title.strip()!r} both mean {name!r}")
        else:
            positions[name] = index
    return positions, ignored, problems


def _hinted_kind(path: Path) -> Kind | None:
    words = set(normalize(path.stem).split("_"))
    stem = normalize(path.stem)
    for kind in KINDS:
        if any(hint in words or stem.startswith(hint) for hint in kind.hints):
            return kind
    return None


def recognize(path: Path, header: list[str]) -> tuple[Layout | None, list[str]]:
    """The kind of a file by its header, the file name deciding ties; or the problems."""
    hinted = _hinted_kind(path)
    candidates = []
    for kind in KINDS:
        positions, ignored, problems = _map_header(kind, header)
        missing = [c.name for c in kind.columns if c.in_header and c.name not in positions]
        candidates.append((kind, positions, ignored, problems, missing))
    if hinted is not None:
        kind, positions, ignored, problems, missing = next(c for c in candidates if c[0] is hinted)
        problems = problems + [f"missing column {name!r}" for name in missing]
        if problems:
            return None, [f"{kind.name} file: {p}" for p in problems]
        return Layout(kind, positions, ignored), []
    complete = [c for c in candidates if not c[4] and not c[3]]
    if not complete:
        return None, [
            "cannot tell what this file holds: name it after its kind "
            "(organizations, houses, apartments, accounts, services, meters, charges, payments, "
            "readings) or use the headers of docs/import-format.md"
        ]
    complete.sort(key=lambda c: len(c[1]), reverse=True)
    if len(complete) > 1 and len(complete[0][1]) == len(complete[1][1]):
        names = " or ".join(c[0].name for c in complete[:2])
        return None, [f"the header fits both {names}: put the kind in the file name"]
    kind, positions, ignored, _, _ = complete[0]
    return Layout(kind, positions, ignored), []
