"""Cell parsers: billing-export text → the values we store (ints for money, periods, quantities).

Every parser takes the stripped cell text and returns the stored form or raises `ValueError` with
a short English reason. Money comes back as integer kopecks and quantities as integer
ten-thousandths (the stored integers of `storage.types`), so the bulk load needs no further
conversion. The `fast_*` variants handle the common shapes without a regular expression and fall
back to the strict parser for anything else.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo

import phonenumbers

MONEY_SCALE = 2
QUANTITY_SCALE = 4
LIMIT = 10**15  # stored in 64-bit integers: a quadrillion kopecks is far beyond any bill

# Thousands are grouped with spaces in Russian exports: plain, no-break, narrow no-break, thin.
_SPACES = str.maketrans("", "", " \u00a0\u202f\u2009")
_DECIMAL_RE = re.compile(r"([-+−]?)(\d+)(?:[.,](\d*))?")
_DATE_RU_RE = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})")
_DATE_ISO_RE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_PERIOD_RE = re.compile(r"(\d{4})[-./](\d{1,2})|(\d{1,2})[-./](\d{4})")
_EMPTY_AMOUNT = frozenset({"", "-", "—", "–"})


def _scaled(text: str, scale: int, *, round_extra: bool) -> int:
    match = _DECIMAL_RE.fullmatch(text.translate(_SPACES))
    if match is None:
        raise ValueError("not a number")
    sign, whole, fraction = match.groups()
    fraction = fraction or ""
    if len(fraction) > scale:
        if not round_extra:
            raise ValueError(f"more than {scale} decimal places")
        # Quantities are stored with four decimals, as the storage type rounds them: half up.
        carry = 1 if fraction[scale] >= "5" else 0
        value = int(whole) * 10**scale + int(fraction[:scale]) + carry
    else:
        value = int(whole) * 10**scale + int(fraction.ljust(scale, "0") or "0")
    if value >= LIMIT:
        raise ValueError("too large")
    return -value if sign in ("-", "−") else value


def money(text: str) -> int:
    """`1 234,56`, `1234.56`, `-5`, `-` (none) → kopecks; more than 2 decimals is an error."""
    if text in _EMPTY_AMOUNT:
        return 0
    return _scaled(text, MONEY_SCALE, round_extra=False)


def fast_money(text: str) -> int:
    """`money` for a plain `123,45` / `123.45` without a regular expression (the hot loop of
    large charge files); anything else, negatives included, goes to `money`."""
    head, sep, tail = text.partition(",")
    if not sep:
        head, sep, tail = text.partition(".")
    if len(tail) == 2 and len(head) < 14 and head.isdigit() and tail.isdigit():
        return int(head + tail)
    return money(text)


def quantity(text: str) -> int:
    """Tariffs, volumes, readings → ten-thousandths; extra decimals are rounded half up."""
    if text in _EMPTY_AMOUNT:
        return 0
    return _scaled(text, QUANTITY_SCALE, round_extra=True)


def fast_quantity(text: str) -> int:
    head, sep, tail = text.partition(",")
    if not sep:
        head, sep, tail = text.partition(".")
    if len(tail) <= QUANTITY_SCALE and len(head) < 12 and head.isdigit():
        if tail.isdigit() or not tail:
            return int(head + tail.ljust(QUANTITY_SCALE, "0"))
    return quantity(text)


def nonnegative_quantity(text: str) -> int:
    value = quantity(text)
    if value < 0:
        raise ValueError("must not be negative")
    return value


def area(text: str) -> int:
    """Apartment area in m², stored like money (two decimals)."""
    value = _scaled(text, MONEY_SCALE, round_extra=True)
    if value <= 0:
        raise ValueError("must be positive")
    return value


def date(text: str) -> dt.date:
    """`31.03.2020` or `2020-03-31` (a time part after a space or `T` is ignored)."""
    head = text.split(" ", 1)[0].split("T", 1)[0]
    match = _DATE_RU_RE.fullmatch(head)
    if match:
        day, month, year = match.groups()
    else:
        match = _DATE_ISO_RE.fullmatch(head)
        if match is None:
            raise ValueError("not a date (expected DD.MM.YYYY or YYYY-MM-DD)")
        year, month, day = match.groups()
    try:
        value = dt.date(int(year), int(month), int(day))
    except ValueError:
        raise ValueError("no such date") from None
    _check_year(value.year)
    return value


def period(text: str) -> int:
    """`2020-03`, `03.2020`, `2020.03`, or a date of the month → the stored YYYYMM integer."""
    match = _PERIOD_RE.fullmatch(text)
    if match is None:
        try:
            day = date(text)
        except ValueError:
            raise ValueError("not a period (expected YYYY-MM or MM.YYYY)") from None
        return day.year * 100 + day.month
    year, month = (match.group(1), match.group(2)) if match.group(1) else match.group(4, 3)
    year_value, month_value = int(year), int(month)
    if not 1 <= month_value <= 12:
        raise ValueError("no such month")
    _check_year(year_value)
    return year_value * 100 + month_value


def _check_year(year: int) -> None:
    if not 1990 <= year <= 2200:
        raise ValueError("year out of range")


def text(limit: int):
    def parse(value: str) -> str:
        if len(value) > limit:
            raise ValueError(f"longer than {limit} characters")
        return value

    return parse


def digits(*lengths: int):
    """INN, KPP, BIC, bank accounts: digits only, of one of the given lengths."""

    def parse(value: str) -> str:
        if not (value.isascii() and value.isdigit()) or len(value) not in lengths:
            wanted = " or ".join(str(n) for n in lengths)
            raise ValueError(f"must be {wanted} digits")
        return value

    return parse


def integer(low: int, high: int):
    def parse(value: str) -> int:
        try:
            number = int(value.translate(_SPACES))
        except ValueError:
            raise ValueError("not a whole number") from None
        if not low <= number <= high:
            raise ValueError(f"must be from {low} to {high}")
        return number

    return parse


_TRUE = {"1", "да", "д", "yes", "y", "true", "t", "+", "x", "одн"}
_FALSE = {"0", "нет", "н", "no", "n", "false", "f", ""}


def boolean(value: str) -> bool:
    lowered = value.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError("expected 1/0 or да/нет")


def phone(value: str) -> str:
    """Any Russian way of writing a phone number → E.164 (`+79141234567`)."""
    try:
        parsed = phonenumbers.parse(value, "RU")
    except phonenumbers.NumberParseException:
        raise ValueError("not a phone number") from None
    if not phonenumbers.is_valid_number(parsed):
        raise ValueError("not a valid phone number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def timezone(value: str) -> str:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError("unknown time zone (expected e.g. Asia/Vladivostok)") from None
    return value


def choice(mapping: dict[str, str], what: str):
    """A closed vocabulary with Russian synonyms: `ХВС` → `cold_water`."""
    lowered = {key.lower(): value for key, value in mapping.items()}
    allowed = ", ".join(sorted(set(mapping.values()) - {""}))

    def parse(value: str) -> str:
        try:
            return lowered[value.lower()]
        except KeyError:
            raise ValueError(f"unknown {what} (expected one of: {allowed})") from None

    return parse


RESOURCES = {
    "cold_water": "cold_water", "хвс": "cold_water", "холодная вода": "cold_water",
    "hot_water": "hot_water", "гвс": "hot_water", "горячая вода": "hot_water",
    "heat": "heat", "тепло": "heat", "отопление": "heat", "тепловая энергия": "heat",
    "electricity": "electricity", "электроэнергия": "electricity", "ээ": "electricity",
    "электричество": "electricity",
    "gas": "gas", "газ": "gas",
    "sewage": "sewage", "водоотведение": "sewage",
}  # fmt: skip
ZONES = {
    "": "", "day": "day", "день": "day", "дневная": "day", "t1": "day", "т1": "day",
    "night": "night", "ночь": "night", "ночная": "night", "t2": "night", "т2": "night",
    "peak": "peak", "пик": "peak", "пиковая": "peak", "t3": "peak", "т3": "peak",
}  # fmt: skip
READING_SOURCES = {
    "billing": "billing", "биллинг": "billing", "контролер": "billing", "контролёр": "billing",
    "estimate": "estimate", "расчет": "estimate", "расчёт": "estimate",
    "норматив": "estimate", "среднее": "estimate",
    "resident": "resident", "абонент": "resident", "житель": "resident",
}  # fmt: skip

resource = choice(RESOURCES, "resource")
service_resource = choice({**RESOURCES, "": ""}, "resource")
zone = choice(ZONES, "tariff zone")
reading_source = choice(READING_SOURCES, "reading source")
