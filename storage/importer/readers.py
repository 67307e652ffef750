"""Streaming readers: CSV as billing systems write it, and XLSX (openpyxl, read-only mode).

A reader yields `(line number, cells)` with every cell a stripped string, so that the parsers see
the same text whatever the file format was. Memory stays bounded: rows are read one at a time.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import IO

SAMPLE_BYTES = 1 << 20
DELIMITERS = (";", ",", "\t")


class ReadError(Exception):
    """The file can't be read at all (bad encoding, not a spreadsheet): one line for the report."""


class Source:
    """One input file. `header` first, then `rows()`; `position()` feeds the progress bar."""

    path: Path
    header: list[str]
    size: int  # progress units: bytes for CSV, rows for XLSX
    unit: str
    description: str  # "CSV, cp1251, ';'" for the report

    def cells(self) -> Iterator[list[str]]:
        """The data rows after the header; `line()` is the current row's line number."""
        raise NotImplementedError

    def line(self) -> int:
        raise NotImplementedError

    def position(self) -> int:
        raise NotImplementedError

    def close(self) -> None:
        return None


def detect_encoding(sample: bytes) -> str:
    """UTF-8 (with or without BOM) when the bytes decode as UTF-8, otherwise cp1251."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        # the sample may end inside a character: an incremental decoder tolerates that
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
    except UnicodeDecodeError:
        return "cp1251"
    return "utf-8"


def sniff_delimiter(first_line: str) -> str:
    """The header has no decimal commas, so the most frequent candidate there is the separator."""
    counts = {d: first_line.count(d) for d in DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ";"


class CsvSource(Source):
    def __init__(self, path: Path) -> None:
        self.path = path
        self.size = path.stat().st_size
        self.unit = "B"
        self._raw = path.open("rb")
        sample = self._raw.read(SAMPLE_BYTES)
        self.encoding = detect_encoding(sample)
        first_line = sample.decode(self.encoding, errors="replace").lstrip("\ufeff")
        first_line = first_line.splitlines()[0] if first_line else ""
        self.delimiter = sniff_delimiter(first_line)
        self._raw.seek(0)
        self._text: IO[str] = io.TextIOWrapper(self._raw, encoding=self.encoding, newline="")
        self._reader = csv.reader(self._text, delimiter=self.delimiter)
        encoding = {"utf-8-sig": "UTF-8 with BOM", "utf-8": "UTF-8"}.get(self.encoding, "cp1251")
        self.description = f"CSV, {encoding}, {self.delimiter!r}"
        self.header = []
        try:
            for row in self._reader:
                if any(cell.strip() for cell in row):
                    self.header = row
                    break
        except (UnicodeDecodeError, csv.Error) as error:
            raise ReadError(f"cannot read the header: {error}") from None
        self.header_line = self._reader.line_num

    def cells(self) -> Iterator[list[str]]:
        # the csv reader itself: no generator in between on the hot path
        return self._reader

    def line(self) -> int:
        return self._reader.line_num

    def position(self) -> int:
        return self._raw.tell()

    def close(self) -> None:
        self._text.close()


def cell_text(value: object) -> str:
    """A spreadsheet cell as the text a CSV export would have."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        # Spreadsheet sums carry binary noise (177.04000000000002): nine decimals are plenty.
        return format(Decimal(repr(round(value, 9))), "f")
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


class XlsxSource(Source):
    def __init__(self, path: Path) -> None:
        import openpyxl  # only XLSX imports pay for it
        from openpyxl.utils.exceptions import InvalidFileException

        self.path = path
        try:
            self._book = openpyxl.load_workbook(path, read_only=True, data_only=True)
        except (InvalidFileException, OSError, KeyError, ValueError) as error:
            raise ReadError(f"not a readable XLSX file: {error}") from None
        sheet = self._book.worksheets[0]
        self.size = sheet.max_row or 0
        self.unit = "rows"
        self.description = f"XLSX, sheet {sheet.title!r}"
        self._rows = enumerate(sheet.iter_rows(values_only=True), start=1)
        self._line = 0
        self.header = []
        for line, values in self._rows:
            cells = [cell_text(value).strip() for value in values]
            if any(cells):
                self.header, self.header_line = cells, line
                break
        self._line = getattr(self, "header_line", 0)

    def cells(self) -> Iterator[list[str]]:
        for line, values in self._rows:
            self._line = line
            yield [cell_text(value) for value in values]

    def line(self) -> int:
        return self._line

    def position(self) -> int:
        return self._line

    def close(self) -> None:
        self._book.close()


def open_source(path: Path) -> Source:
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        return XlsxSource(path)
    return CsvSource(path)
