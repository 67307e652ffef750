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
import tempfile
from array import array
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from operator import itemgetter
from pathlib import Path
from typing import Any

from storage.importer import values as v
from storage.importer.bulk import BATCH
from storage.importer.formats import KINDS, REQUIRED, Layout, recognize
from storage.importer.readers import ReadError, Source, open_source

MAX_PROBLEMS = 100_000
PROGRESS_EVERY = 4096


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
    # org code → {number → index into account_keys}
    accounts: dict[str, dict[str, int]] = field(default_factory=dict)
    account_keys: list[tuple[str, str]] = field(default_factory=list)
    services: dict[str, dict[str, int]] = field(default_factory=dict)
    service_keys: list[tuple[str, str]] = field(default_factory=list)
    meters: dict[tuple[str, str, str], int] = field(default_factory=dict)
    meter_keys: list[tuple[str, str, str]] = field(default_factory=list)

    def add_org(self, code: str) -> None:
        self.orgs.add(code)
        self.accounts.setdefault(code, {})
        self.services.setdefault(code, {})

    def add_account(self, org: str, number: str) -> int:
        numbers = self.accounts.setdefault(org, {})
        index = numbers.get(number)
        if index is None:
            index = numbers[number] = len(self.account_keys)
            self.account_keys.append((org, number))
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


@dataclass
class FileInfo:
    path: Path
    name: str
    kind: str
    rows: int
    description: str
    ignored: list[str]


class Plan:
    """Everything the load needs, or the problems that stop it."""

    def __init__(self) -> None:
        self.known = Known()
        self.problems = Problems()
        self.files: list[FileInfo] = []
        self.records: dict[str, list[dict[str, Any]]] = {k.name: [] for k in KINDS}
        self.charges = IntSpool(10)
        self.charge_pairs: set[tuple[int, int]] = set()  # (account index, period) replaced
        self.payments = Spool()
        self.payment_pairs: set[tuple[int, int]] = set()
        self.readings = Spool()
        self._first_seen: dict[tuple, tuple[str, int]] = {}
        self._charge_keys: set[int] = set()
        self._reading_keys: set[tuple[int, int]] = set()
        self._periods: dict[str, int] = {}
        self.default_org: str | None = None

    @property
    def rows(self) -> int:
        return sum(f.rows for f in self.files)

    @property
    def charge_periods(self) -> list[int]:
        return sorted({period for _, period in self.charge_pairs})

    def close(self) -> None:
        for spool in (self.charges, self.payments, self.readings):
            spool.close()

    # --- pass one ---------------------------------------------------------------------------

    def open(self, paths: list[Path]) -> list[tuple[Source, Layout]]:
        """Open every file and recognize its kind; the files in loading order."""
        opened: list[tuple[Source, Layout]] = []
        for path in paths:
            name = str(path)
            try:
                source = open_source(path)
            except ReadError as error:
                self.problems.add(name, 0, str(error))
                continue
            except OSError as error:
                self.problems.add(name, 0, f"cannot open: {error.strerror or error}")
                continue
            if not source.header:
                self.problems.add(name, 0, "the file is empty")
                source.close()
                continue
            layout, problems = recognize(path, source.header)
            if layout is None:
                for problem in problems:
                    self.problems.add(name, source.header_line, problem)
                source.close()
                continue
            opened.append((source, layout))
        order = {kind.name: i for i, kind in enumerate(KINDS)}
        opened.sort(key=lambda item: order[item[1].kind.name])
        return opened

    def scan(self, opened: list[tuple[Source, Layout]], progress: Progress) -> None:
        for source, layout in opened:
            try:
                self._scan_file(source, layout, progress)
            except ReadError as error:
                self.problems.add(str(source.path), 0, str(error))
            finally:
                source.close()
                progress.finish()

    def _scan_file(self, source: Source, layout: Layout, progress: Progress) -> None:
        kind = layout.kind
        name = str(source.path)
        info = FileInfo(source.path, name, kind.name, 0, source.description, layout.ignored)
        self.files.append(info)
        if kind.name != "organizations":
            self.default_org = next(iter(self.known.orgs)) if len(self.known.orgs) == 1 else None
            if "org" not in layout.positions and self.default_org is None:
                count = len(self.known.orgs)
                self.problems.add(
                    name,
                    source.header_line,
                    f"no 'org' column, and there are {count} organizations: add the column",
                )
                return
        progress.start(f"check {source.path.name}", source.size or None, source.unit)
        handler: Callable[[str, int, dict[str, Any]], str | None] = getattr(self, f"_{kind.name}")
        columns = [
            (layout.positions[c.name], c) for c in kind.columns if c.name in layout.positions
        ]
        width = len(source.header)
        line_of = source.line
        # Charges, payments and readings get the defaults of absent columns; reference records
        # keep only the columns the file has, so that an update leaves the others alone.
        absent = {}
        if kind.name in ("charges", "payments", "readings"):
            absent = {c.name: c.default for c in kind.columns if c.name not in layout.positions}

        def careful(row: list[str]) -> int:
            """Parse one row column by column and report what is wrong; 1 if it is a row."""
            line = line_of()
            if not any(cell.strip() for cell in row):
                return 0  # blank lines are not rows
            if len(row) > width and any(cell.strip() for cell in row[width:]):
                self.problems.add(name, line, f"{len(row) - width} more cells than the header has")
                return 1
            values: dict[str, Any] = dict(absent)
            reasons = []
            for index, column in columns:
                raw = row[index].strip() if index < len(row) else ""
                if not raw:
                    if column.default is REQUIRED:
                        reasons.append(f"{column.name}: empty")
                    else:
                        values[column.name] = column.default
                    continue
                try:
                    values[column.name] = column.parse(raw)
                except ValueError as error:
                    reasons.append(f"{column.name} {raw!r}: {error}")
            if not reasons:
                reason = handler(name, line, values)
                if reason:
                    reasons.append(reason)
            if reasons:
                self.problems.add(name, line, "; ".join(reasons))
            return 1

        reported = source.position()

        def tick() -> None:
            nonlocal reported
            position = source.position()
            progress.advance(position - reported)
            reported = position

        try:
            if kind.name == "charges":
                info.rows = self._fast_charges(layout, width)(source.cells(), careful, tick)
            else:
                for seen, row in enumerate(source.cells(), start=1):
                    info.rows += careful(row)
                    if seen % PROGRESS_EVERY == 0:
                        tick()
        except UnicodeDecodeError:
            raise ReadError(
                f"line {source.line() + 1}: not valid text in the detected encoding "
                "(save the file as UTF-8 or cp1251)"
            ) from None
        except csv.Error as error:
            raise ReadError(f"line {source.line()}: {error}") from None
        tick()

    # --- references ---------------------------------------------------------------------------

    def _org(self, values: dict[str, Any]) -> tuple[str | None, str | None]:
        """(org code, problem)."""
        org = values.get("org") or self.default_org
        if org is None:
            return None, "org: empty, and there are several organizations"
        if org not in self.known.orgs:
            return None, f"unknown organization {org!r}"
        return org, None

    def _account(self, values: dict[str, Any]) -> tuple[str | None, int | None, str | None]:
        org, problem = self._org(values)
        if org is None:
            return None, None, problem
        index = self.known.accounts.get(org, {}).get(values["account"])
        if index is None:
            return org, None, f"unknown account {values['account']!r} (organization {org!r})"
        return org, index, None

    def _duplicate(self, kind: str, key: tuple, file: str, line: int, what: str) -> str | None:
        first = self._first_seen.setdefault((kind, *key), (file, line))
        if first != (file, line):
            where = f"line {first[1]}" if first[0] == file else f"{first[0]}:{first[1]}"
            return f"duplicate {what}: already at {where}"
        return None

    # --- one handler per kind: the row's cross checks; the reason it's bad, or None -----------

    def _organizations(self, file: str, line: int, values: dict[str, Any]) -> str | None:
        code = values["code"]
        duplicate = self._duplicate("org", (code,), file, line, f"organization {code!r}")
        if duplicate:
            return duplicate
        if values.get("readings_day_from", 1) > values.get("readings_day_to", 31):
            return "readings_day_from is after readings_day_to"
        self.known.add_org(code)
        self.records["organizations"].append(values)
        return None

    def _houses(self, file: str, line: int, values: dict[str, Any]) -> str | None:
        org, problem = self._org(values)
        if org is None:
            return problem
        key = (org, values["code"])
        duplicate = self._duplicate("house", key, file, line, f"house {values['code']!r}")
        if duplicate:
            return duplicate
        values["org"] = org
        self.known.houses.add(key)
        self.records["houses"].append(values)
        return None

    def _apartments(self, file: str, line: int, values: dict[str, Any]) -> str | None:
        org, problem = self._org(values)
        if org is None:
            return problem
        if (org, values["house"]) not in self.known.houses:
            return f"unknown house {values['house']!r} (organization {org!r})"
        key = (org, values["house"], values["number"])
        what = f"apartment {values['number']!r} of house {values['house']!r}"
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
            return f"unknown apartment {values['apartment']!r} of house {values['house']!r}"
        key = (org, values["number"])
        duplicate = self._duplicate("account", key, file, line, f"account {values['number']!r}")
        if duplicate:
            return duplicate
        values["org"] = org
        self.known.add_account(org, values["number"])
        self.records["accounts"].append(values)
        return None

    def _services(self, file: str, line: int, values: dict[str, Any]) -> str | None:
        org, problem = self._org(values)
        if org is None:
            return problem
        key = (org, values["code"])
        duplicate = self._duplicate("service", key, file, line, f"service {values['code']!r}")
        if duplicate:
            return duplicate
        values["org"] = org
        self.known.add_service(org, values["code"])
        self.records["services"].append(values)
        return None

    def _meters(self, file: str, line: int, values: dict[str, Any]) -> str | None:
        org, _, problem = self._account(values)
        if problem:
            return problem
        key = (org, values["account"], values["code"])
        what = f"meter {values['code']!r} of account {values['account']!r}"
        duplicate = self._duplicate("meter", key, file, line, what)
        if duplicate:
            return duplicate
        values["org"] = org
        self.known.add_meter(key)  # type: ignore[arg-type]
        self.records["meters"].append(values)
        return None

    def _charges(self, file: str, line: int, values: dict[str, Any]) -> str | None:
        org, account, problem = self._account(values)
        if problem:
            return problem
        service = self.known.services.get(org, {}).get(values["service"])  # type: ignore[arg-type]
        if service is None:
            return f"unknown service {values['service']!r} (organization {org!r})"
        opening, charged = values["opening"], values["charged"]
        recalculation, paid = values["recalculation"], values["paid"]
        computed = opening + charged + recalculation - paid
        closing = values["closing"]
        if closing is None:
            closing = computed
        elif closing != computed:
            return (
                f"closing {closing / 100:.2f} ≠ opening + charged + recalculation − paid "
                f"= {computed / 100:.2f}"
            )
        period = values["period"]
        if (account << 40) | (period << 20) | service in self._charge_keys:  # type: ignore[operator]
            return "duplicate charge: the same account, period and service are on an earlier row"
        self._add_charge(
            account, period, service, values["tariff"], values["volume"],  # type: ignore[arg-type]
            opening, charged, recalculation, paid, closing,
        )  # fmt: skip
        return None

    def _add_charge(self, account: int, period: int, service: int, *amounts: int) -> None:
        self._charge_keys.add((account << 40) | (period << 20) | service)
        self.charge_pairs.add((account, period))
        self.charges.add((account, period, service, *amounts))

    def _fast_charges(self, layout: Layout, width: int) -> Callable[..., int]:
        """The common well-formed charge row without per-column dispatch; raises otherwise."""
        names = (
            "org", "account", "period", "service", "tariff", "volume",
            "opening", "charged", "recalculation", "paid", "closing",
        )  # fmt: skip
        get = itemgetter(*(layout.positions.get(name, width) for name in names))
        pad = any(name not in layout.positions for name in names)
        accounts, services, periods = self.known.accounts, self.known.services, self._periods
        default = self.default_org
        default_accounts = accounts.get(default, {}) if default else {}
        default_services = services.get(default, {}) if default else {}
        keys, spool = self._charge_keys, self.charges
        keys_add, pairs_add = keys.add, self.charge_pairs.add
        full = BATCH * spool.width
        money, qty, parse_period = v.fast_money, v.fast_quantity, v.period

        def loop(
            rows: Iterator[list[str]], careful: Callable[[list[str]], int], tick: Callable[[], None]
        ) -> int:
            count = 0
            buffer = spool.buffer
            extend = buffer.extend
            last_account = last_period = -1
            for row in rows:
                count += 1
                if not count % PROGRESS_EVERY:
                    tick()
                try:
                    if len(row) != width:
                        raise IndexError
                    if pad:
                        row.append("")
                    org, acc, per, svc, tariff, volume, opening, charged, recalc, paid, closing = (
                        get(row)
                    )
                    if org:
                        account = accounts[org][acc]
                        service = services[org][svc]
                    else:
                        account = default_accounts[acc]
                        service = default_services[svc]
                    period = periods.get(per)
                    if period is None:
                        period = periods[per] = parse_period(per)
                    if not charged:
                        raise ValueError
                    o, c, r, p = money(opening), money(charged), money(recalc), money(paid)
                    total = o + c + r - p
                    if closing and money(closing) != total:
                        raise ValueError
                    tariff_q, volume_q = qty(tariff), qty(volume)
                    # last: nothing may fail once the key is in the set
                    known = len(keys)
                    keys_add((account << 40) | (period << 20) | service)
                    if len(keys) == known:
                        raise ValueError  # a duplicate
                    extend((account, period, service, tariff_q, volume_q, o, c, r, p, total))
                    if account != last_account or period != last_period:
                        pairs_add((account, period))  # a set: repeats are harmless, just slower
                        last_account, last_period = account, period
                    if len(buffer) >= full:
                        spool.flush()
                        buffer = spool.buffer
                        extend = buffer.extend
                except (KeyError, ValueError, IndexError, OverflowError):
                    count += careful(row) - 1  # the careful path says what is wrong
                    buffer = spool.buffer  # it may have flushed
                    extend = buffer.extend
            return count

        return loop

    def _payments(self, file: str, line: int, values: dict[str, Any]) -> str | None:
        _, account, problem = self._account(values)
        if problem:
            return problem
        paid_on = values["date"]
        period = values["period"] or paid_on.year * 100 + paid_on.month
        self.payment_pairs.add((account, period))  # type: ignore[arg-type]
        self.payments.add((account, period, paid_on, values["amount"], values["source"]))
        return None

    def _readings(self, file: str, line: int, values: dict[str, Any]) -> str | None:
        org, _, problem = self._account(values)
        if problem:
            return problem
        meter = self.known.meters.get((org, values["account"], values["meter"]))  # type: ignore[arg-type]
        if meter is None:
            return f"unknown meter {values['meter']!r} of account {values['account']!r}"
        key = (meter, values["period"])
        if key in self._reading_keys:
            return "duplicate reading: the same meter and period are on an earlier row"
        self._reading_keys.add(key)
        self.readings.add(
            (meter, values["period"], values["value"], values["date"], values["source"])
        )
        return None
