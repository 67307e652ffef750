"""Cell parsers: billing-export text → the values we store (ints for money, periods, quantities).

Every parser takes the stripped cell text and returns the stored form or raises `ValueError` with
a short Russian reason an accountant understands. Money comes back as integer kopecks and quantities as integer
ten-thousandths (the stored integers of `storage.types`), so the bulk load needs no further
conversion. The `fast_*` variants handle the common shapes without a regular expression and fall
back to the strict parser for anything else.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from typing import NamedTuple

import phonenumbers

from storage.kinds import KIND_WORDS

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
        raise ValueError("не число")
    sign, whole, fraction = match.groups()
    fraction = fraction or ""
    if len(fraction) > scale:
        if not round_extra:
            raise ValueError(f"больше {scale} знаков после запятой")
        # Quantities are stored with four decimals, as the storage type rounds them: half up.
        carry = 1 if fraction[scale] >= "5" else 0
        value = int(whole) * 10**scale + int(fraction[:scale]) + carry
    else:
        value = int(whole) * 10**scale + int(fraction.ljust(scale, "0") or "0")
    if value >= LIMIT:
        raise ValueError("слишком большое число")
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
        raise ValueError("не может быть отрицательным")
    return value


def area(text: str) -> int:
    """Apartment area in m², stored like money (two decimals)."""
    value = _scaled(text, MONEY_SCALE, round_extra=True)
    if value <= 0:
        raise ValueError("должна быть больше нуля")
    return value


EXCEL_EPOCH = dt.date(1899, 12, 30)
_SERIAL_RE = re.compile(r"\d{5}(?:[.,]\d+)?")


def date(text: str) -> dt.date:
    """`31.03.2020` or `2020-03-31` (a time part after a space or `T` is ignored), or a date
    that a spreadsheet kept as its serial number (`43921` = 31.03.2020)."""
    head = text.split(" ", 1)[0].split("T", 1)[0]
    if _SERIAL_RE.fullmatch(head):
        value = EXCEL_EPOCH + dt.timedelta(days=int(head.replace(",", ".").split(".")[0]))
        _check_year(value.year)
        return value
    match = _DATE_RU_RE.fullmatch(head)
    if match:
        day, month, year = match.groups()
    else:
        match = _DATE_ISO_RE.fullmatch(head)
        if match is None:
            raise ValueError("не дата (нужно ДД.ММ.ГГГГ)")
        year, month, day = match.groups()
    try:
        value = dt.date(int(year), int(month), int(day))
    except ValueError:
        raise ValueError("такой даты нет") from None
    _check_year(value.year)
    return value


def period(text: str) -> int:
    """`2020-03`, `03.2020`, `2020.03`, or a date of the month → the stored YYYYMM integer."""
    match = _PERIOD_RE.fullmatch(text)
    if match is None:
        try:
            day = date(text)
        except ValueError:
            raise ValueError("не период (нужно ММ.ГГГГ, например 03.2020)") from None
        return day.year * 100 + day.month
    year, month = (match.group(1), match.group(2)) if match.group(1) else match.group(4, 3)
    year_value, month_value = int(year), int(month)
    if not 1 <= month_value <= 12:
        raise ValueError("такого месяца нет")
    _check_year(year_value)
    return year_value * 100 + month_value


_SPAN_SEPARATOR = re.compile(r"\s+по\s+|\s*[–—]\s*|\s+-\s+", re.IGNORECASE)
_SPAN_PREFIX = re.compile(r"^(?:с|за)\s+", re.IGNORECASE)


def period_span(text: str) -> tuple[int, int]:
    """The months a recalculation corrects: `01.2020`, `10.2019–02.2020`, `с 10.2019 по
    02.2020`, `за 01.2020` → (first, last) YYYYMM integers, the same for one month."""
    body = _SPAN_PREFIX.sub("", text.strip())
    parts = _SPAN_SEPARATOR.split(body)
    if len(parts) == 1 and body.count("-") == 1 and "." in body:
        parts = body.split("-")  # `10.2019-02.2020` (while `2020-01` is one month)
    wanted = "не период (нужно ММ.ГГГГ или ММ.ГГГГ–ММ.ГГГГ, например 01.2020)"
    if len(parts) > 2:
        raise ValueError(wanted)
    try:
        months = [period(part.strip()) for part in parts]
    except ValueError:
        raise ValueError(wanted) from None
    first, last = months[0], months[-1]
    if first > last:
        raise ValueError("начало периода позже его конца")
    return first, last


def line_kind(value: str) -> str:
    """A services table's «Вид»: услуга, пени, льгота, субсидия."""
    kind = KIND_WORDS.get(value.strip().lower().replace("ё", "е"))
    if kind is None:
        raise ValueError("вид строки: нужно «услуга», «пени», «льгота» или «субсидия»")
    return str(kind)


def _check_year(year: int) -> None:
    if not 1990 <= year <= 2200:
        raise ValueError("год вне 1990–2200")


def text(limit: int):
    def parse(value: str) -> str:
        if len(value) > limit:
            raise ValueError(f"длиннее {limit} символов")
        return value

    return parse


def email(value: str) -> str:
    """An organization's e-mail as residents will write to it: one address, no spaces."""
    name, at, domain = value.partition("@")
    if (
        len(value) > 254
        or not at
        or not name
        or "." not in domain
        or any(c.isspace() for c in value)
    ):
        raise ValueError("не похоже на адрес электронной почты")
    return value


def digits(*lengths: int):
    """INN, KPP, BIC, bank accounts: digits only, of one of the given lengths."""

    def parse(value: str) -> str:
        if not (value.isascii() and value.isdigit()) or len(value) not in lengths:
            wanted = " или ".join(str(n) for n in lengths)
            raise ValueError(f"нужно {wanted} цифр")
        return value

    return parse


def integer(low: int, high: int):
    def parse(value: str) -> int:
        try:
            number = int(value.translate(_SPACES))
        except ValueError:
            raise ValueError("не целое число") from None
        if not low <= number <= high:
            raise ValueError(f"нужно число от {low} до {high}")
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
    raise ValueError("нужно «да» или «нет» (1 или 0)")


def phone(value: str) -> str:
    """Any Russian way of writing a phone number → E.164 (`+79141234567`)."""
    try:
        parsed = phonenumbers.parse(value, "RU")
    except phonenumbers.NumberParseException:
        raise ValueError("не номер телефона") from None
    if not phonenumbers.is_valid_number(parsed):
        raise ValueError("такого номера телефона не бывает")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def timezone(value: str) -> str:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError("неизвестный часовой пояс (нужно, например, Asia/Vladivostok)") from None
    return value


def choice(mapping: dict[str, str], what: str):
    """A closed vocabulary with Russian synonyms: `ХВС` → `cold_water`."""
    lowered = {key.lower(): value for key, value in mapping.items()}
    allowed = ", ".join(sorted(set(mapping.values()) - {""}))

    def parse(value: str) -> str:
        try:
            return lowered[value.lower()]
        except KeyError:
            raise ValueError(f"{what}: неизвестное значение (можно: {allowed})") from None

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

resource = choice(RESOURCES, "ресурс")
service_resource = choice({**RESOURCES, "": ""}, "ресурс")
zone = choice(ZONES, "тарифная зона")
reading_source = choice(READING_SOURCES, "источник")


# --- the period in a title row: «Оборотно-сальдовая ведомость за март 2020 г.» -------------------

MONTH_STEMS = (
    "январ", "феврал", "март", "апрел", "ма[йя]", "июн", "июл", "август", "сентябр", "октябр",
    "ноябр", "декабр",
)  # fmt: skip
_TITLE_MONTH_RE = re.compile(
    r"(?<![а-я])(" + "|".join(MONTH_STEMS) + r")[а-я]*\s+(\d{4})(?!\d)", re.IGNORECASE
)
_TITLE_NUMERIC_RE = re.compile(r"(?<![\d.])(\d{1,2})[./](\d{4})(?![\d.])")
_TITLE_DATE_RE = re.compile(r"(?<![\d.])\d{1,2}\.(\d{1,2})\.(\d{4})(?![\d.])")


def title_period(text: str) -> int | None:
    """The one billing month a title names, or None (none, or more than one)."""
    found = set()
    for match in _TITLE_MONTH_RE.finditer(text):
        stem = match.group(1).lower()
        month = next(i for i, s in enumerate(MONTH_STEMS, start=1) if re.fullmatch(s, stem))
        found.add(int(match.group(2)) * 100 + month)
    for match in _TITLE_NUMERIC_RE.finditer(text):
        month, year = int(match.group(1)), int(match.group(2))
        if 1 <= month <= 12:
            found.add(year * 100 + month)
    dates = {int(y) * 100 + int(m) for m, y in _TITLE_DATE_RE.findall(text) if 1 <= int(m) <= 12}
    if not found and len(dates) == 1:  # «с 01.03.2020 по 31.03.2020»
        found = dates
    found = {p for p in found if 1990 <= p // 100 <= 2200}
    return found.pop() if len(found) == 1 else None


# --- addresses: «ул. Ленина, д. 1, кв. 1», «Ленина 1-1», «Ленина д.1 кв.1» ------------------------

_NUMBER = r"\d+\s?[а-яa-z]?(?:/\d+[а-яa-z]?)?"
_BUILDING = r"(?:\s*,?\s*(?:корпус|корп|к|строение|стр)\.?\s*\d+[а-яa-z]?)?"
_APARTMENT_RE = re.compile(
    r"[,\s]*(?:кв|квартира|пом|помещение|комн|комната)\.?\s*№?\s*(\d+[а-яa-z]?(?:[/-]\d+[а-яa-z]?)?)\s*$",
    re.IGNORECASE,
)
_HOUSE_RE = re.compile(
    r"(?:^|[,\s])(?:д|дом)\.?\s*№?\s*(" + _NUMBER + _BUILDING + r")\s*$", re.IGNORECASE
)
_TRAILING_NUMBER_RE = re.compile(r"^(.*?\D)[,\s]+(" + _NUMBER + _BUILDING + r")\s*$", re.IGNORECASE)
_DASH_RE = re.compile(
    r"^(.*?\D)[,\s]+(" + _NUMBER + _BUILDING + r")\s*-\s*(\d+[а-яa-z]?)\s*$", re.IGNORECASE
)
_STREET_TYPES = frozenset(
    "ул улица пр пр-т просп проспект пер переулок ш шоссе б-р бульв бульвар пл площадь наб "
    "набережная проезд пр-д мкр микрорайон тупик туп аллея".split()
)
_NOT_STREET_RE = re.compile(
    r"^(?:\d{6}|г|город|пос|поселок|пгт|с|село|д\.?\s|дер|деревня)\b|край|обл|район|р-н|россия",
    re.IGNORECASE,
)


class Address(NamedTuple):
    street: str  # as written: «ул. Ленина»
    house: str  # «1», «5к2», «12/3»
    apartment: str | None
    house_address: str  # the house's address as written, without the apartment

    @property
    def house_key(self) -> tuple[str, str]:
        return street_key(self.street), house_key(self.house)


def street_key(street: str) -> str:
    """`ул. Ленина` = `Ленина ул` = `улица ЛЕНИНА`."""
    words = re.findall(r"[0-9a-zа-я]+(?:-[0-9a-zа-я]+)?", street.lower().replace("ё", "е"))
    return " ".join(w for w in words if w not in _STREET_TYPES)


def house_key(house: str) -> str:
    text = house.lower().replace("ё", "е")
    text = re.sub(r"(?:корпус|корп|к)\.?", "к", text)
    text = re.sub(r"(?:строение|стр)\.?", "с", text)
    return re.sub(r"[\s,.]", "", text)


def parse_address(text: str) -> Address:
    """Street, house and apartment from the common forms; `ValueError` when not sure."""
    clean = " ".join(text.replace("\u00a0", " ").split())
    apartment = None
    match = _APARTMENT_RE.search(clean)
    if match:
        apartment, rest = match.group(1), clean[: match.start()].rstrip(" ,")
    else:
        rest = clean
    house_match = _HOUSE_RE.search(rest)
    if house_match:
        street_part, house = rest[: house_match.start()], house_match.group(1)
        house_address = rest
    elif apartment is None and (dash := _DASH_RE.match(rest)):
        street_part, house, apartment = dash.groups()
        house_address = ""
    elif apartment is not None and (tail := _TRAILING_NUMBER_RE.match(rest)):
        street_part, house = tail.groups()
        house_address = ""
    else:
        raise ValueError("не удалось разобрать адрес: нужно, например, «ул. Ленина, д. 1, кв. 1»")
    parts = [p.strip() for p in street_part.split(",")]
    streets = [p for p in parts if p and not _NOT_STREET_RE.search(p)]
    if len(streets) != 1 or not street_key(streets[0]):
        raise ValueError(
            "не удалось найти в адресе улицу: нужно, например, «ул. Ленина, д. 1, кв. 1»"
        )
    street, house = streets[0], " ".join(house.split())
    return Address(street, house, apartment, house_address or f"{street}, д. {house}")
