"""The charges file's hot path: whole columns parsed at once give what the cell parsers give,
and a chunk that fails there is taken row by row with the right lines in the refusals."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.importer import ImportFailed, columns, import_files, values
from storage.importer.plan import CHUNK_ROWS
from tests.test_import import VARIANTS, snapshot, write, write_set

MONEY_CELLS = [
    ["1234,56", "0,45", "-12,00", "10.05", "999999999999,99"],  # uniform: the C path
    ["1234,56", "", "0,45", "", ""],  # empty cells are zeros
    ["", "", ""],
    ["12", "1 234,56", "−5,00", "-", "+3,10", "0,5", "12,3"],  # the cell parsers' shapes
]
QUANTITY_CELLS = [
    ["32,86", "1,50", "0,05"],
    ["0,0450", "12,1234", "-1,0000"],
    ["3", "15", "0"],
    ["1,5", "2,25", "0,123"],  # mixed decimals
    ["1,23456", "0,00005"],  # rounded half up
    ["", "1,5"],
]


@pytest.mark.parametrize("cells", MONEY_CELLS)
def test_a_money_column_is_what_each_cell_parses_to(cells: list[str]) -> None:
    assert columns.money(tuple(cells)) == [values.money(cell) for cell in cells]


@pytest.mark.parametrize("cells", QUANTITY_CELLS)
def test_a_quantity_column_is_what_each_cell_parses_to(cells: list[str]) -> None:
    assert columns.quantity(tuple(cells)) == [values.quantity(cell) for cell in cells]


@pytest.mark.parametrize("cells", [["1,00", "abc"], ["1,00", "1,001"], ["1e3"]])
def test_a_money_column_with_a_bad_cell_is_refused(cells: list[str]) -> None:
    with pytest.raises(ValueError):
        columns.money(tuple(cells))


HEADER = "account;period;service;tariff;volume;opening;charged;recalculation;paid;closing\n"


def charge_line(number: int) -> str:
    """The charge row `number`: each a different account, service or month."""
    account = ("20010001", "20010002", "20020012")[number % 3]
    service = ("hvs", "heating", "hvs_odn")[number // 3 % 3]
    month = number // 9
    period = f"{month % 12 + 1:02d}.{2021 + month // 12}"
    return f"{account};{period};{service};1,00;1,5;0,00;10,00;;0,00;10,00\n"


async def test_chunks_of_a_long_file_load_what_one_by_one_loads(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    """More rows than a chunk, a quoted cell over two lines and a «Итого» row among them: all
    good rows are loaded, exactly once."""
    await import_files(engine, write_set(tmp_path / "base", VARIANTS["semicolon-utf8-comma"]))
    rows = CHUNK_ROWS + 500
    lines = [HEADER] + [charge_line(number) for number in range(rows)]
    lines.insert(CHUNK_ROWS - 3, 'Итого;"по дому\nвсего";;;;;;;;\n')
    path = write(tmp_path / "charges.csv", "".join(lines))
    summary, _ = await import_files(engine, [path])
    assert summary.counts["charges"]["new"] == rows
    loaded = {(row[0], row[1], row[2]) for row in (await snapshot(engine))["charges"]}
    for number in (0, CHUNK_ROWS - 4, CHUNK_ROWS, rows - 1):
        account, period, service, *_ = charge_line(number).split(";")
        month, year = period.split(".")
        assert (account, dt.date(int(year), int(month), 1), service) in loaded


async def test_a_repeated_charge_deep_in_a_chunk_is_refused_at_its_line(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    await import_files(engine, write_set(tmp_path / "base", VARIANTS["semicolon-utf8-comma"]))
    lines = [HEADER] + [charge_line(number) for number in range(CHUNK_ROWS + 10)]
    lines.insert(CHUNK_ROWS + 5, charge_line(7))  # repeats line 9
    lines.insert(100, 'x;"две\nстроки";hvs;1,00;1,5;0,00;10,00;;0,00;10,00\n')  # lines 101-102
    # so the repeated one is on line CHUNK_ROWS + 8
    path = write(tmp_path / "charges.csv", "".join(lines))
    with pytest.raises(ImportFailed) as failed:
        await import_files(engine, [path])
    found = [str(problem) for problem in failed.value.problems.items]
    assert len(found) == 2, found
    assert found[0].startswith(f"{path}:102: ")  # the row that spans lines 101-102
    assert found[1] == (
        f"{path}:{CHUNK_ROWS + 8}: начисление повторяется: тот же лицевой счет, период и услуга "
        "уже были выше"
    )


@pytest.mark.parametrize("shift", [0, 1])
async def test_quoted_cells_across_a_chunks_end_keep_every_later_line_right(
    engine: AsyncEngine, tmp_path: Path, shift: int
) -> None:
    """A charges file read in text chunks: rows whose quoted cell goes on past a chunk's last
    line (`shift` moves them by a line), plain chunks after them with a blank line and a bad
    row, and a last line without a line end: every refusal names the line its row ends on, and
    nothing is applied."""
    await import_files(engine, write_set(tmp_path / "base", VARIANTS["semicolon-utf8-comma"]))
    before = await snapshot(engine)
    items = [HEADER] + [charge_line(number) for number in range(4 * CHUNK_ROWS)]
    spanning = 'x{};"две\nстроки";hvs;1,00;1,5;0,00;10,00;;0,00;10,00\n'
    for index in range(CHUNK_ROWS - 4 + shift, CHUNK_ROWS + 4 + shift):  # two lines each
        items.insert(index, spanning.format(index))
    items.insert(2 * CHUNK_ROWS + 100, "\n")  # a blank line: not a row
    items.insert(3 * CHUNK_ROWS + 7, "20010001;01.2110;hvs;1,00;1,5;0,00;десять;;0,00;10,00\n")
    items.append("20010001;01.2111;hvs;1,00;1,5;0,00;5,00;;0,00;10,00")  # no line end
    expected, line = [], 0
    for item in items:
        line += item.count("\n") or 1
        if item.startswith("x") or "2110" in item or "2111" in item:
            expected.append(line)
    path = write(tmp_path / "charges.csv", "".join(items))
    with pytest.raises(ImportFailed) as failed:
        await import_files(engine, [path])
    found = [problem.line for problem in failed.value.problems.items]
    assert found == expected
    assert all(problem.file == str(path) for problem in failed.value.problems.items)
    assert await snapshot(engine) == before
