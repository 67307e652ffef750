"""Pass one: read and validate every file, and note every bad row, before anything is written.

Reference data (organizations … meters) is kept in memory as dictionaries of the columns the file
had. Charges, payments and readings can be millions of rows: they are converted to tuples of the
stored integers and spooled to a temporary file in pickled batches, so memory stays bounded and
the load (pass two) does not parse anything again. References to accounts, services and meters
are kept as indexes into `Known.*_keys`, resolved to database ids once the reference data is in.
"""

from __future__ import annotations

import csv
import pickle
import re
import tempfile
from array import array
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import repeat
from operator import add, itemgetter, lshift, or_, sub
from pathlib import Path
from typing import Any

from storage.importer import columns
from storage.importer import values as v
from storage.importer.bulk import BATCH
from storage.importer.formats import (
    KINDS,
    MONEY_LINE_NAMES,
    REQUIRED,
    Column,
    Layout,
    explain,
    normalize,
    recognize,
)
from storage.importer.readers import Chunk, ReadError, SheetSource, Source, open_sources
from storage.kinds import LineKind, kind_of_name

MAX_PROBLEMS = 100_000
PROGRESS_EVERY = 4096
CHUNK_ROWS = 2048  # charge rows parsed a column at a time
HEADER_SEARCH_ROWS = 30  # title rows above the header: at most this many non-empty rows
FAST_CHARGE_COLUMNS = (
    "org", "account", "period", "service", "tariff", "volume",
    "opening", "charged", "recalculation", "paid", "closing",
)  # fmt: skip
ACCOUNT_BITS = 32
ACCOUNT_MASK = (1 << ACCOUNT_BITS) - 1
TOTAL_WORDS = ("итого", "всего", "итог")  # «Итого», «Итого по дому …», «Всего»
# the line a charges row's «Пени», «Льгота», «Субсидия» column becomes: (kind, service name)
EXTRA_LINES = (
    ("penalty", LineKind.PENALTY, "Пени"),
    ("benefit", LineKind.BENEFIT, "Льгота"),
    ("subsidy", LineKind.SUBSIDY, "Субсидия"),
)


Scan = Callable[[Source, "Careful", Callable[[], None]], int]
Careful = Callable[[list[str], int | None], int]  # the row parser that says what is wrong


class Progress:
    """What the import tells about its progress; the CLI shows it as a bar or as lines."""

    def start(self, stage: str, total: int | None, unit: str) -> None:
        return None

    def advance(self, amount: int) -> None:
        return None

    def finish(self) -> None:
        return None


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    reason: str

    def __str__(self) -> str:
        return (
            f"{self.file}:{self.line}: {self.reason}"
            if self.line
            else f"{self.file}: {self.reason}"
        )


@dataclass
class Problems:
    items: list[Problem] = field(default_factory=list)
    count: int = 0
    files: set[str] = field(default_factory=set)

    def add(self, file: str, line: int, reason: str) -> None:
        self.count += 1
        self.files.add(file)
        if len(self.items) < MAX_PROBLEMS:
            self.items.append(Problem(file, line, reason))

    def __bool__(self) -> bool:
        return self.count > 0


class Spool:
    """Rows of one kind, pickled to a temporary file in batches."""

    def __init__(self) -> None:
        self._file = tempfile.TemporaryFile()
        self.buffer: list[tuple] = []
        self.count = 0

    def add(self, row: tuple) -> None:
        self.buffer.append(row)
        if len(self.buffer) >= BATCH:
            self.flush()

    def flush(self) -> None:
        if self.buffer:
            self.count += len(self.buffer)
            pickle.dump(self.buffer, self._file, protocol=pickle.HIGHEST_PROTOCOL)
            self.buffer = []

    def __len__(self) -> int:
        return self.count + len(self.buffer)

    def batches(self) -> Iterator[list[tuple]]:
        self.flush()
        self._file.seek(0)
        while True:
            try:
                yield pickle.load(self._file)
            except EOFError:
                return

    def close(self) -> None:
        self._file.close()


class RecordSpool(Spool):
    """Reference records (dictionaries) of the kinds that come by the hundred thousand
    (apartments, accounts, meters): on disk until the load streams them."""

    def append(self, record: dict[str, Any]) -> None:
        self.add(record)  # type: ignore[arg-type]

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for batch in self.batches():
            yield from batch  # type: ignore[misc]


SPOOLED_RECORDS = ("apartments", "accounts", "meters")


class IntSpool:
    """Rows of a fixed number of 64-bit integers (charges): raw arrays in a temporary file,
    cheaper to write and read back than pickles."""

    def __init__(self, width: int) -> None:
        self.width = width
        self._file = tempfile.TemporaryFile()
        self.buffer = array("q")
        self.count = 0

    def add(self, row: tuple[int, ...]) -> None:
        self.buffer.extend(row)
        if len(self.buffer) >= BATCH * self.width:
            self.flush()

    def flush(self) -> None:
        if self.buffer:
            self.count += len(self.buffer) // self.width
            self.buffer.tofile(self._file)
            self.buffer = array("q")

    def __len__(self) -> int:
        return self.count + len(self.buffer) // self.width

    def batches(self) -> Iterator[array]:
        """Batches as flat arrays: row i is `batch[i * width:(i + 1) * width]`."""
        self.flush()
        self._file.seek(0)
        while True:
            batch = array("q")
            try:
                batch.fromfile(self._file, BATCH * self.width)
            except EOFError:  # the last, short batch (its items are in `batch`)
                if batch:
                    yield batch
                return
            yield batch

    def close(self) -> None:
        self._file.close()


@dataclass
class Known:
    """Natural keys that exist: in the database, or defined earlier in this import."""

    orgs: set[str] = field(default_factory=set)
    houses: set[tuple[str, str]] = field(default_factory=set)
    apartments: set[tuple[str, str, str]] = field(default_factory=set)
    # org code → {number → index}: indexes 0 … account_count − 1, in the order first seen (the
    # load resolves them to database ids in an array; no list of (org, number) keys beside it)
    accounts: dict[str, dict[str, int]] = field(default_factory=dict)
    account_count: int = 0
    services: dict[str, dict[str, int]] = field(default_factory=dict)
    service_keys: list[tuple[str, str]] = field(default_factory=list)
    meters: dict[tuple[str, str, str], int] = field(default_factory=dict)
    meter_keys: list[tuple[str, str, str]] = field(default_factory=list)
    # for the flat files: (org, street key, house key) → house code; (org, name key) → code;
    # (org, account, serial) → meter code
    house_addresses: dict[tuple[str, str, str], str] = field(default_factory=dict)
    service_names: dict[tuple[str, str], str] = field(default_factory=dict)
    meter_serials: dict[tuple[str, str, str], str] = field(default_factory=dict)
    stored_accounts: int = 0  # account indexes below this were in the database

    def add_house_address(self, org: str, code: str, address: str) -> None:
        try:
            parsed = v.parse_address(address)
        except ValueError:
            return
        self.house_addresses.setdefault((org, *parsed.house_key), code)

    def add_service_name(self, org: str, code: str, name: str) -> None:
        self.service_names.setdefault((org, name_key(name)), code)

    def add_org(self, code: str) -> None:
        self.orgs.add(code)
        self.accounts.setdefault(code, {})
        self.services.setdefault(code, {})

    def add_account(self, org: str, number: str) -> int:
        numbers = self.accounts.setdefault(org, {})
        index = numbers.get(number)
        if index is None:
            index = numbers[number] = self.account_count
            self.account_count += 1
        return index

    def add_service(self, org: str, code: str) -> int:
        codes = self.services.setdefault(org, {})
        index = codes.get(code)
        if index is None:
            index = codes[code] = len(self.service_keys)
            self.service_keys.append((org, code))
        return index

    def add_meter(self, key: tuple[str, str, str]) -> int:
        index = self.meters.get(key)
        if index is None:
            index = self.meters[key] = len(self.meter_keys)
            self.meter_keys.append(key)
        return index


def _rub(kopecks: int) -> str:
    """`2 383,29` as a Russian accountant writes it."""
    sign = "−" if kopecks < 0 else ""
    rubles, cents = divmod(abs(kopecks), 100)
    return f"{sign}{rubles:,}".replace(",", "\u00a0") + f",{cents:02d}"


def name_key(name: str) -> str:
    """Service names compare without case, `ё`, spaces and punctuation: `ГВС (т/н)` = `гвс т/н`."""
    return normalize(name)


@dataclass
class FileInfo:
    name: str
    kind: str
    rows: int
    description: str
    ignored: list[str]
    spooled: tuple[int, int] = (0, 0)  # the range of its rows in the kind's spool
    period: int | None = None  # the title's period, when the table has one
    skipped: int = 0  # «Итого» and subtotal rows
    # the preview (`Plan.preview`): periods, account indexes, sums in kopecks
    periods: set[int] = field(default_factory=set)
    accounts: set[int] = field(default_factory=set)
    charged: int = 0
    recalculated: int = 0
    paid: int = 0


def _interleave(columns: Sequence[list[int]]) -> array:
    """The columns' rows one after another, as one flat array of 64-bit integers (an
    OverflowError for a value beyond them)."""
    width = len(columns)
    flat = array("q", bytes(8 * width * len(columns[0])))
    for index, column in enumerate(columns):
        flat[index::width] = array("q", column)
    return flat


def _chunk_amounts(
    opening: tuple[str, ...],
    charged: tuple[str, ...],
    recalc: tuple[str, ...],
    paid: tuple[str, ...],
    end: tuple[str, ...],
) -> tuple[list[int], ...]:
    """A chunk's money columns and closing balances; ValueError when a cell is not money or a
    closing balance is not opening + charged + recalculation − paid."""
    o, c, r, p = (
        columns.money(opening),
        columns.money(charged),
        columns.money(recalc),
        columns.money(paid),
    )
    totals = list(map(sub, map(add, map(add, o, c), r), p))
    closing = columns.money(end)
    if "" in end:
        if any(e != t for e, t, raw in zip(closing, totals, end, strict=True) if raw):
            raise ValueError
    elif closing != totals:
        raise ValueError
    return o, c, r, p, totals


def _merged(upper: list[str], lower: list[str]) -> list[str]:
    """Two header rows read as one, as merged cells show them: a cell merged across columns
    above (only its first cell has the text) heads each filled cell below it («Сальдо» over
    «на начало» and «на конец»); a cell merged down (empty below) keeps its own text."""
    width = max(len(upper), len(lower))
    upper = upper + [""] * (width - len(upper))
    lower = lower + [""] * (width - len(lower))
    merged, spanning = [], ""
    for top, bottom in zip(upper, lower, strict=True):
        if top:
            spanning = top
        if bottom:
            merged.append(f"{spanning} {bottom}".strip() if spanning != bottom else bottom)
        else:
            merged.append(top)
            spanning = top
    return merged


def parse_cells(
    row: list[str], columns: list[tuple[int, Column]], header: list[str], absent: dict[str, Any]
) -> tuple[dict[str, Any], list[str]]:
    """A row's values by column name, and what is wrong with its cells."""
    values: dict[str, Any] = dict(absent)
    reasons = []
    for index, column in columns:
        raw = row[index].strip() if index < len(row) else ""
        if not raw:
            if column.default is REQUIRED:
                reasons.append(f"«{header[index]}»: пусто")
            else:
                values[column.name] = column.default
            continue
        try:
            values[column.name] = column.parse(raw)
        except ValueError as error:
            reasons.append(f"«{header[index]}» = «{raw}»: {error}")
    return values, reasons


def is_total(row: list[str]) -> bool:
    """«Итого», «Итого по дому …», «Всего»: the first filled cell starts with such a word."""
    first = next(filter(str.strip, row), "").lstrip()
    if first[:1].isascii() and first[:1].isalnum():
        return False  # an account number or a code (Latin, digits): no need to normalize
    return normalize(first).startswith(TOTAL_WORDS)


class Plan:
    """Everything the load needs, or the problems that stop it."""

    def __init__(self, org: str | None = None) -> None:
        self.org = org  # the CLI's --org: the organization of tables without an org column
        self.known = Known()
        self.problems = Problems()
        self.files: list[FileInfo] = []
        self.records: dict[str, Any] = {
            k.name: RecordSpool() if k.name in SPOOLED_RECORDS else [] for k in KINDS
        }
        self.charges = IntSpool(10)
        self.payments = Spool()
        self.payment_pairs: set[tuple[int, int]] = set()
        self.readings = Spool()
        # kind → natural key → where it was first seen (file index << 32 | line): a tuple of
        # (file, line) per key took 90 bytes an account
        self._first_seen: dict[str, dict[Any, int]] = {}
        self._file_names: dict[str, int] = {}
        # (period << 32 | account index) → a bit per service index: the pairs the files replace,
        # and the repeated charges found, in a dict of pairs (a set of every row's key took
        # ~90 bytes a row: 200 MB at 2.4M rows). The account is in the low bits: an int hashes
        # to itself, and a dict slot comes from the low bits (with the period there, every key
        # of a month fell into one slot and its probing grew with the number of accounts)
        self._charge_services: dict[int, int] = {}
        # (account index, period, service index) → (recalculation reason, first month, last
        # month): rare, kept aside so that the charges spool stays integers
        self.recalc_notes: dict[tuple[int, int, int], tuple[str, int | None, int | None]] = {}
        # the lines a table's «Пени»/«Льгота»/«Субсидия» columns add, summed per account,
        # period and line service until the table ends: key → [amounts, (file, first line)]
        self._extras: dict[tuple[int, int, int], tuple[list[int], tuple[str, int]]] = {}
        self._reading_keys: set[tuple[int, int]] = set()
        self._periods: dict[str, int] = {}
        self._registry_accounts: dict[tuple[str, str], tuple[str, str, str, int]] = {}
        self._new_services: dict[tuple[str, str], str] = {}
        self._line_services: dict[tuple[str, LineKind], str] = {}  # (org, kind) → new code
        self.default_org: str | None = None
        self.title_period: int | None = None  # of the table being scanned
        self._titles: dict[int, int | None] = {}  # id(source) → the period in its title rows
        self._workdir = tempfile.TemporaryDirectory(prefix="import-")
        self._closers: list[Any] = []

    @property
    def rows(self) -> int:
        return sum(f.rows for f in self.files)

    @property
    def charge_pairs(self) -> Iterator[tuple[int, int]]:
        """(account index, period) of every charge row: what the files replace."""
        return ((key & ACCOUNT_MASK, key >> ACCOUNT_BITS) for key in self._charge_services)

    @property
    def charge_periods(self) -> list[int]:
        return sorted({key >> ACCOUNT_BITS for key in self._charge_services})

    def close(self) -> None:
        for spool in (self.charges, self.payments, self.readings):
            spool.close()
        for kind in SPOOLED_RECORDS:
            self.records[kind].close()
        for item in self._closers:
            item.close()
        self._closers.clear()
        self._workdir.cleanup()

    def preview(self) -> None:
        """Per table: its periods, accounts and sums (charged, recalculated, paid), read back
        from the spools, so that the hot loop does not pay for them."""
        width = self.charges.width
        charge_files = [f for f in self.files if f.kind in ("charges", "registry")]
        offset = 0
        for batch in self.charges.batches():
            rows = len(batch) // width
            for info in charge_files:
                low, high = max(info.spooled[0], offset), min(info.spooled[1], offset + rows)
                if low < high:
                    part = batch[(low - offset) * width : (high - offset) * width]
                    info.accounts.update(part[0::width])
                    info.periods.update(part[1::width])
                    info.charged += sum(part[6::width])
                    info.recalculated += sum(part[7::width])
                    info.paid += sum(part[8::width])
            offset += rows
        for spool, kind in ((self.payments, "payments"), (self.readings, "readings")):
            files = [f for f in self.files if f.kind == kind]
            offset = 0
            for batch in spool.batches():
                for info in files:
                    low, high = (
                        max(info.spooled[0], offset),
                        min(info.spooled[1], offset + len(batch)),
                    )
                    for row in batch[low - offset : high - offset]:
                        info.periods.add(row[1])
                        if kind == "payments":
                            info.accounts.add(row[0])
                            info.paid += row[3]
                offset += len(batch)

    def is_new_account(self, index: int) -> bool:
        return index >= self.known.stored_accounts

    # --- pass one ---------------------------------------------------------------------------

    def open(self, paths: list[Path]) -> list[tuple[Source, Layout]]:
        """Open every file (a text, a book's sheets, an archive's files), find each table's
        header and kind; the tables in loading order."""
        opened: list[tuple[Source, Layout, int | None]] = []
        workdir = Path(self._workdir.name)
        for path in paths:
            name = str(path)
            errors: list[ReadError] = []
            try:
                sources = open_sources(path, name, workdir, self._closers, errors)
            except ReadError as error:
                self.problems.add(error.name or name, error.line, error.reason)
                continue
            except OSError as error:
                self.problems.add(name, 0, f"не удалось открыть файл: {error.strerror or error}")
                continue
            for error in errors:
                self.problems.add(error.name or name, error.line, error.reason)
            tables = []
            for source in sources:
                try:
                    found = self._header(source)
                except UnicodeDecodeError:
                    error = source.decode_error()
                    self.problems.add(source.name, error.line, error.reason)
                    continue
                except (ReadError, csv.Error) as error:
                    line = getattr(error, "line", 0) or source.line()
                    self.problems.add(source.name, line, getattr(error, "reason", str(error)))
                    continue
                if found is not None:
                    tables.append((source, *found))
            if sources and all(isinstance(source, SheetSource) for source in sources):
                if not tables and not any(p.file.startswith(name) for p in self.problems.items):
                    self.problems.add(name, 0, "в книге нет ни одной таблицы: все листы пусты")
            opened.extend(tables)
        order = {kind.name: i for i, kind in enumerate(KINDS)}
        opened.sort(key=lambda item: order[item[1].kind.name])
        self._titles = {id(source): period for source, _, period in opened}
        return [(source, layout) for source, layout, _ in opened]

    def _header(self, source: Source) -> tuple[Layout, int | None] | None:
        """Read up to the header: title rows (the period may be there), then the first row (or
        two rows, for headers with merged cells) that fits a kind. None when refused, or an
        empty sheet of a book."""
        rows = source.rows()
        seen: list[tuple[int, list[str]]] = []
        titles: list[str] = []
        previous: list[str] | None = None
        for row in rows:
            cells = [cell.replace("\ufeff", "").strip() for cell in row]
            if not any(cells):
                continue
            line = source.line()
            candidates = [cells]
            if previous is not None:
                candidates.append(_merged(previous, cells))
            layouts = [(c, recognize(c)) for c in candidates]
            fitting = [(c, layout) for c, layout in layouts if layout is not None]
            if fitting:
                header, layout = max(fitting, key=lambda item: len(item[1].positions))
                source.header, source.header_line = header, line
                layout = self._second_header_row(source, rows, layout)
                return layout, v.title_period(" ".join(titles))
            seen.append((line, cells))
            titles.append(" ".join(cells))
            previous = cells
            if len(seen) >= HEADER_SEARCH_ROWS:
                break
        if not seen:
            if not isinstance(source, SheetSource):  # an empty sheet of a book is no table
                self.problems.add(source.name, 0, "файл пуст: в нём нет ни заголовка, ни строк")
            return None
        line, best = max(seen, key=lambda item: sum(1 for cell in item[1] if cell))
        self.problems.add(source.name, line, explain(best))
        return None

    @staticmethod
    def _second_header_row(source: Source, rows: Iterator[list[str]], layout: Layout) -> Layout:
        """A header of two rows (merged cells: «Сальдо» over «на начало» | «на конец»): the
        row after the header joins it when the two read together know more columns; otherwise
        it is the first data row, kept for the scan."""
        for row in rows:
            if not any(cell.strip() for cell in row):
                continue
            merged = _merged(source.header, [cell.strip() for cell in row])
            joined = recognize(merged)
            if joined is not None and len(joined.positions) > len(layout.positions):
                source.header, source.header_line = merged, source.line()
                return joined
            source.pending = [row]
            break
        return layout

    def scan(self, opened: list[tuple[Source, Layout]], progress: Progress) -> None:
        if self.org is not None:
            if self.org not in self.known.orgs:
                self.problems.add("--org", 0, f"нет организации с кодом «{self.org}»")
                return
        for source, layout in opened:
            try:
                self._scan_file(source, layout, progress)
            except UnicodeDecodeError:
                error = source.decode_error()
                self.problems.add(source.name, error.line, error.reason)
            except ReadError as error:
                self.problems.add(source.name, error.line or source.line(), error.reason)
            except csv.Error as error:
                self.problems.add(source.name, source.line(), f"строка не разбирается: {error}")
            finally:
                progress.finish()
        self._release_checks()

    def _release_checks(self) -> None:
        """Drop what only pass one's checks need (the first line of every key, the apartments
        that exist): a tenth of a kilobyte an account that the load would otherwise carry."""
        self._first_seen.clear()
        self.known.apartments = set()

    def _scan_file(self, source: Source, layout: Layout, progress: Progress) -> None:
        kind = layout.kind
        info = FileInfo(source.name, kind.name, 0, source.description, layout.ignored)
        info.period = self.title_period = self._titles.get(id(source))
        self.files.append(info)
        if kind.name != "organizations" and not self._choose_org(source, layout):
            return
        progress.start(f"проверка {source.name}", source.size or None, source.unit)
        careful = self._careful(source, layout, info)
        reported = source.position()

        def tick() -> None:
            nonlocal reported
            position = source.position()
            progress.advance(position - reported)
            reported = position

        spool = self._spool(kind.name)
        start = len(spool) if spool is not None else 0
        # the row after the header, read to see if it was part of it (the line is still its)
        for row in source.pending:
            info.rows += careful(row)
        if kind.name == "charges" and not MONEY_LINE_NAMES & set(layout.positions):
            fast = self._fast_charges(layout, len(source.header))
            info.rows += fast(source, careful, tick)
        else:
            for seen, row in enumerate(source.rows(), start=1):
                info.rows += careful(row)
                if seen % PROGRESS_EVERY == 0:
                    tick()
        tick()
        self._flush_extras()
        if spool is not None:
            info.spooled = (start, len(spool))
        if not info.rows:
            self.problems.add(
                source.name,
                source.header_line,
                "в таблице нет ни одной строки данных, только заголовок",
            )

    def _spool(self, kind: str) -> IntSpool | Spool | None:
        spools: dict[str, IntSpool | Spool] = {
            "charges": self.charges, "registry": self.charges,
            "payments": self.payments, "readings": self.readings,
        }  # fmt: skip
        return spools.get(kind)

    def _choose_org(self, source: Source, layout: Layout) -> bool:
        """The organization of rows without an org column: --org, or the only one."""
        if self.org is not None:
            self.default_org = self.org
        else:
            orgs = self.known.orgs
            self.default_org = next(iter(orgs)) if len(orgs) == 1 else None
        if "org" in layout.positions or self.default_org is not None:
            return True
        count = len(self.known.orgs)
        reason = (
            "нет ни одной организации: загрузите сначала файл организаций"
            if not count
            else f"организаций {count}, а столбца «Организация» нет: добавьте его "
            "или укажите организацию (--org)"
        )
        self.problems.add(source.name, source.header_line, reason)
        return False

    def _careful(self, source: Source, layout: Layout, info: FileInfo) -> Careful:
        """The row parser that says what is wrong: column by column, then the kind's checks."""
        kind, name, header = layout.kind, source.name, source.header
        handler: Callable[[str, int, dict[str, Any]], str | None] = getattr(self, f"_{kind.name}")
        columns = [
            (layout.positions[c.name], c) for c in kind.columns if c.name in layout.positions
        ]
        width = len(header)
        line_of = source.line
        # Charges, payments and readings get the defaults of absent columns; reference records
        # keep only the columns the file has, so that an update leaves the others alone.
        absent = {}
        if self._spool(kind.name) is not None:
            absent = {
                c.name: None if c.default is REQUIRED else c.default
                for c in kind.columns
                if c.name not in layout.positions
            }

        def careful(row: list[str], line: int | None = None) -> int:
            """1 if the row is a row (checked, good or reported), 0 if blank or a total.
            `line`: the row's line, when the reader has already read on."""
            if line is None:
                line = line_of()
            if not any(map(str.strip, row)):
                return 0  # blank lines are not rows
            if is_total(row):
                info.skipped += 1
                return 0
            if len(row) > width and any(cell.strip() for cell in row[width:]):
                self.problems.add(
                    name, line, f"в строке на {len(row) - width} ячеек больше, чем в заголовке"
                )
                return 1
            values, reasons = parse_cells(row, columns, header, absent)
            if not reasons:
                reason = handler(name, line, values)
                if reason:
                    reasons.append(reason)
            if reasons:
                self.problems.add(name, line, "; ".join(reasons))
            return 1

        return careful

    # --- references ---------------------------------------------------------------------------

    def _org(self, values: dict[str, Any]) -> tuple[str | None, str | None]:
        """(org code, problem)."""
        org = values.get("org") or self.default_org
        if org is None:
            return None, "«Организация»: пусто, а организаций несколько"
        if org not in self.known.orgs:
            return None, f"нет организации с кодом «{org}»"
        return org, None

    def _account(self, values: dict[str, Any]) -> tuple[str | None, int | None, str | None]:
        org, problem = self._org(values)
        if org is None:
            return None, None, problem
        index = self.known.accounts.get(org, {}).get(values["account"])
        if index is None:
            return org, None, f"лицевого счета «{values['account']}» нет (организация «{org}»)"
        return org, index, None

    def _duplicate(self, kind: str, key: Any, file: str, line: int, what: str) -> str | None:
        number = self._file_names.setdefault(file, len(self._file_names))
        here = number << 32 | line
        first = self._first_seen.setdefault(kind, {}).setdefault(key, here)
        if first != here:
            first_file, first_line = first >> 32, first & 0xFFFFFFFF
            name = next(n for n, i in self._file_names.items() if i == first_file)
            where = f"строке {first_line}" if name == file else f"{name}:{first_line}"
            return f"{what} повторяется: уже был в {where}"
        return None

    # --- one handler per kind: the row's cross checks; the reason it's bad, or None -----------

    def _organizations(self, file: str, line: int, values: dict[str, Any]) -> str | None:
        code = values["code"]
        duplicate = self._duplicate("org", (code,), file, line, f"код организации «{code}»")
        if duplicate:
            return duplicate
        if values.get("readings_day_from", 1) > values.get("readings_day_to", 31):
            return "день начала приёма показаний позже дня окончания"
        self.known.add_org(code)
        self.records["organizations"].append(values)
        return None

    def _houses(self, file: str, line: int, values: dict[str, Any]) -> str | None:
        org, problem = self._org(values)
        if org is None:
            return problem
        key = (org, values["code"])
        duplicate = self._duplicate("house", key, file, line, f"код дома «{values['code']}»")
        if duplicate:
            return duplicate
        values["org"] = org
        self.known.houses.add(key)
        self.known.add_house_address(org, values["code"], values["address"])
        self.records["houses"].append(values)
        return None

    def _apartments(self, file: str, line: int, values: dict[str, Any]) -> str | None:
        org, problem = self._org(values)
        if org is None:
            return problem
        if (org, values["house"]) not in self.known.houses:
            return f"дома с кодом «{values['house']}» нет (организация «{org}»)"
        key = (org, values["house"], values["number"])
        what = f"помещение «{values['number']}» дома «{values['house']}»"
        duplicate = self._duplicate("apartment", key, file, line, what)
        if duplicate:
            return duplicate
        values["org"] = org
        self.known.apartments.add(key)
        self.records["apartments"].append(values)
        return None

    def _accounts(self, file: str, line: int, values: dict[str, Any]) -> str | None:
        org, problem = self._org(values)
        if org is None:
            return problem
        if (org, values["house"], values["apartment"]) not in self.known.apartments:
            return (
                f"помещения «{values['apartment']}» в доме «{values['house']}» нет: "
                "загрузите его файлом помещений (лицевые счета помещений не создают)"
            )
        index = self.known.add_account(org, values["number"])
        duplicate = self._duplicate(
            "account", index, file, line, f"лицевой счет «{values['number']}»"
        )
        if duplicate:
            return duplicate
        values["org"] = org
        self.records["accounts"].append(values)
        return None

    def _services(self, file: str, line: int, values: dict[str, Any]) -> str | None:
        org, problem = self._org(values)
        if org is None:
            return problem
        key = (org, values["code"])
        duplicate = self._duplicate("service", key, file, line, f"код услуги «{values['code']}»")
        if duplicate:
            return duplicate
        values["org"] = org
        if not values.get("kind"):  # absent or empty: what the name says, if anything
            named = kind_of_name(values["name"])
            if named or "kind" in values:
                values["kind"] = str(named)
        self.known.add_service(org, values["code"])
        self.known.add_service_name(org, values["code"], values["name"])
        self.records["services"].append(values)
        return None

    def _meters(self, file: str, line: int, values: dict[str, Any]) -> str | None:
        org, _, problem = self._account(values)
        if problem:
            return problem
        key = (org, values["account"], values["code"])
        what = f"счетчик «{values['code']}» лицевого счета «{values['account']}»"
        duplicate = self._duplicate("meter", key, file, line, what)
        if duplicate:
            return duplicate
        values["org"] = org
        self.known.add_meter(key)  # type: ignore[arg-type]
        if values.get("serial"):
            self.known.meter_serials.setdefault(
                (org, values["account"], values["serial"]), values["code"]
            )
        self.records["meters"].append(values)
        return None

    def _charges(self, file: str, line: int, values: dict[str, Any]) -> str | None:
        org, account, problem = self._account(values)
        if problem:
            return problem
        codes = self.known.services.get(org, {})  # type: ignore[arg-type]
        service = codes.get(values["service"])
        if service is None:  # «Услуга» of an export holds the name
            code = self.known.service_names.get((org, name_key(values["service"])))  # type: ignore[arg-type]
            service = codes.get(code) if code is not None else None
        if service is None:
            return f"услуги «{values['service']}» нет (организация «{org}»)"
        return self._charge(org, account, values["period"], service, values, file, line)  # type: ignore[arg-type]

    def _charge(
        self,
        org: str,
        account: int,
        period: int,
        service: int,
        values: dict[str, Any],
        file: str,
        line: int,
    ) -> str | None:
        opening, charged = values["opening"], values["charged"]
        recalculation, paid = values["recalculation"], values["paid"]
        extras = self._extra_amounts(values)
        extra_sum = sum(amount for *_, amount in extras)
        computed = opening + charged + recalculation + extra_sum - paid
        closing = values["closing"]
        if closing is None:
            closing = computed
        elif closing != computed:
            added = "".join(
                f" {'+' if amount > 0 else '−'} {title.lower()}" for _, title, amount in extras
            )
            return (
                f"сальдо на конец {_rub(closing)} ≠ сальдо на начало + начислено + перерасчет"
                f"{added} − оплачено = {_rub(computed)}"
            )
        note = self._recalc_note(period, recalculation, values)
        if isinstance(note, str):
            return note
        key = (account, period, service)
        if self._has_charge(account, period, service):
            return "начисление повторяется: тот же лицевой счет, период и услуга уже были выше"
        self._add_charge(
            account, period, service, values["tariff"], values["volume"],
            opening, charged, recalculation, paid, closing - extra_sum,
        )  # fmt: skip
        if note is not None:
            self.recalc_notes[key] = note
        for kind, title, amount in extras:
            self._add_extra(org, account, period, kind, title, amount, (file, line))
        return None

    @staticmethod
    def _extra_amounts(values: dict[str, Any]) -> list[tuple[LineKind, str, int]]:
        """The row's non-zero пени, льгота, субсидия: (kind, line title, signed kopecks).
        «Льгота» and «Субсидия» reduce the bill whichever sign the export gives them."""
        if not (values.get("penalty") or values.get("benefit") or values.get("subsidy")):
            return []  # the common row: nothing to split off
        out = []
        for name, kind, title in EXTRA_LINES:
            amount = values.get(name) or 0
            if amount:
                out.append((kind, title, amount if kind == LineKind.PENALTY else -abs(amount)))
        return out

    @staticmethod
    def _recalc_note(
        period: int, recalculation: int, values: dict[str, Any]
    ) -> tuple[str, int | None, int | None] | str | None:
        """(reason, first month, last month) of the row's recalculation, None without one, or
        what is wrong."""
        reason = values.get("recalc_reason") or ""
        span = values.get("recalc_period")
        if not reason and span is None:
            return None
        if not recalculation:
            return "указаны причина или период перерасчета, а перерасчета в строке нет"
        if span is not None and span[1] > period:
            last = f"{span[1] % 100:02d}.{span[1] // 100}"
            return (
                f"период перерасчета ({last}) позже периода начислений "
                f"({period % 100:02d}.{period // 100}): перерасчет исправляет прошлые месяцы"
            )
        first, last = span if span is not None else (None, None)
        return reason, first, last

    def _add_extra(
        self,
        org: str,
        account: int,
        period: int,
        kind: LineKind,
        title: str,
        amount: int,
        where: tuple[str, int],
    ) -> None:
        """A «Пени»/«Льгота»/«Субсидия» amount, added to the account-period's line of that kind
        (one line however many service rows carry it)."""
        service = self._line_service(org, kind, title)
        key = (account, period, service)
        found = self._extras.get(key)
        if found is None:
            self._extras[key] = ([0, amount, 0, 0, amount], where)
        else:
            found[0][1] += amount
            found[0][4] += amount

    def _line_service(self, org: str, kind: LineKind, title: str) -> int:
        """The organization's service of a line kind: a known one with that name, or a new one
        (sorted after the services, no group)."""
        code = self.known.service_names.get((org, name_key(title)))
        if code is None:
            code = self._line_services.get((org, kind))
        if code is None:
            code = title.lower()
            self._line_services[(org, kind)] = code
            self.known.service_names[(org, name_key(title))] = code
            self.records["services"].append(
                {"org": org, "code": code, "name": title, "unit": "", "group_name": "",
                 "resource": "", "is_common": False, "sort_order": 10_000, "kind": str(kind)}
            )  # fmt: skip
        return self.known.add_service(org, code)

    def _flush_extras(self) -> None:
        """The table's summed extra lines into the spool; one that a row of the same service
        already gave is reported at the first row that added to it."""
        for key, (amounts, (file, line)) in self._extras.items():
            if self._has_charge(*key):
                self.problems.add(
                    file,
                    line,
                    "пени, льгота или субсидия указаны и отдельной строкой услуги, и в столбце: "
                    "оставьте что-то одно",
                )
                continue
            account, period, service = key
            self._add_charge(account, period, service, 0, 0, *amounts)
        self._extras.clear()

    # --- the flat registry: creates what a new account needs -----------------------------------

    def _registry(self, file: str, line: int, values: dict[str, Any]) -> str | None:
        org, problem = self._org(values)
        if org is None:
            return problem
        period = values["period"] or self.title_period
        if period is None:
            return (
                "не указан период: нет ни столбца «Период», ни месяца в заголовке "
                "(«… за март 2020 г.»)"
            )
        number = values["account"]
        account = self.known.accounts.get(org, {}).get(number)
        if account is None or (org, number) in self._registry_accounts:
            problem = self._registry_account(org, values, file, line)
            if problem:
                return problem
            account = self.known.add_account(org, number)
        service = self._registry_service(org, values)
        return self._charge(org, account, period, service, values, file, line)

    def _place(self, org: str, values: dict[str, Any]) -> tuple[str, str, v.Address | None]:
        """(house code, apartment, the parsed address when the house may be new); ValueError."""
        house, apartment, address = values["house"], values["apartment"], values["address"]
        if house and (org, house) in self.known.houses and apartment:
            return house, apartment, None
        parts = [address]
        if house:
            parts.append(f"д. {house}" if re.fullmatch(r"\d+\S*", house) else house)
        if apartment:
            parts.append(f"кв. {apartment}")
        text = ", ".join(part for part in parts if part)
        if not text:
            raise ValueError("нет адреса: нужны столбцы «Адрес» или «Дом» и «Кв.»")
        try:
            parsed = v.parse_address(text)
        except ValueError as error:
            raise ValueError(f"адрес «{text}»: {error}") from None
        if not parsed.apartment:
            raise ValueError(f"адрес «{text}»: нет номера квартиры")
        code = self.known.house_addresses.get((org, *parsed.house_key))
        if code is None:
            code = " ".join(parsed.house_key)[:64]
        return code, parsed.apartment, parsed

    def _registry_account(
        self, org: str, values: dict[str, Any], file: str, line: int
    ) -> str | None:
        """A new account (or a later row of one): its house and apartment, created if new."""
        number = values["account"]
        try:
            house, apartment, parsed = self._place(org, values)
        except ValueError as error:
            return f"новый лицевой счет «{number}»: {error}"
        first = self._registry_accounts.get((org, number))
        if first is not None:
            if first[:2] != (house, apartment):
                return f"лицевой счет «{number}» указан с другим адресом, чем в строке {first[3]}"
            return None
        self._registry_accounts[(org, number)] = (house, apartment, file, line)
        if (org, house) not in self.known.houses:
            assert parsed is not None
            self.known.houses.add((org, house))
            self.known.house_addresses[(org, *parsed.house_key)] = house
            self.records["houses"].append(
                {"org": org, "code": house, "address": parsed.house_address[:500],
                 "street": parsed.street[:300]}
            )  # fmt: skip
        if (org, house, apartment) not in self.known.apartments:
            self.known.apartments.add((org, house, apartment))
            record = {"org": org, "house": house, "number": apartment}
            if values["area"] is not None:
                record["area"] = values["area"]
            self.records["apartments"].append(record)
        self.records["accounts"].append(
            {"org": org, "number": number, "house": house, "apartment": apartment,
             "holder_name": values["holder_name"]}
        )  # fmt: skip
        return None

    def _registry_service(self, org: str, values: dict[str, Any]) -> int:
        """A service by its name (or code); a new name becomes a new service."""
        name = values["service"]
        key = name_key(name)
        codes = self.known.services.setdefault(org, {})
        code = self.known.service_names.get((org, key))
        if code is None and name in codes:
            code = name
        if code is None:
            code = name[:64]
            self.known.service_names[(org, key)] = code
            try:
                resource = v.service_resource(name)
            except ValueError:
                resource = ""
            common = bool(re.search(r"\b(?:одн|сои)\b", name.lower()))
            kind = kind_of_name(name)  # a registry's «Пени» row is the penalties' line
            self.records["services"].append(
                {"org": org, "code": code, "name": name, "unit": values["unit"],
                 "group_name": "" if kind else values["group_name"], "resource": resource,
                 "is_common": common, "sort_order": len(self.records["services"]),
                 "kind": str(kind)}
            )  # fmt: skip
        return self.known.add_service(org, code)

    def _has_charge(self, account: int, period: int, service: int) -> bool:
        return bool(self._charge_services.get(period << ACCOUNT_BITS | account, 0) >> service & 1)

    def _add_charge(self, account: int, period: int, service: int, *amounts: int) -> None:
        pair = period << ACCOUNT_BITS | account
        self._charge_services[pair] = self._charge_services.get(pair, 0) | 1 << service
        self.charges.add((account, period, service, *amounts))

    def _fast_charges(self, layout: Layout, width: int) -> Scan:
        """The charges file's scan: chunks of rows a column at a time (`columns`); a chunk that
        is not uniform row by row (`_charge_rows`), and a row that fails there carefully."""
        positions = [layout.positions.get(name) for name in FAST_CHARGE_COLUMNS]
        references = self._chunk_references(*positions[:4])
        amounts_at = positions[4:]
        spool = self.charges
        full = BATCH * spool.width
        one_by_one = self._charge_rows(layout, width)
        usable = None not in positions[1:4]

        def columnar(chunk: Chunk) -> int:
            """Add the chunk's rows; how many (fewer than all: a repeated charge, from there on
            row by row). Raises LookupError/ValueError/OverflowError, having added none."""
            count = chunk.count
            if not usable:
                raise LookupError
            table: Sequence[Sequence[str]]
            if chunk.cells is not None:  # plain lines of `width` cells: the columns are slices
                table = [chunk.cells[i::width] for i in range(width)]
            else:
                rows = chunk.rows()
                if len(set(map(len, rows))) != 1 or len(rows[0]) != width:
                    raise LookupError  # blank lines, short or long rows
                table = list(zip(*rows, strict=True))
            blank = ("",) * count
            tariff, volume, opening, charged, recalc, paid, end = (
                table[i] if i is not None else blank for i in amounts_at
            )
            account_ids, period_ids, service_ids = references(table)
            if "" in charged:
                raise ValueError  # «Начислено» is required
            amounts = _chunk_amounts(opening, charged, recalc, paid, end)
            tariffs, volumes = columns.quantity(tariff), columns.quantity(volume)
            flat = _interleave((account_ids, period_ids, service_ids, tariffs, volumes, *amounts))
            added = self._mark_charges(account_ids, period_ids, service_ids)
            if added < count:
                del flat[added * spool.width :]
            spool.buffer.extend(flat)
            if len(spool.buffer) >= full:
                spool.flush()
            return added

        def scan(source: Source, careful: Careful, tick: Callable[[], None]) -> int:
            count = 0
            for chunk in source.chunks(CHUNK_ROWS, width):
                try:
                    added = columnar(chunk)
                except (LookupError, ValueError, OverflowError):
                    added = 0
                count += added
                if added < chunk.count:
                    rows = chunk.rows()[added:]
                    count += one_by_one(rows, list(chunk.lines[added:]), careful)
                tick()
            return count

        return scan

    def _chunk_references(
        self, org_at: int | None, account_at: int, period_at: int, service_at: int
    ) -> Callable[[list[tuple[str, ...]]], tuple[list[int], ...]]:
        accounts, services, periods = self.known.accounts, self.known.services, self._periods
        defaults = (accounts.get(self.default_org, {}), services.get(self.default_org, {}))

        def references(table: list[tuple[str, ...]]) -> tuple[list[int], ...]:
            """The chunk's account, period and service indexes; LookupError/ValueError."""
            by_account, by_service = defaults
            if org_at is not None:
                (org,) = set(table[org_at])  # ValueError: several organizations in a chunk
                if org:
                    by_account, by_service = accounts[org], services[org]
            for text in set(table[period_at]):
                if text not in periods:
                    periods[text] = v.period(text)
            return (
                list(map(by_account.__getitem__, table[account_at])),
                list(map(periods.__getitem__, table[period_at])),
                list(map(by_service.__getitem__, table[service_at])),
            )

        return references

    def _mark_charges(self, accounts: list[int], periods: list[int], services: list[int]) -> int:
        """Note each row's service as charged for its account and period, in order, up to the
        first repeated charge; how many were noted (all: none repeated)."""
        pairs = self._charge_services
        seen_services = pairs.get
        keys = map(or_, map(lshift, periods, repeat(ACCOUNT_BITS)), accounts)
        bits = map(lshift, repeat(1), services)
        for index, (key, bit) in enumerate(zip(keys, bits, strict=False)):
            seen = seen_services(key, 0)
            if seen & bit:
                return index  # the careful path says where it was first
            pairs[key] = seen | bit
        return len(accounts)

    def _charge_rows(self, layout: Layout, width: int) -> Callable[..., int]:
        """Charge rows one at a time without per-column dispatch; a row that fails goes to
        the careful path (which says what is wrong)."""
        get = itemgetter(*(layout.positions.get(name, width) for name in FAST_CHARGE_COLUMNS))
        pad = any(name not in layout.positions for name in FAST_CHARGE_COLUMNS)
        accounts, services, periods = self.known.accounts, self.known.services, self._periods
        defaults = (accounts.get(self.default_org, {}), services.get(self.default_org, {}))
        spool = self.charges
        pairs = self._charge_services
        pair_services = pairs.get
        full = BATCH * spool.width
        money, qty, parse_period = v.fast_money, v.fast_quantity, v.period

        def loop(rows: list[list[str]], lines: list[int], careful: Careful) -> int:
            count = 0
            for row, line in zip(rows, lines, strict=True):
                count += 1
                try:
                    if len(row) != width:
                        raise IndexError
                    if pad:
                        row.append("")
                    org, acc, per, svc, tariff, volume, opening, charged, recalc, paid, end = get(
                        row
                    )
                    by_account, by_service = (accounts[org], services[org]) if org else defaults
                    account, service = by_account[acc], by_service[svc]
                    period = periods.get(per)
                    if period is None:
                        period = periods[per] = parse_period(per)
                    if not charged:
                        raise ValueError
                    o, c, r, p = money(opening), money(charged), money(recalc), money(paid)
                    total = o + c + r - p
                    if end and money(end) != total:
                        raise ValueError
                    tariff_q, volume_q = qty(tariff), qty(volume)
                    # last: nothing may fail once the service is marked
                    pair = period << ACCOUNT_BITS | account
                    seen = pair_services(pair, 0)
                    if seen >> service & 1:
                        raise ValueError  # a duplicate
                    pairs[pair] = seen | 1 << service
                    spool.buffer.extend(
                        (account, period, service, tariff_q, volume_q, o, c, r, p, total)
                    )
                    if len(spool.buffer) >= full:
                        spool.flush()
                except (KeyError, ValueError, IndexError, OverflowError):
                    count += careful(row, line) - 1  # the careful path says what is wrong
            return count

        return loop

    def _payments(self, file: str, line: int, values: dict[str, Any]) -> str | None:
        _, account, problem = self._account(values)
        if problem:
            return problem
        paid_on = values["date"]
        period = values["period"] or paid_on.year * 100 + paid_on.month
        self.payment_pairs.add((account, period))  # type: ignore[arg-type]
        charge_id = values.get("charge_id") or None
        self.payments.add((account, period, paid_on, values["amount"], values["source"], charge_id))
        return None

    def _readings(self, file: str, line: int, values: dict[str, Any]) -> str | None:
        org, _, problem = self._account(values)
        if problem:
            return problem
        number, code, serial = values["account"], values.get("meter"), values["serial"]
        if not code:
            code = self.known.meter_serials.get((org, number, serial))  # type: ignore[arg-type]
        meter = self.known.meters.get((org, number, code))  # type: ignore[arg-type]
        if meter is None:
            what = f"с кодом «{values['meter']}»" if values.get("meter") else f"№ {serial}"
            return f"счетчика {what} у лицевого счета «{number}» нет"
        period = values["period"] or self.title_period
        if period is None and values["date"] is not None:
            period = values["date"].year * 100 + values["date"].month
        if period is None:
            return "не указан период: нет ни столбца «Период», ни даты, ни месяца в заголовке"
        key = (meter, period)
        if key in self._reading_keys:
            return "показание повторяется: тот же счетчик и период уже были выше"
        self._reading_keys.add(key)
        self.readings.add((meter, period, values["value"], values["date"], values["source"]))
        return None
