"""Russian formatting: money `2 383,29`, quantities, months, plurals, escaping."""

from __future__ import annotations

import datetime as dt
import html
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

NBSP = "\u00a0"
KOPECK = Decimal("0.01")

MONTHS_NOMINATIVE = (
    "январь", "февраль", "март", "апрель", "май", "июнь",
    "июль", "август", "сентябрь", "октябрь", "ноябрь", "декабрь",
)  # fmt: skip
MONTHS_GENITIVE = (
    "января", "февраля", "марта", "апреля", "мая", "июня",
    "июля", "августа", "сентября", "октября", "ноября", "декабря",
)  # fmt: skip
MONTHS_SHORT = (
    "янв", "фев", "мар", "апр", "май", "июн", "июл", "авг", "сен", "окт", "ноя", "дек",
)  # fmt: skip


def _group(integer_digits: str) -> str:
    head = len(integer_digits) % 3 or 3
    parts = [integer_digits[:head]]
    parts.extend(integer_digits[i : i + 3] for i in range(head, len(integer_digits), 3))
    return NBSP.join(parts)


def decimal_ru(value: Decimal | int, places: int | None = None, *, min_places: int = 0) -> str:
    """`Decimal('1775.84') -> '1 775,84'`; `places` rounds, `min_places` keeps trailing zeros."""
    value = Decimal(value)
    if places is not None:
        value = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    else:
        value = value.normalize() if value != value.to_integral() else value.quantize(Decimal(1))
        exponent = value.as_tuple().exponent
        if isinstance(exponent, int) and -exponent < min_places:
            value = value.quantize(Decimal(1).scaleb(-min_places))
    sign = "−" if value < 0 else ""
    text = f"{abs(value):f}"
    integer, _, fraction = text.partition(".")
    return f"{sign}{_group(integer)}{',' + fraction if fraction else ''}"


def money(value: Decimal | int) -> str:
    """`2 383,29`: kopecks always shown, non-breaking thousands space, decimal comma."""
    return decimal_ru(value, 2)


def rub(value: Decimal | int) -> str:
    """`2 383,29 ₽`."""
    return f"{money(value)}{NBSP}₽"


def money_or_dash(value: Decimal | None) -> str:
    """The seed's table shows a dash where there is no amount (no recalculation)."""
    return "-" if value is None or value == 0 else money(value)


def tariff(value: Decimal) -> str:
    return decimal_ru(value, min_places=2)


def volume(value: Decimal) -> str:
    return decimal_ru(value, min_places=0)


def month(period: dt.date) -> str:
    """`март 2020`."""
    return f"{MONTHS_NOMINATIVE[period.month - 1]} {period.year}"


def month_short(period: dt.date) -> str:
    """`мар 20` for compact buttons and chart axes."""
    return f"{MONTHS_SHORT[period.month - 1]} {period.year % 100:02d}"


def month_abbr(period: dt.date) -> str:
    """`мар 2020` for month buttons (`мар 20` would read as a date)."""
    return f"{MONTHS_SHORT[period.month - 1]} {period.year}"


# The billing writes units as it likes; residents see one spelling everywhere.
UNITS = {
    "куб.м": "м³", "куб. м": "м³", "куб.м.": "м³", "м3": "м³", "m3": "м³", "куб": "м³",
    "кв.м": "м²", "кв. м": "м²", "кв.м.": "м²", "м2": "м²", "m2": "м²",
    "квт.ч": "кВт·ч", "квт*ч": "кВт·ч", "квтч": "кВт·ч", "квт/ч": "кВт·ч", "квт·ч": "кВт·ч",
    "гкал": "Гкал",
}  # fmt: skip


def unit(value: str | None) -> str:
    """`куб.м` -> `м³`, `кВт.ч` -> `кВт·ч`; an unknown unit as the billing wrote it."""
    text = (value or "").strip()
    return UNITS.get(text.lower(), text)


def lower_first(value: str) -> str:
    """`Частная` -> `частная` (a billing value inside a sentence); `ЖСК` stays as it is."""
    if len(value) > 1 and value[0].isupper() and not value[1].isupper():
        return value[0].lower() + value[1:]
    return value


def day(value: dt.date) -> str:
    """`05.03.2020`."""
    return value.strftime("%d.%m.%Y")


def day_long(value: dt.date) -> str:
    """`20 марта`."""
    return f"{value.day} {MONTHS_GENITIVE[value.month - 1]}"


def plural(n: int, one: str, few: str, many: str) -> str:
    """Russian plural form for `n`: 1 счёт, 2 счёта, 5 счетов, 11 счетов, 21 счёт."""
    n = abs(n)
    if n % 10 == 1 and n % 100 != 11:
        return one
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return few
    return many


def count(n: int, one: str, few: str, many: str) -> str:
    """`3 счёта`."""
    return f"{n} {plural(n, one, few, many)}"


def esc(value: object) -> str:
    """Escape any user or billing value for HTML parse mode."""
    # what aiogram's `html.quote` does; the stdlib keeps aiogram out of the render workers
    return html.escape(str(value), quote=False) if value is not None else ""


def kopecks(value: Decimal) -> int:
    return int((value * 100).to_integral_value(rounding=ROUND_HALF_UP))


def local_time(moment: dt.datetime, timezone: str) -> str:
    """A naive-UTC moment as `26.11.2026 в 14:05` in the given zone (мск for Moscow)."""
    zone = ZoneInfo(timezone)
    local = moment.replace(tzinfo=dt.UTC).astimezone(zone)
    text = f"{local:%d.%m.%Y} в {local:%H:%M}"
    return f"{text} (мск)" if timezone == "Europe/Moscow" else text


def apartment(number: str) -> str:
    """`кв. 5`: an apartment on a narrow button, and the tail of `address`."""
    return f"кв. {number}"


def address(house_address: str, apartment_number: str | None = None) -> str:
    """The one postal form of an apartment: `ул. Ленина, д. 1, кв. 5` (the house alone when the
    apartment has no number). Plain text: escape it with `esc` for HTML."""
    return f"{house_address}, {apartment(apartment_number)}" if apartment_number else house_address


def account_label(number: str, house_address: str, apartment_number: str | None = None) -> str:
    """An account as residents see it in lists and buttons: `л/с № 00000000, ул. …, кв. 5`."""
    return f"л/с № {number}, {address(house_address, apartment_number)}"
