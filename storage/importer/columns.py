"""Whole columns of a chunk of charge rows, parsed at once: the hot path of large files.

A billing export writes a column the same way from top to bottom (`1234,56`, `0,0450`). Joined
with newlines, a column is checked by one regular expression and converted by `int` over the
split text, both in C; only a column that is not uniform goes cell by cell through the
`values.fast_*` parsers, and a cell those refuse makes the caller take its rows one by one (the
careful path, which says what is wrong at which line). Results equal the cell parsers' exactly.
"""

from __future__ import annotations

import re
from functools import cache
from itertools import repeat
from operator import mul

from storage.importer import values as v

# possessive (`{1,13}+`, `?+`, `*+`): a cell is unambiguous between newlines, so nothing is lost by
# never backtracking, and the engine does not keep the bookkeeping for it (a fifth faster)
_AMOUNT = r"-?[0-9]{1,13}+[.,][0-9]{2}"
_MONEY = re.compile(rf"(?:{_AMOUNT})?+(?:\n(?:{_AMOUNT})?+)*+")


def money(cells: tuple[str, ...]) -> list[int]:
    """Kopecks of each cell, "" → 0; ValueError on a cell that is not money."""
    text = "\n".join(cells)
    if _MONEY.fullmatch(text):
        if "" in cells:  # empty cells become zeros: every run of newlines gets a 0 between
            text = f"\n{text}\n".replace("\n\n", "\n0\n").replace("\n\n", "\n0\n")[1:-1]
        numbers = text.replace(",", "").replace(".", "").split("\n")
        if len(numbers) == len(cells):
            return list(map(int, numbers))
    return list(map(v.fast_money, cells))


@cache
def _quantity_pattern(decimals: int) -> re.Pattern[str]:
    number = rf"-?[0-9]{{1,11}}+[.,][0-9]{{{decimals}}}" if decimals else "-?[0-9]{1,11}+"
    return re.compile(rf"{number}(?:\n{number})*+")


def quantity(cells: tuple[str, ...]) -> list[int]:
    """Ten-thousandths of each cell (tariffs, volumes); ValueError on a cell that is not one.
    Fast when the column has the same number of decimals (up to four) in every cell."""
    first = cells[0]
    separator = max(first.rfind(","), first.rfind("."))
    decimals = len(first) - separator - 1 if separator >= 0 else 0
    if decimals <= v.QUANTITY_SCALE:
        text = "\n".join(cells)
        if _quantity_pattern(decimals).fullmatch(text):
            numbers = map(int, text.replace(",", "").replace(".", "").split("\n"))
            if decimals == v.QUANTITY_SCALE:
                return list(numbers)
            return list(map(mul, numbers, repeat(10 ** (v.QUANTITY_SCALE - decimals))))
    return list(map(v.fast_quantity, cells))
