"""The file formats: one table per kind of record, recognized by its header alone.

Our own multi-file format (organizations … readings) and the flat registry of charges as billing
systems export it (`REGISTRY`: one row per account and service, with the address).

`docs/import-format.md` documents every column listed here; keep the two in step.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
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
    title: str  # Russian, for the report
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
    "организации",
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
        Column(
            "due_day",
            ("due_day", "pay_by_day", "срок_оплаты", "день_оплаты", "оплатить_до"),
            v.integer(1, 31),
            default=10,
        ),
        # contacts residents see (/help, «📞 Контакты»), and the answer time of appeals
        Column(
            "email",
            ("email", "e_mail", "электронная_почта", "эл_почта", "почта"),
            v.email,
            default="",
        ),
        Column(
            "office_hours",
            ("office_hours", "hours", "часы_приема", "часы_работы", "режим_работы", "прием"),
            v.text(300),
            default="",
        ),
        Column(
            "emergency_phone",
            (
                "emergency_phone",
                "emergency",
                "аварийная_служба",
                "аварийная",
                "диспетчерская",
                "аварийно_диспетчерская_служба",
                "аварийный_телефон",
                "телефон_аварийной_службы",
                "телефон_диспетчерской",
                "ads",
                "адс",
            ),
            v.text(64),
            default="",
        ),
        Column(
            "answer_days",
            (
                "answer_days",
                "срок_ответа",
                "срок_ответа_раб_дней",
                "срок_ответа_рабочих_дней",
                "срок_ответа_дней",
            ),
            v.integer(1, 30),
            default=2,
        ),
    ),
)

HOUSES = Kind(
    "houses",
    "дома",
    (
        ORG,
        Column("code", ("code", "house_code", "house", "код", "код_дома"), v.text(64), True),
        Column("address", ("address", "адрес"), v.text(500), True),
        Column("street", ("street", "улица"), v.text(300), default=""),
    ),
)

APARTMENTS = Kind(
    "apartments",
    "помещения",
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
    "лицевые счета",
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
    "услуги",
    (
        ORG,
        Column("code", ("code", "service_code", "код", "код_услуги"), v.text(64), True),
        Column("name", ("name", "наименование", "название", "услуга"), v.text(200), True),
        Column("unit", ("unit", "ед_изм", "единица", "единица_измерения"), v.text(32), default=""),
        Column("group_name", ("group_name", "group", "группа"), v.text(200), default=""),
        Column("resource", ("resource", "ресурс"), v.service_resource, default=""),
        Column("is_common", ("is_common", "common", "одн"), v.boolean, default=False),
        Column("sort_order", ("sort_order", "order", "порядок"), v.integer(0, 10_000), default=0),
        # пени, льгота, субсидия: a line of its own (empty: from the name, else a service)
        Column("kind", ("kind", "вид", "вид_строки", "тип_строки"), v.line_kind, default=""),
    ),
)

# The money lines a charges row may carry besides its service (issue 15): пени, льготы and
# субсидии become lines of their own; a recalculation's reason and the months it corrects.
PENALTY = Column(
    "penalty", ("penalty", "пени", "пеня", "сумма_пени", "начислено_пени"), v.money, default=0
)
BENEFIT = Column(
    "benefit", ("benefit", "льгота", "льготы", "сумма_льготы", "сумма_льгот"), v.money, default=0
)
SUBSIDY = Column(
    "subsidy", ("subsidy", "субсидия", "субсидии", "сумма_субсидии"), v.money, default=0
)
RECALC_REASON = Column(
    "recalc_reason",
    (
        "recalc_reason", "причина_перерасчета", "основание_перерасчета", "причина",
        "основание", "основание_корректировки",
    ),
    v.text(500),
    default="",
)  # fmt: skip
RECALC_PERIOD = Column(
    "recalc_period",
    (
        "recalc_period", "период_перерасчета", "за_период", "перерасчет_за_период",
        "перерасчет_за", "период_корректировки",
    ),
    v.period_span,
    default=None,
)  # fmt: skip
MONEY_LINES = (PENALTY, BENEFIT, SUBSIDY, RECALC_REASON, RECALC_PERIOD)
MONEY_LINE_NAMES = frozenset(c.name for c in MONEY_LINES)

CHARGES = Kind(
    "charges",
    "начисления",
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
        *MONEY_LINES,
    ),
)

PAYMENTS = Kind(
    "payments",
    "оплаты",
    (
        ORG,
        ACCOUNT,
        Column("date", ("date", "paid_on", "дата", "дата_оплаты", "дата_платежа"), v.date, True),
        Column(
            "amount", ("amount", "sum", "сумма", "сумма_оплаты", "сумма_платежа"), v.money, True
        ),
        Column("period", PERIOD.aliases, v.period, default=None),  # default: the date's month
        Column(
            "source",
            ("source", "источник", "способ_оплаты", "место_оплаты"),
            v.text(100),
            default="",
        ),
        # Telegram's charge id of a payment made through the bot (export-payments writes it)
        Column(
            "charge_id",
            ("charge_id", "telegram_payment_charge_id", "id_платежа_telegram"),
            v.text(200),
            default=None,
        ),
    ),
)

METERS = Kind(
    "meters",
    "счётчики",
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
    "показания",
    (
        ORG,
        ACCOUNT,
        Column(
            "meter",
            (
                "meter",
                "meter_code",
                "код_пу",
                "код_счетчика",
                "счетчик",
                "пу",
                "номер_счетчика",
                "прибор_учета",
            ),
            v.text(64),
            True,
        ),
        Column(
            "serial",
            ("serial", "serial_number", "заводской_номер", "серийный_номер", "номер_пу"),
            v.text(64),
            default="",
        ),  # identifies the meter when there is no meter column
        Column("period", PERIOD.aliases, v.period, default=None),  # the title's, or the date's
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

REGISTRY = Kind(
    "registry",
    "реестр начислений",
    (
        ORG,
        ACCOUNT,
        Column(
            "holder_name",
            ("фио", "плательщик", "абонент", "владелец", "собственник", "наниматель", "holder"),
            v.text(300),
            default="",
        ),
        Column("address", ("адрес", "адрес_помещения", "address"), v.text(500), default=""),
        Column("house", ("дом", "номер_дома", "код_дома", "house"), v.text(64), default=""),
        Column(
            "apartment",
            ("кв", "квартира", "помещение", "номер_квартиры", "apartment", "flat"),
            v.text(32),
            default="",
        ),
        Column("area", ("площадь", "общая_площадь", "area"), v.area, default=None),
        Column(
            "service",
            ("услуга", "наименование_услуги", "вид_услуги", "service"),
            v.text(200),
            True,
        ),
        Column("group_name", ("группа", "группа_услуг", "group"), v.text(200), default=""),
        Column(
            "unit", ("ед_изм", "ед", "единица_измерения", "единица", "unit"), v.text(32), default=""
        ),
        Column("tariff", ("тариф", "tariff"), v.quantity, default=0),
        Column("volume", ("объем", "количество", "потребление", "volume"), v.quantity, default=0),
        Column(
            "opening",
            (
                "сальдо_на_начало",
                "долг_на_начало",
                "входящее_сальдо",
                "на_начало",
                "сальдо_начальное",
                "задолженность_на_начало",
                "opening",
            ),
            v.money,
            default=0,
        ),
        Column("charged", ("начислено", "charged"), v.money, True),
        Column(
            "recalculation",
            ("перерасчет", "перерасчеты", "корректировка", "recalculation"),
            v.money,
            default=0,
        ),
        Column("paid", ("оплачено", "поступило", "оплата", "paid"), v.money, default=0),
        Column(
            "closing",
            (
                "сальдо_на_конец",
                "к_оплате",
                "исходящее_сальдо",
                "на_конец",
                "долг_на_конец",
                "итого_к_оплате",
                "сальдо_конечное",
                "closing",
            ),
            v.money,
            default=None,
        ),
        Column("period", PERIOD.aliases, v.period, default=None),  # or the title's
        *MONEY_LINES,
    ),
)
# Columns only a registry has: with one of them (or without a period column, the period then
# being in the title) a charges header is a registry.
REGISTRY_ONLY = frozenset(
    {"holder_name", "address", "house", "apartment", "area", "group_name", "unit"}
)

# The order of loading: every kind refers only to kinds before it (a registry creates houses,
# apartments, accounts and services, loaded with those kinds).
KINDS = (
    ORGANIZATIONS, HOUSES, APARTMENTS, ACCOUNTS, SERVICES, METERS, REGISTRY, CHARGES, PAYMENTS,
    READINGS,
)  # fmt: skip
KINDS_BY_NAME = {kind.name: kind for kind in KINDS}

COLUMN_TITLES = {
    "org": "Организация", "account": "Лицевой счет", "number": "Номер", "code": "Код",
    "name": "Наименование", "house": "Дом", "apartment": "Кв.", "address": "Адрес",
    "period": "Период", "service": "Услуга", "charged": "Начислено", "date": "Дата",
    "amount": "Сумма", "meter": "Счетчик", "value": "Показание", "resource": "Ресурс",
    "holder_name": "ФИО", "area": "Площадь", "tariff": "Тариф", "volume": "Объем",
    "opening": "Сальдо на начало", "recalculation": "Перерасчет", "paid": "Оплачено",
    "closing": "Сальдо на конец", "group_name": "Группа", "unit": "Ед. изм.",
    "source": "Источник", "street": "Улица", "phone": "Телефон", "penalty": "Пени",
    "benefit": "Льгота", "subsidy": "Субсидия", "recalc_reason": "Причина перерасчета",
    "recalc_period": "Период перерасчета", "kind": "Вид",
    "email": "E-mail", "office_hours": "Часы приёма", "emergency_phone": "Аварийная служба",
    "answer_days": "Срок ответа, раб. дней",
}  # fmt: skip


# A required column that another one may stand in for (readings: the meter by its serial number).
ALTERNATIVES = {"meter": "serial"}


def column_title(name: str) -> str:
    return COLUMN_TITLES.get(name, name)


@dataclass
class Layout:
    """A table's kind and where each of its columns is (index into the row)."""

    kind: Kind
    positions: dict[str, int]
    ignored: list[str]


@dataclass
class Fit:
    kind: Kind
    positions: dict[str, int]
    ignored: list[str]
    clashes: list[str]
    missing: list[str]

    @property
    def complete(self) -> bool:
        if self.missing or self.clashes:
            return False
        if self.kind is REGISTRY:
            return "period" not in self.positions or bool(REGISTRY_ONLY & set(self.positions))
        return True


def _fit(kind: Kind, header: list[str]) -> Fit:
    positions: dict[str, int] = {}
    ignored: list[str] = []
    clashes: list[str] = []
    lookup = {alias: column.name for column in kind.columns for alias in column.aliases}
    for index, title in enumerate(header):
        name = lookup.get(normalize(title))
        if name is None:
            if title.strip():
                ignored.append(title.strip())
        elif name in positions:
            first = header[positions[name]].strip()
            clashes.append(
                f"столбцы «{first}» и «{title.strip()}» означают одно и то же "
                f"({column_title(name)}): оставьте один"
            )
        else:
            positions[name] = index
    missing = [
        c.name
        for c in kind.columns
        if c.in_header and c.name not in positions and ALTERNATIVES.get(c.name) not in positions
    ]
    return Fit(kind, positions, ignored, clashes, missing)


def recognize(header: list[str]) -> Layout | None:
    """The kind whose columns the header has, or None. Only the header decides: of the kinds
    whose required columns are all there, the one that knows most of the columns; a charges
    header that a registry also fits is ours (the registry differs by its own columns)."""
    fits = [_fit(kind, header) for kind in KINDS]
    complete = sorted((f for f in fits if f.complete), key=lambda f: len(f.positions), reverse=True)
    if not complete:
        return None
    best = complete[0]
    if len(complete) > 1 and len(complete[1].positions) == len(best.positions):
        pair = {best.kind.name, complete[1].kind.name}
        if pair != {"charges", "registry"}:
            return None
        best = next(f for f in complete[:2] if f.kind is CHARGES)
    return Layout(best.kind, best.positions, best.ignored)


def explain(header: list[str]) -> str:
    """Why a header fits no kind: the columns found and the closest kinds (Russian)."""
    fits = [_fit(kind, header) for kind in KINDS]
    found = [cell.strip() for cell in header if cell.strip()]
    shown = ", ".join(f"«{cell}»" for cell in found[:12]) + (" …" if len(found) > 12 else "")
    complete = [f for f in fits if f.complete]
    if len(complete) > 1:
        names = " и ".join(f"«{f.kind.title}»" for f in complete[:2])
        return (
            f"по заголовку ({shown}) подходят сразу {names}: добавьте столбцы, которые их "
            "различают (см. docs/import-format.md)"
        )
    for fit in fits:
        if fit.clashes:
            return f"{fit.kind.title}: {fit.clashes[0]}"

    def closeness(fit: Fit) -> tuple[int, int]:
        return (len(fit.positions) - len(fit.missing), len(fit.positions))

    closest = sorted((f for f in fits if f.positions), key=closeness, reverse=True)[:2]
    if not closest:
        return (
            f"не понятно, что в таблице: найдены столбцы {shown or '(пусто)'}, и ни один не "
            "похож на столбцы начислений, оплат, показаний или справочников "
            "(см. docs/import-format.md)"
        )
    hints = "; ".join(
        f"{f.kind.title} — не хватает "
        + ", ".join(f"«{column_title(name)}»" for name in f.missing or ["period"])
        for f in closest
    )
    return f"не понятно, что в таблице: найдены столбцы {shown}; ближе всего: {hints}"
