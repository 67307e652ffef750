from decimal import Decimal as D

import pytest

from texts import fmt


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (D("2383.29"), "2\u00a0383,29"),
        (D("1775.84"), "1\u00a0775,84"),
        (D("0"), "0,00"),
        (D("-1234567.5"), "−1\u00a0234\u00a0567,50"),
        (D("999.999"), "1\u00a0000,00"),
    ],
)
def test_money_is_russian(value: D, expected: str) -> None:
    assert fmt.money(value) == expected


def test_rub_and_quantities() -> None:
    assert fmt.rub(D("2383.29")) == "2\u00a0383,29\u00a0₽"
    assert fmt.tariff(D("18.8300")) == "18,83"
    assert fmt.volume(D("1.9125")) == "1,9125"
    assert fmt.money_or_dash(D("0")) == "-"


@pytest.mark.parametrize(
    ("n", "word"),
    [(1, "счёт"), (2, "счёта"), (4, "счёта"), (5, "счетов"), (11, "счетов"), (12, "счетов"),
     (21, "счёт"), (22, "счёта"), (25, "счетов"), (101, "счёт"), (111, "счетов"), (0, "счетов")],
)  # fmt: skip
def test_plural(n: int, word: str) -> None:
    assert fmt.plural(n, "счёт", "счёта", "счетов") == word


def test_month_names() -> None:
    import datetime as dt

    assert fmt.month(dt.date(2020, 3, 1)) == "март 2020"
    assert fmt.day_long(dt.date(2020, 3, 20)) == "20 марта"
    assert fmt.esc("<b>&") == "&lt;b&gt;&amp;"


def test_one_address_form_for_every_screen() -> None:
    assert fmt.address("ул. Ленина, д. 1", "5") == "ул. Ленина, д. 1, кв. 5"
    assert fmt.address("ул. Ленина, д. 1", "") == "ул. Ленина, д. 1"
    assert fmt.address("ул. Ленина, д. 1") == "ул. Ленина, д. 1"
    assert (
        fmt.account_label("00000000", "ул. Ленина, д. 1", "5")
        == "л/с № 00000000, ул. Ленина, д. 1, кв. 5"
    )
