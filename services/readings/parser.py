"""Meter readings typed as a plain message: text → values with meter hints, or errors.

Pure and total: `parse_readings` never raises, whatever the text. It returns None when the text
is not an attempt at readings at all ("спасибо", "когда придёт квитанция?"), so that such text
reaches the other handlers.

Understood:
- a lone number: `123,4`, `123.4`, `00123`, `1 234,5`, `١٢٣` (any Unicode decimal digits);
- lines naming a meter by resource, zone or serial tail: `ХВС 123,4`, `гор. вода 45`,
  `эл день 1200 ночь 800`, `Т1 1200 Т2 800`, `...4711 123`, `№4711 123`;
- units typed after the number (`123,4 м3`, `1200 кВт·ч`, `0,7 Гкал`), emoji, greetings and
  thanks on lines of their own.
Refused with a reason: `1e3`, `0x10`, `12,3,4` (not a number), `-5` (negative), numbers too long to
be a meter's dial.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

MAX_TEXT = 2000  # longer text is not a readings message
MAX_LINES = 30
MAX_DIGITS = 15  # no meter dial has more (integer + fraction digits)

# Resources as in storage.models.Meter.resource; "water" means cold or hot.
COLD, HOT, WATER, ELECTRICITY, GAS, HEAT = (
    "cold_water",
    "hot_water",
    "water",
    "electricity",
    "gas",
    "heat",
)
DAY, NIGHT, PEAK, SEMIPEAK = "day", "night", "peak", "semipeak"

# Errors
NOT_A_NUMBER = "not_a_number"
NEGATIVE = "negative"
TOO_LONG = "too_long"
UNCLEAR = "unclear"  # a line with a number and words that are not a meter's name


@dataclass(frozen=True)
class MeterHint:
    """What the resident said about the meter; all None for a bare number."""

    resource: str | None = None
    zone: str | None = None
    serial_tail: str | None = None

    @property
    def is_empty(self) -> bool:
        return self.resource is None and self.zone is None and self.serial_tail is None


@dataclass(frozen=True)
class ParsedValue:
    hint: MeterHint
    value: Decimal
    line: int  # 1-based line number in the message
    typed: str  # the number as typed (normalized digits), to echo back


@dataclass(frozen=True)
class ParseError:
    line: int
    reason: str
    typed: str  # the offending fragment, to quote in the answer (escape it!)


@dataclass
class ParseResult:
    values: list[ParsedValue] = field(default_factory=list)
    errors: list[ParseError] = field(default_factory=list)


# --- vocabulary -------------------------------------------------------------------------------

# Whole words (lower case, "ё" as "е", trailing dots removed).
_RESOURCE_WORDS = {
    "хвс": COLD, "хв": COLD, "хол": COLD, "холодная": COLD, "холодной": COLD, "холодную": COLD,
    "холодн": COLD, "холодной воды": COLD, "х/в": COLD, "хвод": COLD, "хвс1": COLD,
    "гвс": HOT, "гв": HOT, "гор": HOT, "горячая": HOT, "горячей": HOT, "горячую": HOT,
    "горяч": HOT, "г/в": HOT, "гвод": HOT, "гвс1": HOT,
    "вода": WATER, "воды": WATER, "вод": WATER, "водa": WATER,
    "эл": ELECTRICITY, "электро": ELECTRICITY, "электричество": ELECTRICITY,
    "электроэнергия": ELECTRICITY, "электроэнергии": ELECTRICITY, "электр": ELECTRICITY,
    "элэн": ELECTRICITY, "ээ": ELECTRICITY, "свет": ELECTRICITY, "электросчетчик": ELECTRICITY,
    "эл/эн": ELECTRICITY, "эл-во": ELECTRICITY, "электричества": ELECTRICITY,
    "газ": GAS, "газа": GAS, "газовый": GAS,
    "отопление": HEAT, "отопления": HEAT, "отопл": HEAT, "тепло": HEAT, "теплоэнергия": HEAT,
    "тепла": HEAT, "теплосчетчик": HEAT, "теплоснабжение": HEAT,
}  # fmt: skip
_ZONE_WORDS = {
    "день": DAY, "дневной": DAY, "дневная": DAY, "дн": DAY, "т1": DAY, "t1": DAY, "д": DAY,
    "ночь": NIGHT, "ночной": NIGHT, "ночная": NIGHT, "н": NIGHT, "т2": NIGHT, "t2": NIGHT,
    "пик": PEAK, "пиковая": PEAK, "т3": PEAK, "t3": PEAK,
    "полупик": SEMIPEAK, "полупиковая": SEMIPEAK,
}  # fmt: skip
# Words that may stand around readings without changing their meaning.
_FILLER_WORDS = {
    "показания", "показание", "показаний", "счетчик", "счетчика", "счетчики", "счетчиков",
    "счет", "сч", "пу", "ипу", "прибор", "прибора", "кухня", "кухни", "ванная", "ванна",
    "ванной", "санузел", "туалет", "итого", "по", "за", "на", "и", "в", "ну", "вот", "мои",
    "мой", "текущие", "текущее", "передаю", "прошу", "принять", "прием", "подача", "сейчас",
    "месяц", "месяца", "тариф", "зона", "энергия", "данные",
    "тек", "расход", "значение", "снятые", "сегодня", "однотарифный", "двухтарифный",
    "спасибо", "пожалуйста", "здравствуйте", "добрый", "доброе", "вечер", "утро",
    "привет", "пж", "плиз",
}  # fmt: skip
# Units typed after a value; a unit may tell the resource when no word does.
_UNITS = {
    "м3": None, "м³": None, "m3": None, "куб": None, "кубов": None, "кубометров": None,
    "кубометра": None, "кубометр": None, "кубм": None, "куб.м": None, "л": None, "литров": None,
    "квт": ELECTRICITY, "квтч": ELECTRICITY, "квт*ч": ELECTRICITY, "квт·ч": ELECTRICITY,
    "квт.ч": ELECTRICITY, "квт/ч": ELECTRICITY, "kwh": ELECTRICITY, "квтчас": ELECTRICITY,
    "гкал": HEAT,
}  # fmt: skip
_SERIAL_RE = re.compile(
    r"(?:№|#|\.{2,}|…|\bn\s*[.:]?(?=\s*\d))\s*([0-9a-zа-я\-/]*\d[0-9a-zа-я\-/]*)"
)
_NUMBERISH_RE = re.compile(
    r"(?P<sign>[-−–—]?)(?P<body>\d{1,3}(?:[ \u00a0\u202f\u2009]\d{3})+(?:[.,]\d+)?(?![\d])"
    r"|\d[\w.,·*³]*)"
)
_NUMBER_RE = re.compile(r"(\d+)(?:[.,](\d+))?")
_WORD_RE = re.compile(r"[^\W\d_]{1,2}\d(?!\d)|[^\W\d_]+(?:[/·*.\-]?[^\W\d_]+)*\.?")
_SPACES_RE = re.compile(r"[\s\u00a0\u202f\u2009]+")
# A unit glued to a number: "123,4м3", "1200кВт·ч"
_UNIT_SUFFIX_RE = re.compile(
    r"^(?P<num>\d+(?:[.,]\d+)?)(?P<unit>м3|м³|m3|куб(?:\.?м)?|квт(?:[*·./]?ч)?|kwh|гкал|л)\.?$"
)


def _normalize(text: str) -> str:
    """Lower case, ASCII digits for every script's digits, "ё" as "е", no emoji."""
    out = []
    for char in text:
        if char.isdigit() or unicodedata.category(char) == "Nd":
            try:
                out.append(str(unicodedata.decimal(char)))
                continue
            except (TypeError, ValueError):  # superscripts and the like: not a dial digit
                out.append("³" if char == "³" else " ")
                continue
        if char in "٫":  # Arabic decimal separator
            out.append(",")
            continue
        if char in "٬":  # Arabic thousands separator
            continue
        category = unicodedata.category(char)
        if char != "№" and category in ("So", "Sk", "Cf", "Co", "Cs", "Cn", "Mn", "Me"):
            out.append(" ")
            continue
        out.append(char)
    return "".join(out).lower().replace("ё", "е")


def _classify_word(word: str) -> tuple[str, str | None]:
    """("resource"|"zone"|"unit"|"filler"|"unknown", value)."""
    key = word.rstrip(".")
    for candidate in (key, key.replace(".", ""), key.replace("-", "")):
        if candidate in _RESOURCE_WORDS:
            return "resource", _RESOURCE_WORDS[candidate]
        if candidate in _ZONE_WORDS:
            return "zone", _ZONE_WORDS[candidate]
        if candidate in _UNITS:
            return "unit", _UNITS[candidate]
        if candidate in _FILLER_WORDS:
            return "filler", None
    # Prefixes of longer forms: "холодная", "горяч.", "электроэнергия", "отопл."
    for prefix, resource in (
        ("хол", COLD),
        ("гор", HOT),
        ("электр", ELECTRICITY),
        ("отопл", HEAT),
        ("теплоэн", HEAT),
    ):
        if key.startswith(prefix):
            return "resource", resource
    return "unknown", None


def _parse_number(body: str) -> tuple[Decimal | None, str | None, str, str]:
    """(value, unit_resource_or_None, error, the number as typed). The body starts with a
    digit."""
    compact = _SPACES_RE.sub("", body)
    match = _UNIT_SUFFIX_RE.match(compact)
    unit_resource = None
    if match:
        compact = match.group("num")
        unit = match.group("unit")
        unit_resource = _UNITS.get(unit, _UNITS.get(unit.replace(".", "")))
    compact = compact.rstrip(".,")  # "123." or "123," at the end of a sentence
    number = _NUMBER_RE.fullmatch(compact)
    if number is None:
        return None, None, NOT_A_NUMBER, body
    integer, fraction = number.group(1), number.group(2) or ""
    if len(integer.lstrip("0")) + len(fraction) > MAX_DIGITS:
        return None, None, TOO_LONG, body
    try:
        value = Decimal(f"{integer}.{fraction}" if fraction else integer)
    except InvalidOperation:  # pragma: no cover - the regex admits only digits
        return None, None, NOT_A_NUMBER, body
    return value, unit_resource, "", compact


def _tokens(line: str) -> list[tuple[str, str, str]]:
    """(kind, text, extra) for kinds: serial, number, word, sep."""
    tokens: list[tuple[str, str, str]] = []
    pos = 0
    while pos < len(line):
        char = line[pos]
        if char.isspace():
            pos += 1
            continue
        serial = _SERIAL_RE.match(line, pos)
        if serial:
            tokens.append(("serial", re.sub(r"\D", "", serial.group(1)), serial.group(0)))
            pos = serial.end()
            continue
        numberish = _NUMBERISH_RE.match(line, pos)
        if numberish and (numberish.group("sign") == "" or _sign_is_minus(line, pos)):
            tokens.append(("number", numberish.group("body"), numberish.group("sign")))
            pos = numberish.end()
            continue
        word = _WORD_RE.match(line, pos)
        if word:
            tokens.append(("word", word.group(0), ""))
            pos = word.end()
            continue
        tokens.append(("sep", char, ""))
        pos += 1
    return tokens


def _sign_is_minus(line: str, pos: int) -> bool:
    """A sign glued to the digits and standing apart from the word before it ("ХВС -5", "-5"),
    not a dash between a name and its value ("ХВС-123" reads as the value 123)."""
    return pos == 0 or line[pos - 1] in " \t:=(" or not line[pos - 1].isalnum()


@dataclass
class _Line:
    """The state of reading one line left to right: the meter named so far and the values."""

    number: int
    resource: str | None = None
    zone: str | None = None
    serial: str | None = None
    unknown_words: bool = False
    pending: list[tuple[MeterHint, Decimal, str]] = field(default_factory=list)
    errors: list[ParseError] = field(default_factory=list)
    last_value_index: int | None = None

    def word(self, text: str) -> None:
        word_kind, value = _classify_word(text)
        if word_kind == "resource":
            self.resource_word(value)
        elif word_kind == "zone":
            self.zone = value
        elif word_kind == "unit":
            self.unit_word(value)
        elif word_kind == "unknown":
            self.unknown_words = True

    def resource_word(self, value: str | None) -> None:
        if value == WATER and self.resource in (COLD, HOT):
            return  # "хол. вода"
        if self.resource == WATER and value in (COLD, HOT):
            self.resource = value  # "вода хол."
            return
        if self.last_value_index is not None and self.pending:
            self.zone = None  # a new meter's name after a value: "ХВС 1, ГВС 2"
            self.serial = None
        self.resource = value

    def unit_word(self, value: str | None) -> None:
        """A unit after a value names its resource when nothing else did ("12 квт")."""
        if not value or self.last_value_index is None or not self.pending:
            return
        hint, amount, typed = self.pending[self.last_value_index]
        if hint.resource is None:
            self.pending[self.last_value_index] = (
                MeterHint(value, hint.zone, hint.serial_tail),
                amount,
                typed,
            )

    def numeral(self, text: str, sign: str) -> None:
        if sign:
            self.errors.append(ParseError(self.number, NEGATIVE, f"{sign}{text}"))
            self.last_value_index = None
            return
        value, unit_resource, error, typed = _parse_number(text)
        if error or value is None:
            self.errors.append(ParseError(self.number, error or NOT_A_NUMBER, text))
            self.last_value_index = None
            return
        self.pending.append(
            (MeterHint(self.resource or unit_resource, self.zone, self.serial), value, typed)
        )
        self.last_value_index = len(self.pending) - 1
        self.zone = None  # "день 1200 ночь 800": each zone names one value
        self.serial = None


def _parse_line(line: str, number: int, result: ParseResult) -> str:
    """Parse one line into `result`; returns "reading", "chatter" or "unknown"."""
    tokens = _tokens(line)
    if not any(kind == "number" for kind, _, _ in tokens):
        return "chatter"
    state = _Line(number)
    for kind, text, extra in tokens:
        if kind == "serial":
            state.serial = text or None
        elif kind == "sep":
            state.unknown_words |= text == "+"  # "+7 914 …": a phone number, not readings
        elif kind == "word":
            state.word(text)
        else:
            state.numeral(text, extra)
    if state.unknown_words:
        if state.pending or state.errors:
            result.errors.append(ParseError(number, UNCLEAR, line.strip()))
        return "unknown"
    for hint, value, typed in state.pending:
        result.values.append(ParsedValue(hint, value, number, typed))
    result.errors.extend(state.errors)
    return "reading"


def parse_readings(text: str | None) -> ParseResult | None:
    """Values and errors of a readings message, or None when the text is not one. Never raises."""
    if not text or len(text) > MAX_TEXT or text.lstrip().startswith("/"):
        return None
    lines = _normalize(text).splitlines()
    if len(lines) > MAX_LINES:
        return None
    result = ParseResult()
    kinds = []
    for number, line in enumerate(lines, start=1):
        if line.strip():
            kinds.append(_parse_line(line, number, result))
    if "reading" not in kinds:
        return None  # only chatter and unclear lines: not readings, other handlers answer
    return result
