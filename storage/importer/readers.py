"""Streaming readers: text tables as billing systems write them, XLSX sheets, and ZIP archives.

A source yields rows of cells (strings) one at a time, so memory stays bounded; `line()` is the
current row's number in the file (the physical line for text, the row for a sheet), which every
refusal names. Uploaded files are untrusted:

- a text file decodes in ONE encoding from start to end (BOM, then strict UTF-8, then
  `charset-normalizer` among cp1251, cp866 and KOI8-R); a byte that does not fit is refused at
  its line, never replaced;
- ZIP archives and XLSX books are opened only within limits on members, unpacked size and
  compression ratio (checked on the archive's directory before anything is unpacked; `zipfile`
  never unpacks more than a member's declared size), and member names never become paths;
- XLSX sheets are read with their `<dimension>` ignored (`reset_dimensions()`), so a wrong one
  neither drops rows nor makes the reader pad a million empty rows; a formula without a cached
  value is refused by its cell.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import re
import zipfile
import zlib
from collections import Counter
from collections.abc import Iterator, Sequence
from decimal import Decimal
from itertools import chain, islice, repeat
from pathlib import Path
from typing import IO, Any

SAMPLE_BYTES = 1 << 20
SNIFF_LINES = 30
DELIMITERS = (";", "\t", ",")
CANDIDATE_ENCODINGS = ("cp1251", "cp866", "koi8_r")
TEXT_SUFFIXES = (".csv", ".txt", ".tsv", ".tab", ".prn")
XLSX_SUFFIXES = (".xlsx", ".xlsm")

# Archive limits: a month of a large organization is well inside them, a zip bomb is not.
MAX_MEMBERS = 200  # files in a ZIP of billing files
MAX_XLSX_MEMBERS = 5_000  # parts of one XLSX book
MAX_UNPACKED = 2 << 30  # bytes, all members together
MAX_RATIO = 200  # unpacked / packed, for members over RATIO_FLOOR
RATIO_FLOOR = 1 << 20
MAX_COLUMNS = 256  # a sheet's columns that are read; data beyond is refused

ENCODING_NAMES = {
    "utf-8-sig": "UTF-8 с BOM",
    "utf-8": "UTF-8",
    "utf-16": "UTF-16",
    "utf-16-le": "UTF-16",
    "utf-16-be": "UTF-16",
    "cp1251": "Windows-1251",
    "cp866": "DOS (cp866)",
    "koi8_r": "KOI8-R",
}
DELIMITER_NAMES = {";": "«;»", ",": "«,»", "\t": "табуляция"}


class ReadError(Exception):
    """The file can't be read (encoding, not a table, a limit): one line for the report."""

    def __init__(self, reason: str, line: int = 0, name: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.line = line
        self.name = name  # the member of an archive it is about, when not the file itself


class Chunk:
    """Up to a few thousand consecutive rows of a table, for the scan of large files.

    `cells`: the rows' cells one row after another, exactly `width` of them a row, when every row
    of the chunk is a plain line (no quotes) of that many cells, else None; `rows()`: the rows as
    lists of cells, as the csv reader gives them; `lines[i]`: the line of row i."""

    __slots__ = ("_rows", "_width", "cells", "count", "lines")

    def __init__(
        self,
        lines: Sequence[int],
        rows: list[list[str]] | None = None,
        cells: list[str] | None = None,
        width: int = 0,
    ) -> None:
        self.lines, self._rows, self.cells, self._width = lines, rows, cells, width
        self.count = len(lines)

    def rows(self) -> list[list[str]]:
        if self._rows is None:
            assert self.cells is not None
            cells, width = self.cells, self._width
            self._rows = [cells[i : i + width] for i in range(0, len(cells), width)]
        return self._rows


def row_lines(chunk: list[list[str]], before: int, after: int) -> list[int]:
    """The line of each row of a chunk read between lines `before` and `after`: consecutive,
    unless a quoted cell spans lines (then each row ends as many lines later)."""
    if after - before == len(chunk):
        return list(range(before + 1, after + 1))
    lines, line = [], before
    for row in chunk:
        line += 1 + sum(cell.count("\n") for cell in row)
        lines.append(line)
    return lines


class Source:
    """One table: a text file, or one sheet of a book. `rows()` once, `line()` while reading;
    or, once the header is found, `chunks()` for the rest."""

    name: str  # "file" or "file!sheet", as refusals name it
    size: int  # progress units: bytes for text, rows for sheets
    unit: str
    description: str  # "текст, Windows-1251, разделитель «;»" for the report
    header: list[str] = []  # set once the header is found (plan)
    header_line = 0
    pending: list[list[str]] = []  # rows read ahead of the header search, to scan first

    def rows(self) -> Iterator[list[str]]:
        raise NotImplementedError

    def chunks(self, size: int, width: int) -> Iterator[Chunk]:
        """The rest of the table, `size` rows at a time."""
        rows = self.rows()
        while True:
            before = self.line()
            chunk = list(islice(rows, size))
            if not chunk:
                return
            yield Chunk(row_lines(chunk, before, self.line()), rows=chunk)

    def decode_error(self) -> ReadError:
        return ReadError("текст не читается")

    def line(self) -> int:
        raise NotImplementedError

    def position(self) -> int:
        raise NotImplementedError

    def close(self) -> None:
        return None


# --- text ----------------------------------------------------------------------------------------


def _utf16_without_bom(sample: bytes) -> str | None:
    """Excel's "Unicode text" has a BOM; without one, NULs in every other byte tell UTF-16."""
    head = sample[:4096]
    if len(head) < 4:
        return None
    even, odd = head[0::2].count(0), head[1::2].count(0)
    if odd > len(head) // 4 and even == 0:
        return "utf-16-le"
    if even > len(head) // 4 and odd == 0:
        return "utf-16-be"
    return None


def detect_encoding(sample: bytes, complete: bool) -> str:
    """The file's one encoding, from its first bytes: BOM, then UTF-8, then charset-normalizer.

    A sample that is mostly valid UTF-8 with a few bad bytes is UTF-8 (strict decoding then
    refuses the bad line); mis-detecting it as an 8-bit code page would store it garbled.
    """
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    utf16 = _utf16_without_bom(sample)
    if utf16:
        return utf16
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=complete)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    text = sample.decode("utf-8", errors="replace")
    bad = text.count("\ufffd")
    good = len(text) - len(text.encode("ascii", "ignore")) - bad  # letters beyond ASCII
    if good >= 4 * bad:
        return "utf-8"
    from charset_normalizer import from_bytes  # only 8-bit files pay for it

    best = from_bytes(sample, cp_isolation=list(CANDIDATE_ENCODINGS)).best()
    if best is None:
        raise ReadError("не удалось определить кодировку: сохраните файл в UTF-8 или Windows-1251")
    return codecs.lookup(best.encoding).name.replace("-", "_")


def sniff_delimiter(lines: list[str]) -> str:
    """The separator that splits the most of the first lines into the same number (> 1) of
    cells: title rows, quoted commas and decimal commas do not fool it."""
    best, best_score = ";", (0, 0)
    for delimiter in DELIMITERS:
        widths = Counter(len(row) for row in csv.reader(lines, delimiter=delimiter))
        widths.pop(1, None)
        widths.pop(0, None)
        if not widths:
            continue
        width, count = max(widths.items(), key=lambda item: (item[1], item[0]))
        if (count, width) > best_score:
            best, best_score = delimiter, (count, width)
    return best


def _bad_line(path: Path, encoding: str) -> int:
    """The first line that does not decode (the slow path of a refusal only)."""
    if encoding.startswith("utf-16"):
        return 0
    decoder = codecs.getincrementaldecoder(encoding)()
    with path.open("rb") as raw:
        for number, line in enumerate(raw, start=1):
            try:
                decoder.decode(line)
            except UnicodeDecodeError:
                return number
    return 0


class TextSource(Source):
    def __init__(self, path: Path, name: str) -> None:
        self.path = path
        self.name = name
        self.size = path.stat().st_size
        self.unit = "B"
        self._raw = path.open("rb")
        try:
            sample = self._raw.read(SAMPLE_BYTES)
            complete = len(sample) < SAMPLE_BYTES
            detect_from = sample
            while detect_from.isascii() and not complete:
                # plain ASCII so far: the encoding shows where the first letter beyond it is
                detect_from = self._raw.read(SAMPLE_BYTES)
                complete = len(detect_from) < SAMPLE_BYTES
            self.encoding = detect_encoding(detect_from, complete)
            head = sample[: 64 * 1024].decode(self.encoding, errors="replace").lstrip("\ufeff")
            self.delimiter = sniff_delimiter(head.splitlines()[:SNIFF_LINES])
            self._raw.seek(0)
            self._text: IO[str] = io.TextIOWrapper(
                self._raw, encoding=self.encoding, errors="strict", newline=""
            )
        except BaseException:
            self._raw.close()
            raise
        self._reader = csv.reader(self._text, delimiter=self.delimiter)
        self._consumed = 0  # lines read by `chunks`, not by the reader
        self.description = (
            f"текст, {ENCODING_NAMES.get(self.encoding, self.encoding)}, "
            f"разделитель {DELIMITER_NAMES[self.delimiter]}"
        )

    def rows(self) -> Iterator[list[str]]:
        # the csv reader itself: no generator in between on the hot path
        return self._reader

    def line(self) -> int:
        return self._reader.line_num + self._consumed

    def position(self) -> int:
        return self._raw.tell()

    def chunks(self, size: int, width: int) -> Iterator[Chunk]:
        """`size` lines at a time, read as text: a chunk without quotes is split by `str`
        methods into the cells the csv reader would give (no list per row: the hot path of a
        file of millions of rows); a chunk with quotes, NULs or lone CRs goes through the csv
        reader (a quoted cell may go on past the chunk's last line)."""
        text, delimiter = self._text, self.delimiter
        while True:
            before = self.line()
            lines = list(islice(text, size))
            if not lines:
                return
            block = "".join(lines)
            plain = '"' not in block and "\0" not in block
            body = block.replace("\r\n", "\n") if plain else ""
            if not plain or "\r" in body:
                yield self._csv_chunk(lines, before)
                continue
            self._consumed += len(lines)
            body = body.removesuffix("\n")  # the last line of a file may have no line end
            texts = body.split("\n")
            numbers = range(before + 1, before + len(texts) + 1)
            if set(map(str.count, texts, repeat(delimiter))) == {width - 1}:
                cells = body.replace(delimiter, "\n").split("\n")
                yield Chunk(numbers, cells=cells, width=width)
            else:  # blank lines, totals, short or long rows: split as the csv reader would
                yield Chunk(numbers, rows=[line.split(delimiter) if line else [] for line in texts])

    def _csv_chunk(self, lines: list[str], before: int) -> Chunk:
        """The rows that start in `lines`, by the csv reader (and the lines after them that a
        quoted cell spans)."""
        reader = csv.reader(chain(lines, self._text), delimiter=self.delimiter)
        rows, numbers = [], []
        try:
            while reader.line_num < len(lines):
                rows.append(next(reader))
                numbers.append(before + reader.line_num)
        finally:
            self._consumed += reader.line_num
        return Chunk(numbers, rows=rows)

    def decode_error(self) -> ReadError:
        line = _bad_line(self.path, self.encoding) or self.line() + 1
        name = ENCODING_NAMES.get(self.encoding, self.encoding)
        return ReadError(
            f"строка не в кодировке файла ({name}): в одном файле все строки должны быть в одной "
            "кодировке — сохраните файл заново в UTF-8 или Windows-1251",
            line,
        )

    def close(self) -> None:
        self._text.close()


# --- archives ------------------------------------------------------------------------------------


def _open_zip(path: Path, max_members: int) -> zipfile.ZipFile:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        raise ReadError(
            "файл повреждён или не дописан: это не книга Excel (XLSX) и не ZIP-архив"
        ) from None
    try:
        check_archive(archive, max_members)
    except ReadError:
        archive.close()
        raise
    return archive


def check_archive(archive: zipfile.ZipFile, max_members: int) -> None:
    """Limits on the archive's directory, before a byte is unpacked."""
    members = archive.infolist()
    if len(members) > max_members:
        raise ReadError(f"в архиве {len(members)} файлов, допустимо не больше {max_members}")
    total = 0
    for member in members:
        if member.flag_bits & 0x1:
            raise ReadError("архив зашифрован: пришлите его без пароля")
        total += member.file_size
        ratio = member.file_size / max(member.compress_size, 1)
        if member.file_size > RATIO_FLOOR and ratio > MAX_RATIO:
            raise ReadError(
                "архив сжат подозрительно сильно (больше чем в "
                f"{MAX_RATIO} раз): такой файл не распаковывается"
            )
    if total > MAX_UNPACKED:
        raise ReadError(
            f"в распакованном виде архив занял бы {total >> 20} МБ, "
            f"допустимо не больше {MAX_UNPACKED >> 20} МБ"
        )


_UNSAFE = re.compile(r"[^\w.\-]+")


def _safe_name(index: int, member: str) -> str:
    """A member's file name for the temporary directory: its last part, tamed, numbered."""
    base = member.replace("\\", "/").rsplit("/", 1)[-1]
    tame = _UNSAFE.sub("_", base).strip("._")[:80] or "file"
    return f"{index:03d}_{tame}"


def _display(member: str) -> str:
    return "".join(char for char in member if char.isprintable())[:200]


def _extract(archive: zipfile.ZipFile, display: str, workdir: Path) -> list[tuple[Path, str]]:
    """The archive's files, copied into `workdir` under safe names; (path, display name)."""
    files = []
    for index, member in enumerate(archive.infolist()):
        name = member.filename
        if member.is_dir() or name.startswith("__MACOSX/") or name.rsplit("/", 1)[-1][:1] in ".":
            continue
        target = workdir / _safe_name(index, name)
        shown = f"{display}/{_display(name)}"
        try:
            with archive.open(member) as source, target.open("wb") as out:
                while chunk := source.read(1 << 20):
                    out.write(chunk)
        except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError):
            raise ReadError("файл в архиве повреждён: пришлите архив заново", name=shown) from None
        files.append((target, shown))
    return files


# --- XLSX ----------------------------------------------------------------------------------------


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


def column_letter(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(index + 1)


class SheetSource(Source):
    """One sheet, read twice in step: cached values, and formulas (to refuse uncached ones)."""

    def __init__(self, values: Any, formulas: Any, name: str, book: str) -> None:
        values.reset_dimensions()
        formulas.reset_dimensions()
        self._values, self._formulas = values, formulas
        self.name = name
        self.size = 0
        self.unit = "rows"
        self.description = f"XLSX, лист «{values.title}»"
        self._line = 0
        self._rows: Iterator[list[str]] | None = None

    def rows(self) -> Iterator[list[str]]:
        """One iterator for the sheet: the header search and the scan continue each other."""
        if self._rows is None:
            self._rows = self._read()
        return self._rows

    def _read(self) -> Iterator[list[str]]:
        pairs = zip(
            self._values.iter_rows(values_only=True),
            self._formulas.iter_rows(values_only=True),
            strict=False,
        )
        line = 0
        while True:
            try:
                values, formulas = next(pairs)
            except StopIteration:
                return
            except Exception:  # a damaged part of the book: whatever the parser raises
                raise ReadError(
                    "лист повреждён: откройте файл в Excel и сохраните его заново", line + 1
                ) from None
            line += 1
            self._line = line
            if len(values) > MAX_COLUMNS:
                if any(value is not None for value in values[MAX_COLUMNS:]):
                    raise ReadError(
                        f"данные правее столбца {column_letter(MAX_COLUMNS - 1)}: "
                        f"читаются только первые {MAX_COLUMNS} столбцов",
                        line,
                    )
                values = values[:MAX_COLUMNS]
            cells = []
            for index, value in enumerate(values):
                if value is None and index < len(formulas):
                    formula = formulas[index]
                    if isinstance(formula, str) and formula.startswith("="):
                        raise ReadError(
                            f"ячейка {column_letter(index)}{line} содержит формулу без "
                            "значения: откройте файл в Excel и сохраните его",
                            line,
                        )
                cells.append(cell_text(value))
            yield cells

    def line(self) -> int:
        return self._line

    def position(self) -> int:
        return self._line


class Book:
    """An XLSX book opened twice (values and formulas), read-only, within the archive limits."""

    def __init__(self, path: Path, display: str) -> None:
        import openpyxl  # only XLSX imports pay for it

        _open_zip(path, MAX_XLSX_MEMBERS).close()
        try:
            self.values = openpyxl.load_workbook(path, read_only=True, data_only=True)
            self.formulas = openpyxl.load_workbook(path, read_only=True, data_only=False)
        except Exception:  # openpyxl raises many kinds for a broken book; all mean the same
            raise ReadError(
                "файл повреждён или это не книга Excel (XLSX): откройте его в Excel и "
                "сохраните заново"
            ) from None
        self.sources = [
            SheetSource(values, formulas, f"{display}!{values.title}", display)
            for values, formulas in zip(
                self.values.worksheets, self.formulas.worksheets, strict=True
            )
        ]

    def close(self) -> None:
        self.values.close()
        self.formulas.close()


# --- any file ------------------------------------------------------------------------------------

XLS_MAGIC = b"\xd0\xcf\x11\xe0"


def open_sources(
    path: Path,
    display: str,
    workdir: Path,
    closers: list[Any],
    errors: list[ReadError],
    nested: bool = False,
) -> list[Source]:
    """The tables of one file: a text file, an XLSX book's sheets, or a ZIP's files.

    What a file is is decided by its bytes, not its name. `closers` collects what the caller
    closes at the end; a ZIP member that can't be read goes to `errors` (named), the others are
    still opened so that one report lists everything."""
    with path.open("rb") as probe:
        magic = probe.read(4)
    if magic == XLS_MAGIC:
        raise ReadError("формат XLS (Excel 97–2003) не читается: сохраните файл как XLSX или CSV")
    if magic[:2] == b"PK":
        archive = _open_zip(path, MAX_XLSX_MEMBERS)
        try:
            names = archive.namelist()
            is_book = "[Content_Types].xml" in names and any(n.startswith("xl/") for n in names)
            if not is_book:
                if nested:
                    raise ReadError("архив внутри архива: распакуйте вложенный архив")
                check_archive(archive, MAX_MEMBERS)
                files = _extract(archive, display, workdir)
        finally:
            archive.close()
        if is_book:
            book = Book(path, display)
            closers.append(book)
            return list(book.sources)
        if not files:
            raise ReadError("архив пуст")
        sources: list[Source] = []
        for member_path, member_name in files:
            try:
                sources.extend(
                    open_sources(member_path, member_name, workdir, closers, errors, True)
                )
            except ReadError as error:
                error.name = error.name or member_name
                errors.append(error)
        return sources
    if path.suffix.lower() in XLSX_SUFFIXES:
        raise ReadError("файл повреждён или это не книга Excel (XLSX)")
    source = TextSource(path, display)
    closers.append(source)
    return [source]
