"""The readings parser over real-looking messages, and a property: it never raises."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.readings.parser import (
    COLD,
    DAY,
    ELECTRICITY,
    GAS,
    HEAT,
    HOT,
    NEGATIVE,
    NIGHT,
    NOT_A_NUMBER,
    TOO_LONG,
    UNCLEAR,
    WATER,
    MeterHint,
    parse_readings,
)

D = Decimal
BARE = MeterHint()


def values(text: str) -> list[tuple[MeterHint, Decimal]]:
    result = parse_readings(text)
    assert result is not None, f"{text!r} was not taken for readings"
    assert not result.errors, result.errors
    return [(v.hint, v.value) for v in result.values]


def errors(text: str) -> list[str]:
    result = parse_readings(text)
    assert result is not None, f"{text!r} was not taken for readings"
    return [e.reason for e in result.errors]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # lone numbers
        ("123,4", [(BARE, D("123.4"))]),
        ("123.4", [(BARE, D("123.4"))]),
        ("00123", [(BARE, D("123"))]),
        ("  123,4  ", [(BARE, D("123.4"))]),
        ("0", [(BARE, D("0"))]),
        ("1 234,5", [(BARE, D("1234.5"))]),
        ("1\u00a0234,5", [(BARE, D("1234.5"))]),
        ("123.", [(BARE, D("123"))]),
        ("\n\n123,4\n\n", [(BARE, D("123.4"))]),
        # units typed after the number
        ("123,4 м3", [(BARE, D("123.4"))]),
        ("123,4м3", [(BARE, D("123.4"))]),
        ("123,4 м³", [(BARE, D("123.4"))]),
        ("45 куб.м", [(BARE, D("45"))]),
        ("45 кубов", [(BARE, D("45"))]),
        ("1200 кВт·ч", [(MeterHint(ELECTRICITY), D("1200"))]),
        ("1200кВт*ч", [(MeterHint(ELECTRICITY), D("1200"))]),
        ("1200 квтч", [(MeterHint(ELECTRICITY), D("1200"))]),
        ("0,7028 Гкал", [(MeterHint(HEAT), D("0.7028"))]),
        # other scripts' digits
        ("١٢٣", [(BARE, D("123"))]),
        ("١٢٣٫٤", [(BARE, D("123.4"))]),
        ("۱۲۳", [(BARE, D("123"))]),  # Persian digits
        ("१२३", [(BARE, D("123"))]),  # Devanagari
        ("１２３,４", [(BARE, D("123.4"))]),  # full-width
        # emoji around
        ("💧 123,4 👍", [(BARE, D("123.4"))]),
        ("ХВС 💧 123", [(MeterHint(COLD), D("123"))]),
        # resources by name and abbreviation
        ("ХВС 123,4", [(MeterHint(COLD), D("123.4"))]),
        ("хвс: 123,4", [(MeterHint(COLD), D("123.4"))]),
        ("ХВС-123", [(MeterHint(COLD), D("123"))]),
        ("ХВС=123", [(MeterHint(COLD), D("123"))]),
        ("хол. вода 12", [(MeterHint(COLD), D("12"))]),
        ("Холодная вода 12", [(MeterHint(COLD), D("12"))]),
        ("вода хол 12", [(MeterHint(COLD), D("12"))]),
        ("х/в 12", [(MeterHint(COLD), D("12"))]),
        ("ГВС 45", [(MeterHint(HOT), D("45"))]),
        ("гор.вода 45", [(MeterHint(HOT), D("45"))]),
        ("Горячая вода: 45,1 куб.м", [(MeterHint(HOT), D("45.1"))]),
        ("г/в 45", [(MeterHint(HOT), D("45"))]),
        ("вода 45", [(MeterHint(WATER), D("45"))]),
        ("газ 1234,5", [(MeterHint(GAS), D("1234.5"))]),
        ("Отопление 1,234", [(MeterHint(HEAT), D("1.234"))]),
        ("свет 5000", [(MeterHint(ELECTRICITY), D("5000"))]),
        ("Электроэнергия 5000", [(MeterHint(ELECTRICITY), D("5000"))]),
        ("показания счётчика ХВС 12", [(MeterHint(COLD), D("12"))]),
        # several values
        ("ХВС 123,4\nГВС 45", [(MeterHint(COLD), D("123.4")), (MeterHint(HOT), D("45"))]),
        ("ХВС 123,4; ГВС 45", [(MeterHint(COLD), D("123.4")), (MeterHint(HOT), D("45"))]),
        ("ХВС 123, ГВС 45", [(MeterHint(COLD), D("123")), (MeterHint(HOT), D("45"))]),
        ("ХВС 123 ГВС 45", [(MeterHint(COLD), D("123")), (MeterHint(HOT), D("45"))]),
        ("ХВС 123\n\n\nГВС 45\n", [(MeterHint(COLD), D("123")), (MeterHint(HOT), D("45"))]),
        (
            "эл день 1200 ночь 800",
            [
                (MeterHint(ELECTRICITY, DAY), D("1200")),
                (MeterHint(ELECTRICITY, NIGHT), D("800")),
            ],
        ),
        (
            "Электроэнергия: день - 1200, ночь - 800",
            [
                (MeterHint(ELECTRICITY, DAY), D("1200")),
                (MeterHint(ELECTRICITY, NIGHT), D("800")),
            ],
        ),
        ("Т1 1200 Т2 800", [(MeterHint(None, DAY), D("1200")), (MeterHint(None, NIGHT), D("800"))]),
        # serial tails
        ("...4711 123", [(MeterHint(serial_tail="4711"), D("123"))]),
        ("…4711 123", [(MeterHint(serial_tail="4711"), D("123"))]),
        ("№4711 123", [(MeterHint(serial_tail="4711"), D("123"))]),
        ("№ 4711: 123,4", [(MeterHint(serial_tail="4711"), D("123.4"))]),
        ("#0815 12", [(MeterHint(serial_tail="0815"), D("12"))]),
        ("ХВС №0815 12", [(MeterHint(COLD, serial_tail="0815"), D("12"))]),
        # greetings and thanks on lines of their own
        (
            "Добрый день!\nХВС 123\nГВС 45\nСпасибо!",
            [(MeterHint(COLD), D("123")), (MeterHint(HOT), D("45"))],
        ),
    ],
)
def test_values_and_meter_hints(text: str, expected: list[tuple[MeterHint, Decimal]]) -> None:
    assert values(text) == expected


@pytest.mark.parametrize(
    ("text", "reasons"),
    [
        ("1e3", [NOT_A_NUMBER]),
        ("0x10", [NOT_A_NUMBER]),
        ("12,3,4", [NOT_A_NUMBER]),
        ("12..3", [NOT_A_NUMBER]),
        ("-5", [NEGATIVE]),
        ("−5", [NEGATIVE]),
        ("ХВС -5", [NEGATIVE]),
        ("ХВС: -5,5", [NEGATIVE]),
        ("99999999999999999999999999", [TOO_LONG]),
        ("9" * 3000, None),  # too long a text to be readings at all
        ("ХВС 123\nкв 5", [UNCLEAR]),
        ("ХВС 1e3\nГВС 45", [NOT_A_NUMBER]),
    ],
)
def test_refusals(text: str, reasons: list[str] | None) -> None:
    if reasons is None:
        assert parse_readings(text) is None
    else:
        assert errors(text) == reasons


def test_good_lines_survive_a_bad_one() -> None:
    result = parse_readings("ХВС 1e3\nГВС 45")
    assert result is not None
    assert [(v.hint, v.value, v.line) for v in result.values] == [(MeterHint(HOT), D("45"), 2)]
    assert [(e.line, e.typed) for e in result.errors] == [(1, "1e3")]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "\n\n",
        "Спасибо",
        "Добрый день",
        "Когда придёт квитанция?",
        "кв 12",
        "Квартира 5, подъезд 2",
        "+7 914 123 45 67",
        "/start",
        "/readings 123",
        "👍",
        "хочу передать показания",
        "ХВС",
        "я заплатил 2383,29 вчера",
    ],
)
def test_text_that_is_not_readings(text: str) -> None:
    assert parse_readings(text) is None


def test_huge_number_stays_exact_up_to_the_limit() -> None:
    assert values("123456789012,345") == [(BARE, D("123456789012.345"))]


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=300))
def test_never_raises_on_any_text(text: str) -> None:
    result = parse_readings(text)
    if result is not None:
        for item in result.values:
            assert item.value >= 0 and item.value.is_finite()


PIECES = [
    "ХВС", "гвс", "эл", "день", "ночь", "№4711", "...", "м3", "кВт·ч", "-", ",", ".", ":", "1",
    "23", "4,5", "0x", "e", "١٢", "💧", "\n", " ", "спасибо", "+", "−",
]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=30))
def test_never_raises_on_readings_like_text(parts: list[str]) -> None:
    parse_readings(" ".join(parts))
    parse_readings("".join(parts))
