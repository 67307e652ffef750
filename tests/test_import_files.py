"""Files as billing systems export them: a table of malformed and real-looking files.

Every case is written here (text in various encodings, XLSX with openpyxl, ZIP with zipfile) and
imported into a database holding a small base set. Each is either refused — every expected
`file:line: reason` reported and nothing applied — or imported with exactly the right rows. No
case may end in a traceback or take more than seconds (pytest-timeout per case).
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal as D
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from storage.demo import (
    GOLDEN_GROUP,
    GOLDEN_HOLDER,
    GOLDEN_LINES,
    GOLDEN_NUMBER,
    GOLDEN_PAYMENT,
    GOLDEN_PERIOD,
    GOLDEN_TOTALS,
    add_golden_account,
    demo_organization,
)
from storage.importer import ImportFailed, import_files
from storage.models import (
    Account,
    Apartment,
    Charge,
    House,
    ImportRun,
    Meter,
    Payment,
    Reading,
    Service,
)
from storage.repo import billing, versions
from tests.test_import import run_cli

ROOT = Path(__file__).resolve().parent.parent
NBSP = "\u00a0"

BASE = {
    "organizations.csv": "code;name;timezone\ndek;АО ДЭК;Asia/Vladivostok\n",
    "houses.csv": "code;address;street\nh1;г. Хабаровск, ул. Ленина, д. 1;ул. Ленина\n",
    "apartments.csv": "house;number;area\nh1;1;33.10\nh1;2;45.00\n",
    "accounts.csv": "account;house;apartment;holder\n00000001;h1;1;Иванов И. И.\n"
    "00000002;h1;2;Петров П. П.\n",
    "services.csv": "code;name;unit;group\nhvs;ХВС;куб.м;Водоснабжение\n"
    "heating;Отопление;Гкал;Теплоснабжение\n",
    "meters.csv": "account;code;resource;serial\n00000001;hvs1;cold_water;ХВ-100\n",
}

TITLE = "Оборотно-сальдовая ведомость за март 2020 г."
REGISTRY_HEADER = (
    "№ л/с;ФИО;Адрес;Услуга;Ед. изм.;Тариф;Объём;Сальдо на начало;Начислено;Перерасчёт;"
    "Оплачено;Сальдо на конец"
)
REGISTRY_ROWS = [
    "00000001;Иванов И. И.;г. Хабаровск, ул. Ленина, д. 1, кв. 1;ХВС;куб.м;32,86;5;0,00;"
    "164,30;-;0,00;164,30",
    "00000001;Иванов И. И.;г. Хабаровск, ул. Ленина, д. 1, кв. 1;Отопление;Гкал;2 756,37;"
    "0,7348;100,00;2 025,38;-;100,00;2 025,38",
    "00000002;Петров П. П.;г. Хабаровск, ул. Ленина, д. 1, кв. 2;ХВС;куб.м;32,86;3;10,00;"
    "98,58;-1,00;10,00;97,58",
]
TOTAL_ROW = "Итого;;;;;;;110,00;2 288,26;-1,00;110,00;2 287,26"
# what the registry above loads: (account, period, service, opening, charged, recalc, paid, closing)
REGISTRY_CHARGES = [
    ("00000001", 202003, "ХВС", "0.00", "164.30", "0.00", "0.00", "164.30"),
    ("00000001", 202003, "Отопление", "100.00", "2025.38", "0.00", "100.00", "2025.38"),
    ("00000002", 202003, "ХВС", "10.00", "98.58", "-1.00", "10.00", "97.58"),
]


def registry_text(sep: str = ";", rows: list[str] | None = None, title: bool = True) -> str:
    lines = ([TITLE, ""] if title else []) + [REGISTRY_HEADER, *(rows or REGISTRY_ROWS)]
    lines.append(TOTAL_ROW)
    return "\r\n".join(line.replace(";", sep) for line in lines) + "\r\n"


# --- what the database holds --------------------------------------------------------------------


async def snapshot(engine: AsyncEngine) -> dict[str, list[tuple]]:
    async with AsyncSession(engine) as s:
        charges = await s.execute(
            select(Account.number, Charge.period, Service.name, Charge.opening, Charge.charged,
                   Charge.recalculation, Charge.paid, Charge.closing)
            .join(Account, Charge.account_id == Account.id)
            .join(Service, Charge.service_id == Service.id)
            .where(versions.visible(Charge))
        )  # fmt: skip
        payments = await s.execute(
            select(Account.number, Payment.period, Payment.paid_on, Payment.amount, Payment.source)
            .join(Account, Payment.account_id == Account.id)
            .where(versions.visible(Payment, versions.PAYMENTS))
        )  # fmt: skip
        readings = await s.execute(
            select(Account.number, Meter.code, Reading.period, Reading.value, Reading.taken_on)
            .join(Meter, Reading.meter_id == Meter.id)
            .join(Account, Meter.account_id == Account.id)
        )  # fmt: skip
        accounts = await s.execute(
            select(Account.number, House.address, Apartment.number, Account.holder_name)
            .join(Apartment, Account.apartment_id == Apartment.id)
            .join(House, Apartment.house_id == House.id)
        )  # fmt: skip
        services = await s.execute(select(Service.name, Service.unit, Service.group_name))
        houses = await s.execute(select(House.code, House.address, House.street))
        runs = await s.scalar(select(func.count()).select_from(ImportRun))
    return {
        "charges": sorted(
            (a, p.year * 100 + p.month, n, *(f"{x:.2f}" for x in rest))
            for a, p, n, *rest in charges.all()
        ),
        "payments": sorted(
            (a, p.year * 100 + p.month, d.isoformat(), f"{x:.2f}", src)
            for a, p, d, x, src in payments.all()
        ),
        "readings": sorted(
            (a, m, p.year * 100 + p.month, f"{x.normalize():f}", d.isoformat() if d else None)
            for a, m, p, x, d in readings.all()
        ),
        "accounts": sorted(tuple(row) for row in accounts.all()),
        "services": sorted(tuple(row) for row in services.all()),
        "houses": sorted(tuple(row) for row in houses.all()),
        "runs": [runs],
    }


# --- the cases ---------------------------------------------------------------------------------


@dataclass
class Case:
    build: Callable[[Path], list[Path]]
    refused: list[str] = field(default_factory=list)  # "NAME:LINE: reason start", NAME relative
    changes: dict[str, list[tuple]] = field(default_factory=dict)  # tables after, exactly
    added: dict[str, list[tuple]] = field(default_factory=dict)  # rows added to the base's


def text(name: str, content: str, encoding: str = "utf-8") -> Callable[[Path], list[Path]]:
    def build(d: Path) -> list[Path]:
        path = d / name
        path.write_bytes(content.encode(encoding))
        return [path]

    return build


def raw(name: str, content: bytes) -> Callable[[Path], list[Path]]:
    def build(d: Path) -> list[Path]:
        path = d / name
        path.write_bytes(content)
        return [path]

    return build


def book(name: str, sheets: dict[str, list[list[object]]], merges=(), fix=None):  # type: ignore[no-untyped-def]
    def build(d: Path) -> list[Path]:
        workbook = openpyxl.Workbook()
        workbook.remove(workbook.active)
        for title, rows in sheets.items():
            sheet = workbook.create_sheet(title)
            for row in rows:
                sheet.append(row)
            for merge in merges:
                sheet.merge_cells(merge)
        path = d / name
        workbook.save(path)
        if fix is not None:
            fix(path)
        return [path]

    return build


def rezip(path: Path, change: Callable[[str, bytes], bytes]) -> None:
    """Rewrite every member of an XLSX through `change` (to forge what Excel never writes)."""
    members = []
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            members.append((info.filename, change(info.filename, archive.read(info))))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members:
            archive.writestr(name, data)


def dimension(ref: str) -> Callable[[Path], None]:
    def fix(path: Path) -> None:
        def change(name: str, data: bytes) -> bytes:
            if name.startswith("xl/worksheets/sheet"):
                return re.sub(
                    rb'<dimension ref="[^"]*"/>', f'<dimension ref="{ref}"/>'.encode(), data
                )
            return data

        rezip(path, change)

    return fix


def archive(name: str, members: dict[str, bytes]) -> Callable[[Path], list[Path]]:
    def build(d: Path) -> list[Path]:
        path = d / name
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
            for member, data in members.items():
                out.writestr(member, data)
        return [path]

    return build


def damaged_zip(path: Path) -> Path:
    """A stored member whose bytes no longer match its checksum."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as out:
        out.writestr("p.csv", PAYMENTS.encode())
    data = bytearray(path.read_bytes())
    data[data.index(b"00000001")] ^= 1
    path.write_bytes(bytes(data))
    return path


def xlsx_bytes(rows: list[list[object]]) -> bytes:
    workbook = openpyxl.Workbook()
    for row in rows:
        workbook.active.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def cells(line: str) -> list[object]:
    """A registry line as spreadsheet cells: amounts as numbers, as Excel keeps them."""
    out: list[object] = []
    for cell in line.split(";"):
        plain = cell.replace(" ", "").replace(",", ".")
        out.append(float(plain) if re.fullmatch(r"-?\d+\.\d+", plain) else cell)
    return out


def closing_after_opening(line: str) -> list[object]:
    """The registry's cells in the order of a header with «Сальдо» over two columns."""
    row = cells(line)
    return [*row[:8], row[11], *row[8:11]]


PAYMENTS_TITLE = "Реестр платежей за март 2020 г."
PAYMENTS = "Лицевой счет;Дата;Сумма;Источник\n00000001;22.03.2020;2 125,38;Сбербанк\n"
PAYMENT_ROW = ("00000001", 202003, "2020-03-22", "2125.38", "Сбербанк")
NEW_HOUSE = "г. Хабаровск, ул. Ленина, д. 1"
ACCOUNTS_AFTER = [
    ("00000001", NEW_HOUSE, "1", "Иванов И. И."),
    ("00000002", NEW_HOUSE, "2", "Петров П. П."),
]


NEW_CHARGE = ("00000009", 202003, "ХВС", "0.00", "10.00", "0.00", "0.00", "10.00")


def new_account(address: str, house: str = "", apartment: str = "") -> str:
    header = "Л/С;Адрес;Дом;Кв.;ФИО;Услуга;Начислено;Период"
    return f"{header}\n00000009;{address};{house};{apartment};Сидоров С. С.;ХВС;10,00;03.2020\n"


CASES: dict[str, Case] = {
    # --- encodings ---
    "registry-cp1251-title-total": Case(
        text("ведомость.csv", registry_text(), "cp1251"), changes={"charges": REGISTRY_CHARGES}
    ),
    "registry-utf8": Case(text("r.csv", registry_text()), changes={"charges": REGISTRY_CHARGES}),
    "registry-utf8-bom": Case(
        text("r.csv", registry_text(), "utf-8-sig"), changes={"charges": REGISTRY_CHARGES}
    ),
    "registry-utf16-unicode-text-tabs": Case(
        text("r.txt", registry_text("\t"), "utf-16"), changes={"charges": REGISTRY_CHARGES}
    ),
    "registry-cp866": Case(text("r.csv", registry_text(), "cp866"), changes={"charges": REGISTRY_CHARGES}),
    "registry-koi8r": Case(
        text("r.csv", registry_text().replace("№ л/с", "Л/С"), "koi8_r"), changes={"charges": REGISTRY_CHARGES}
    ),
    "registry-comma-separated": Case(
        text("r.csv", registry_text(",").replace("2 756,37", '"2 756,37"'), "cp1251"),
        refused=[],  # decimal commas in a comma-separated file must be quoted: see below
    ),
    "utf8-with-one-cp1251-line": Case(
        raw(
            "mixed.csv",
            registry_text().encode("utf-8").replace(
                "Петров П. П.".encode(), "Петров П. П.".encode("cp1251")
            ),
        ),
        refused=["mixed.csv:6: строка не в кодировке файла (UTF-8)"],
    ),
    "cp1251-letters-only-after-a-megabyte-of-ascii": Case(
        text(
            "late.csv",
            "account;date;amount;source\n" + "00000002;01.03.2020;1;x\n" * 45_000
            + "00000001;22.03.2020;2 125,38;Сбербанк\n",
            "cp1251",
        ),
        changes={
            "payments": [PAYMENT_ROW] + [("00000002", 202003, "2020-03-01", "1.00", "x")] * 45_000
        },
    ),
    "nul-byte": Case(
        raw("nul.csv", PAYMENTS.encode() + b"00000002;23.03.2020;1\x00;x\n"),
        refused=["nul.csv:3: «Сумма» = «1"],
    ),
    # --- the header decides the kind ---
    "accounts-named-like-apartments": Case(
        text("accounts_for_apartments.csv", "account;house;apartment;holder\n00000003;h1;2;Новый Н. Н.\n"),
        added={"accounts": [("00000003", NEW_HOUSE, "2", "Новый Н. Н.")]},
    ),
    "accounts-with-unknown-apartment": Case(
        text("accounts.csv", "account;house;apartment;holder\n00000003;h1;77;Новый Н. Н.\n"),
        refused=["accounts.csv:2: помещения «77» в доме «h1» нет"],
    ),
    "charges-named-orgs": Case(
        text("orgs_charges.csv", "account;period;service;charged\n00000001;2020-03;hvs;5,00\n"),
        changes={"charges": [("00000001", 202003, "ХВС", "0.00", "5.00", "0.00", "0.00", "5.00")]},
    ),
    "header-fits-nothing": Case(
        text("x.csv", "Лицевой счет;Улица;Показатель\n1;2;3\n"),
        refused=["x.csv:1: не понятно, что в таблице: найдены столбцы «Лицевой счет», «Улица», «Показатель»; ближе всего:"],
    ),
    "header-ambiguous": Case(
        text("x.csv", "code;name\nz;Z\n"),
        refused=["x.csv:1: по заголовку («code», «name») подходят сразу «организации» и «услуги»"],
    ),
    "header-only": Case(
        text("h.csv", REGISTRY_HEADER + "\n"),
        refused=["h.csv:1: в таблице нет ни одной строки данных, только заголовок"],
    ),
    "title-header-and-total-only": Case(
        text("h.csv", f"{TITLE}\n{REGISTRY_HEADER}\n{TOTAL_ROW}\n"),
        refused=["h.csv:2: в таблице нет ни одной строки данных"],
    ),
    "empty-file": Case(text("e.csv", ""), refused=["e.csv: файл пуст"]),
    "blank-lines-only": Case(text("e.csv", "\n;;;\n\n"), refused=["e.csv: файл пуст"]),
    "more-cells-than-header": Case(
        text("p.csv", PAYMENTS + "00000001;23.03.2020;1,00;касса;лишнее\n"),
        refused=["p.csv:3: в строке на 1 ячеек больше, чем в заголовке"],
    ),
    # --- the flat registry: accounts, addresses, services ---
    "new-account-in-known-house": Case(
        text("r.csv", new_account("ул. Ленина, д. 1, кв. 5")),
        added={"charges": [NEW_CHARGE], "accounts": [("00000009", NEW_HOUSE, "5", "Сидоров С. С.")]},
    ),
    "new-account-dash-form-new-house": Case(
        text("r.csv", new_account("Ленина 7-3")),
        added={
            "charges": [NEW_CHARGE],
            "accounts": [("00000009", "Ленина, д. 7", "3", "Сидоров С. С.")],
            "houses": [("ленина 7", "Ленина, д. 7", "Ленина")],
        },
    ),
    "new-account-compact-form": Case(
        text("r.csv", new_account("Ленина д.9 кв.2")),
        added={"charges": [NEW_CHARGE], "accounts": [("00000009", "Ленина д.9", "2", "Сидоров С. С.")]},
    ),
    "new-account-house-and-apartment-columns": Case(
        text("r.csv", new_account("", "h1", "2")),
        added={"charges": [NEW_CHARGE], "accounts": [("00000009", NEW_HOUSE, "2", "Сидоров С. С.")]},
    ),
    "new-account-street-in-address-numbers-in-columns": Case(
        text("r.csv", new_account("ул. Ленина", "1", "6")),
        added={"charges": [NEW_CHARGE], "accounts": [("00000009", NEW_HOUSE, "6", "Сидоров С. С.")]},
    ),
    "new-account-unparseable-address": Case(
        text("r.csv", new_account("Ленина")),
        refused=["r.csv:2: новый лицевой счет «00000009»: адрес «Ленина»: не удалось разобрать"],
    ),
    "new-account-without-apartment": Case(
        text("r.csv", new_account("ул. Ленина, д. 1")),
        refused=["r.csv:2: новый лицевой счет «00000009»: адрес «ул. Ленина, д. 1»: нет номера квартиры"],
    ),
    "known-account-odd-address": Case(
        text("r.csv", "Л/С;Адрес;Услуга;Начислено;Период\n00000001;где-то;ХВС;7,00;2020-03\n"),
        changes={"charges": [("00000001", 202003, "ХВС", "0.00", "7.00", "0.00", "0.00", "7.00")]},
    ),
    "new-account-two-addresses": Case(
        text(
            "r.csv",
            "Л/С;Адрес;Услуга;Начислено;Период\n00000009;Ленина 1-5;ХВС;1;03.2020\n"
            "00000009;Ленина 1-6;Отопление;1;03.2020\n",
        ),
        refused=["r.csv:3: лицевой счет «00000009» указан с другим адресом, чем в строке 2"],
    ),
    "registry-without-period": Case(
        text("r.csv", registry_text(title=False)),
        refused=[f"r.csv:{n}: не указан период" for n in (2, 3, 4)],
    ),
    "registry-closing-mismatch": Case(
        text("r.csv", registry_text(rows=[REGISTRY_ROWS[0].replace("164,30", "164,31", 1)])),
        refused=["r.csv:4: сальдо на конец 164,30 ≠ сальдо на начало + начислено + перерасчет − оплачено = 164,31"],
    ),
    "registry-synonyms-new-service": Case(
        text(
            "r.csv",
            "ЛС;Плательщик;Адрес;Группа;Услуга;Долг на начало;Начислено;Поступило;К оплате\n"
            "00000002;Петров;;Жилищные услуги;Содержание жилья;0;1 404,00;0;1 404,00\n"
            "00000002;Петров;;Водоснабжение;хвс;0;5,00;0;5,00\n"
            "Итого по дому;;;;;0;1 409,00;0;1 409,00\n",
        ),
        refused=["r.csv:2: не указан период"],
    ),
    "registry-synonyms-title-period": Case(
        text(
            "r.csv",
            "Начисления за Февраль 2020 года\n"
            "ЛС;Плательщик;Адрес;Группа;Услуга;Долг на начало;Начислено;Поступило;К оплате\n"
            "00000002;Петров;;Жилищные услуги;Содержание жилья;0;1 404,00;0;1 404,00\n"
            "Итого по дому ул. Ленина, 1;;;;;0;1 404,00;0;1 404,00\n"
            "00000002;Петров;;Водоснабжение;хвс;0;5,00;0;5,00\n",
            "cp1251",
        ),
        changes={
            "charges": [
                ("00000002", 202002, "Содержание жилья", "0.00", "1404.00", "0.00", "0.00", "1404.00"),
                ("00000002", 202002, "ХВС", "0.00", "5.00", "0.00", "0.00", "5.00"),
            ]
        },
        added={"services": [("Содержание жилья", "", "Жилищные услуги")]},
    ),
    "new-account-without-address": Case(
        text("r.csv", "Л/С;Адрес;Услуга;Начислено;Период\nXYZ;;ХВС;1;03.2020\n"),
        refused=["r.csv:2: новый лицевой счет «XYZ»: нет адреса"],
    ),
    # --- flat payments and readings ---
    "payments-title-total-cp1251": Case(
        text("p.csv", f"{PAYMENTS_TITLE}\n{PAYMENTS}Итого;;2 125,38;\n", "cp1251"),
        changes={"payments": [PAYMENT_ROW]},
    ),
    "payments-excel-serial-dates-in-text": Case(
        text("p.csv", "Лицевой счет;Дата;Сумма\n00000001;43912;100\n"),
        changes={"payments": [("00000001", 202003, "2020-03-22", "100.00", "")]},
    ),
    "payments-unknown-account": Case(
        text("p.csv", "Лицевой счет;Дата;Сумма\n00000001;22.03.2020;1\n77777777;22.03.2020;1\n"),
        refused=["p.csv:3: лицевого счета «77777777» нет (организация «dek»)"],
    ),
    "readings-by-serial-month-of-date": Case(
        text("v.csv", "Лицевой счет;Заводской номер;Показание;Дата\n00000001;ХВ-100;123,5;21.03.2020\n"),
        changes={"readings": [("00000001", "hvs1", 202003, "123.5", "2020-03-21")]},
    ),
    "readings-title-period": Case(
        text("v.csv", "Показания за апрель 2020\nЛ/С;Счетчик;Показание\n00000001;hvs1;130\n", "cp1251"),
        changes={"readings": [("00000001", "hvs1", 202004, "130", None)]},
    ),
    "readings-unknown-meter": Case(
        text("v.csv", "Л/С;Счетчик;Показание;Период\n00000001;nope;1;2020-03\n"),
        refused=["v.csv:2: счетчика с кодом «nope» у лицевого счета «00000001» нет"],
    ),
    "readings-unknown-serial": Case(
        text("v.csv", "Л/С;Заводской номер;Показание;Период\n00000001;ХВ-999;1;2020-03\n"),
        refused=["v.csv:2: счетчика № ХВ-999 у лицевого счета «00000001» нет"],
    ),
    # --- XLSX ---
    "xlsx-registry-title-merged-header": Case(
        book(
            "ведомость.xlsx",
            {
                "Лист1": [
                    [TITLE],
                    ["№ л/с", "ФИО", "Адрес", "Услуга", "Ед. изм.", "Тариф", "Объём", "Сальдо",
                     None, "Начислено", "Перерасчёт", "Оплачено"],
                    [None, None, None, None, None, None, None, "на начало", "на конец"],
                    *map(closing_after_opening, REGISTRY_ROWS),
                    cells(TOTAL_ROW),
                ]
            },
            merges=("A1:L1", "H2:I2", "A2:A3", "B2:B3", "J2:J3"),
        ),
        changes={"charges": REGISTRY_CHARGES},
    ),
    "xlsx-two-sheets-and-an-empty-one": Case(
        book(
            "book.xlsx",
            {
                "Начисления": [[TITLE], REGISTRY_HEADER.split(";"), *map(cells, REGISTRY_ROWS)],
                "Пустой": [],
                "Оплаты": [["Лицевой счет", "Дата", "Сумма", "Источник"],
                           ["00000001", dt.date(2020, 3, 22), 2125.38, "Сбербанк"]],
            },
        ),
        changes={"charges": REGISTRY_CHARGES, "payments": [PAYMENT_ROW]},
    ),
    "xlsx-dimension-understated": Case(
        book(
            "d.xlsx",
            {"S": [[*REGISTRY_HEADER.split(";"), "Период"], *[[*cells(r), "03.2020"] for r in REGISTRY_ROWS]]},
            fix=dimension("A1:A1"),
        ),
        changes={"charges": REGISTRY_CHARGES},
    ),
    "xlsx-dimension-whole-sheet": Case(
        book(
            "d.xlsx",
            {"S": [[*REGISTRY_HEADER.split(";"), "Период"], *[[*cells(r), "03.2020"] for r in REGISTRY_ROWS]]},
            fix=dimension("A1:XFD1048576"),
        ),
        changes={"charges": REGISTRY_CHARGES},
    ),
    "xlsx-formula-without-value": Case(
        book(
            "f.xlsx",
            {"S": [["Лицевой счет", "Дата", "Сумма"], ["00000001", "22.03.2020", 1],
                   ["00000001", "23.03.2020", "=C2*2"]]},
        ),
        refused=["f.xlsx!S:3: ячейка C3 содержит формулу без значения: откройте файл в Excel и сохраните его"],
    ),
    "xlsx-dates-as-numbers": Case(
        book("n.xlsx", {"S": [["Лицевой счет", "Дата", "Сумма"], ["00000001", 43912, 100]]}),
        changes={"payments": [("00000001", 202003, "2020-03-22", "100.00", "")]},
    ),
    "xlsx-text-with-xlsx-name": Case(
        text("t.xlsx", PAYMENTS), refused=["t.xlsx: файл повреждён или это не книга Excel"]
    ),
    "xlsx-truncated": Case(
        lambda d: [
            (d / "cut.xlsx").write_bytes(xlsx_bytes([["a"]])[:700]) and d / "cut.xlsx"
        ],
        refused=["cut.xlsx: файл повреждён или не дописан"],
    ),
    "xls-97": Case(
        raw("old.xls", b"\xd0\xcf\x11\xe0" + b"\0" * 600),
        refused=["old.xls: формат XLS (Excel 97–2003) не читается"],
    ),
    "xlsx-all-sheets-empty": Case(
        book("empty.xlsx", {"A": [], "B": []}), refused=["empty.xlsx: в книге нет ни одной таблицы"]
    ),
    # --- ZIP ---
    "zip-of-registry-and-payments": Case(
        archive(
            "month.zip",
            {
                "март/ведомость.csv": registry_text().encode("cp1251"),
                "март/оплаты.csv": (PAYMENTS_TITLE + "\n" + PAYMENTS).encode("utf-8-sig"),
            },
        ),
        changes={"charges": REGISTRY_CHARGES, "payments": [PAYMENT_ROW]},
    ),
    "zip-member-errors-named": Case(
        archive("m.zip", {"a/p.csv": b"Lic;Date\n1;2\n", "b/e.csv": b""}),
        refused=["m.zip/a/p.csv:1: не понятно, что в таблице", "m.zip/b/e.csv: файл пуст"],
    ),
    "zip-bomb": Case(
        archive("bomb.zip", {"big.csv": b"0" * (64 << 20)}),
        refused=["bomb.zip: архив сжат подозрительно сильно"],
    ),
    "zip-traversal-names-stay-inside": Case(
        archive("t.zip", {"../../evil.csv": PAYMENTS.encode(), "/abs/x.xlsx": xlsx_bytes([["Лицевой счет", "Дата", "Сумма"], ["00000002", "01.03.2020", 5]])}),
        changes={
            "payments": [
                PAYMENT_ROW,
                ("00000002", 202003, "2020-03-01", "5.00", ""),
            ]
        },
    ),
    "zip-too-many-members": Case(
        archive("many.zip", {f"{i}.csv": PAYMENTS.encode() for i in range(201)}),
        refused=["many.zip: в архиве 201 файлов, допустимо не больше 200"],
    ),
    "zip-member-damaged": Case(
        lambda d: [damaged_zip(d / "bad.zip")],
        refused=["bad.zip/p.csv: файл в архиве повреждён"],
    ),
    "zip-nested": Case(
        archive("outer.zip", {"inner.zip": b"PK\x05\x06" + b"\0" * 18}),
        refused=["outer.zip/inner.zip: архив внутри архива"],
    ),
    "zip-truncated": Case(
        lambda d: [
            (d / "cut.zip").write_bytes(b"PK\x03\x04" + b"\0" * 40) and d / "cut.zip"
        ],
        refused=["cut.zip: файл повреждён или не дописан"],
    ),
    # --- our own multi-file format stays ---
    "own-format-charges-and-payments": Case(
        lambda d: [
            *text("c.csv", "account;period;service;opening;charged;paid;closing\n"
                  "00000001;2020-03;hvs;0;10,00;0;10,00\n")(d),
            *text("p.csv", "account;date;amount;period\n00000001;2020-03-05;10.00;2020-03\n")(d),
        ],
        changes={
            "charges": [("00000001", 202003, "ХВС", "0.00", "10.00", "0.00", "0.00", "10.00")],
            "payments": [("00000001", 202003, "2020-03-05", "10.00", "")],
        },
    ),
}  # fmt: skip
# --- пени, льготы, субсидии and the reasons of recalculations (issue 15) ---
MONEY_HEADER = (
    "Л/С;Услуга;Начислено;Перерасчёт;Причина перерасчёта;Период перерасчёта;Пени;Льгота;"
    "Субсидия;Сальдо на конец;Период"
)


def money_lines(*rows: str) -> Callable[[Path], list[Path]]:
    return text("m.csv", "\n".join([MONEY_HEADER, *rows]) + "\n", "cp1251")


MONEY_CASES: dict[str, Case] = {
    "registry-money-lines": Case(
        money_lines(
            "00000001;ХВС;164,30;-12,00;Показания ИПУ;01.2020;2,10;50,00;;104,40;03.2020",
            "00000001;Отопление;2 025,38;;;;3,00;;-500,00;1 528,38;03.2020",
        ),
        changes={"charges": [
            ("00000001", 202003, "ХВС", "0.00", "164.30", "-12.00", "0.00", "152.30"),
            ("00000001", 202003, "Отопление", "0.00", "2025.38", "0.00", "0.00", "2025.38"),
            ("00000001", 202003, "Пени", "0.00", "5.10", "0.00", "0.00", "5.10"),
            ("00000001", 202003, "Льгота", "0.00", "-50.00", "0.00", "0.00", "-50.00"),
            ("00000001", 202003, "Субсидия", "0.00", "-500.00", "0.00", "0.00", "-500.00"),
        ]},
        added={"services": [("Льгота", "", ""), ("Пени", "", ""), ("Субсидия", "", "")]},
    ),
    "registry-recalc-period-not-a-period": Case(
        money_lines("00000001;ХВС;164,30;-12,00;Показания ИПУ;январь;;;;152,30;03.2020"),
        refused=["m.csv:2: «Период перерасчёта» = «январь»: не период (нужно ММ.ГГГГ"],
    ),
    "registry-recalc-period-backwards": Case(
        money_lines("00000001;ХВС;164,30;-12,00;;02.2020–11.2019;;;;152,30;03.2020"),
        refused=["m.csv:2: «Период перерасчёта» = «02.2020–11.2019»: начало периода позже"],
    ),
    "registry-recalc-period-after-the-month": Case(
        money_lines("00000001;ХВС;164,30;-12,00;Показания ИПУ;05.2020;;;;152,30;03.2020"),
        refused=["m.csv:2: период перерасчета (05.2020) позже периода начислений (03.2020)"],
    ),
    "registry-reason-without-a-recalculation": Case(
        money_lines("00000001;ХВС;164,30;-;Показания ИПУ;01.2020;;;;164,30;03.2020"),
        refused=["m.csv:2: указаны причина или период перерасчета, а перерасчета в строке нет"],
    ),
    "registry-reason-too-long": Case(
        money_lines(f"00000001;ХВС;164,30;-12,00;{'Показания ИПУ, ' * 40};01.2020;;;;152,30;03.2020"),
        refused=["m.csv:2: «Причина перерасчёта» = «Показания ИПУ, Показания"],
    ),
    "registry-penalty-with-three-decimals": Case(
        money_lines("00000001;ХВС;164,30;;;;2,105;;;166,40;03.2020"),
        refused=["m.csv:2: «Пени» = «2,105»: больше 2 знаков после запятой"],
    ),
    "registry-benefit-not-a-number": Case(
        money_lines("00000001;ХВС;164,30;;;;;пятьдесят;;164,30;03.2020"),
        refused=["m.csv:2: «Льгота» = «пятьдесят»: не число"],
    ),
    "registry-closing-without-the-penalty": Case(
        money_lines("00000001;ХВС;164,30;;;;2,10;;;164,30;03.2020"),
        refused=[
            "m.csv:2: сальдо на конец 164,30 ≠ сальдо на начало + начислено + перерасчет + пени "
            "− оплачено = 166,40"
        ],
    ),
    "registry-penalty-as-a-row-and-a-column": Case(
        money_lines(
            "00000001;ХВС;164,30;;;;2,10;;;166,40;03.2020",
            "00000001;Пени;4,00;;;;;;;4,00;03.2020",
        ),
        refused=["m.csv:2: пени, льгота или субсидия указаны и отдельной строкой услуги, и в столбце"],
    ),
    "services-unknown-kind": Case(
        text("services.csv", "code;name;kind\nfine;Штраф;штраф\n"),
        refused=["services.csv:2: «kind» = «штраф»: вид строки: нужно «услуга», «пени»"],
    ),
    "charges-money-lines-in-our-format": Case(
        text(
            "charges.csv",
            "account;period;service;charged;recalculation;recalc_reason;recalc_period;penalty;"
            "subsidy;closing\n"
            "00000001;2020-03;hvs;164,30;10,00;Поверка ПУ;2020-01;1,50;20,00;155,80\n",
        ),
        changes={"charges": [
            ("00000001", 202003, "ХВС", "0.00", "164.30", "10.00", "0.00", "174.30"),
            ("00000001", 202003, "Пени", "0.00", "1.50", "0.00", "0.00", "1.50"),
            ("00000001", 202003, "Субсидия", "0.00", "-20.00", "0.00", "0.00", "-20.00"),
        ]},
        added={"services": [("Пени", "", ""), ("Субсидия", "", "")]},
    ),
}  # fmt: skip
CASES.update(MONEY_CASES)

# a comma-separated registry with quoted decimal commas is fine; unquoted ones shift the cells
CASES["registry-comma-separated"] = Case(
    text(
        "r.csv",
        "Л/С,Услуга,Начислено,Период\n"
        '00000001,ХВС,"164,30",03.2020\n'
        "00000001,Отопление,2025.38,03.2020\n",
        "cp1251",
    ),
    changes={
        "charges": [
            ("00000001", 202003, "ХВС", "0.00", "164.30", "0.00", "0.00", "164.30"),
            ("00000001", 202003, "Отопление", "0.00", "2025.38", "0.00", "0.00", "2025.38"),
        ]
    },
)


@pytest.fixture
async def base(engine: AsyncEngine, tmp_path: Path) -> dict[str, list[tuple]]:
    directory = tmp_path / "base"
    directory.mkdir()
    paths = []
    for name, content in BASE.items():
        (directory / name).write_text(content, encoding="utf-8")
        paths.append(directory / name)
    await import_files(engine, paths)
    return await snapshot(engine)


def test_there_are_at_least_forty_cases() -> None:
    assert len(CASES) >= 40


@pytest.mark.timeout(30)
@pytest.mark.parametrize("name", list(CASES))
async def test_file(name: str, engine: AsyncEngine, base: dict, tmp_path: Path) -> None:
    case = CASES[name]
    directory = tmp_path / "case"
    directory.mkdir()
    paths = case.build(directory)
    if case.refused:
        with pytest.raises(ImportFailed) as caught:
            await import_files(engine, paths)
        shown = [str(p).replace(f"{directory}/", "") for p in caught.value.problems.items]
        for expected in case.refused:
            assert any(line.startswith(expected) for line in shown), (expected, shown)
        assert all("Traceback" not in line for line in shown)
        assert await snapshot(engine) == base
        return
    summary, _ = await import_files(engine, paths)
    assert summary is not None
    after = await snapshot(engine)
    expected = dict(base)
    expected["runs"] = [base["runs"][0] + 1]
    for table, rows in case.added.items():
        expected[table] = sorted(base[table] + rows)
    expected.update({table: sorted(rows) for table, rows in case.changes.items()})
    if case.added.get("accounts") and "houses" not in case.added:
        expected["houses"] = after["houses"]  # checked through the accounts' addresses
    assert after == expected
    assert not (tmp_path.parent / "evil.csv").exists()


# --- the golden account from the flat registry in samples/ ------------------------------------

GOLDEN_REGISTRY = ROOT / "samples" / "flat" / "реестр_начислений_2020-03.csv"


async def golden_month(session: AsyncSession) -> tuple[billing.MonthCharges, billing.Balance]:
    account = await session.scalar(select(Account).where(Account.number == GOLDEN_NUMBER))
    assert account is not None
    month = await billing.month_charges(session, account.id, GOLDEN_PERIOD)
    balance = await billing.balance(session, account.id)
    assert month is not None and balance is not None
    return month, balance


def assert_golden(month: billing.MonthCharges, balance: billing.Balance) -> None:
    (group,) = month.groups
    assert group.name == GOLDEN_GROUP
    assert [
        (line.service, line.unit, line.tariff, line.volume, line.opening, line.charged,
         line.recalculation, line.paid, line.closing)
        for line in group.lines
    ] == [
        (g.name, g.unit, g.tariff, g.volume, g.opening, g.charged, g.recalculation, g.paid,
         g.total)
        for g in GOLDEN_LINES
    ]  # fmt: skip
    assert month.totals.opening == GOLDEN_TOTALS["opening"]
    assert month.totals.charged == GOLDEN_TOTALS["charged"]
    assert month.totals.recalculation == GOLDEN_TOTALS["recalculation"]
    assert month.totals.paid == GOLDEN_PAYMENT
    assert month.totals.closing == balance.closing == GOLDEN_TOTALS["total"] == D("2383.29")


async def test_the_golden_month_from_the_flat_registry_is_exact(
    engine: AsyncEngine, session: AsyncSession
) -> None:
    """A new organization's first registry: the account, its house, apartment and services are
    created from the file, and March 2020 comes out to the kopeck (figure 5)."""
    assert GOLDEN_REGISTRY.read_bytes().decode("cp1251").count("Итого") == 2
    session.add(demo_organization())
    await session.commit()
    summary, plan = await import_files(engine, [GOLDEN_REGISTRY])
    assert summary is not None and summary.periods == ["2020-03"]
    (info,) = plan.files
    assert (info.kind, info.rows, info.skipped, info.period) == ("registry", 3, 2, 202003)
    assert info.description == "текст, Windows-1251, разделитель «;»"
    month, balance = await golden_month(session)
    assert_golden(month, balance)
    account = await session.scalar(select(Account).where(Account.number == GOLDEN_NUMBER))
    apartment = await session.get(Apartment, account.apartment_id)
    house = await session.get(House, apartment.house_id)
    assert (house.address, house.street, apartment.number, apartment.area) == (
        "г. Хабаровск, ул. Ленина, д. 1", "ул. Ленина", "1", D("33.10")
    )  # fmt: skip
    assert account.holder_name == GOLDEN_HOLDER


async def test_the_flat_registry_over_the_seeded_golden_account_changes_nothing(
    engine: AsyncEngine, session: AsyncSession
) -> None:
    """The known account is matched by number, its services by name: the same figures."""
    await add_golden_account(session)
    await session.commit()
    before = await golden_month(session)
    accounts = await session.scalar(select(func.count()).select_from(Account))
    services = await session.scalar(select(func.count()).select_from(Service))
    summary, _ = await import_files(engine, [GOLDEN_REGISTRY])
    assert summary is not None and summary.counts["charges"] == {"new": 3, "replaced": 3}
    session.expire_all()
    after = await golden_month(session)
    assert after == before
    assert_golden(*after)
    assert await session.scalar(select(func.count()).select_from(Account)) == accounts
    assert await session.scalar(select(func.count()).select_from(Service)) == services


# --- the command line: --dry-run, --org ---------------------------------------------------------


def test_cli_dry_run_previews_the_registry_and_org_chooses_the_organization(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path: Path
) -> None:
    orgs = tmp_path / "orgs.csv"
    orgs.write_text(
        "code;name;timezone\ndek;АО ДЭК;Asia/Vladivostok\nother;ТСЖ;Europe/Moscow\n",
        encoding="utf-8",
    )
    code, _, err = run_cli(capsys, monkeypatch, db_url, "import", str(orgs))
    assert code == 0, err
    # two organizations: a registry without an org column needs --org
    code, _, err = run_cli(capsys, monkeypatch, db_url, "import", str(GOLDEN_REGISTRY))
    assert code == 1
    assert "организаций 2, а столбца «Организация» нет" in err
    code, _, err = run_cli(
        capsys, monkeypatch, db_url, "import", "--org", "zzz", str(GOLDEN_REGISTRY)
    )
    assert code == 1 and "--org: нет организации с кодом «zzz»" in err

    code, out, err = run_cli(
        capsys, monkeypatch, db_url, "import", "--dry-run", "--org", "dek", str(GOLDEN_REGISTRY)
    )
    assert code == 0, err
    assert out.startswith("Проверка без загрузки: 3 строки из 1 таблицы — ошибок нет.")
    assert (
        f"{GOLDEN_REGISTRY}: реестр начислений, 3 строки (текст, Windows-1251, разделитель «;»)"
        in out
    )
    assert (
        f"периоды 03.2020; лицевых счетов 1 (новых 1, известных 0); начислено 1{NBSP}460,23, "
        f"перерасчет 925,98, оплачено 2{NBSP}340,00; пропущено строк «Итого»: 2" in out
    )
    assert out.rstrip().endswith("Ничего не изменено (--dry-run).")

    code, out, err = run_cli(
        capsys, monkeypatch, db_url, "import", "--org", "dek", str(GOLDEN_REGISTRY)
    )
    assert code == 0, err
    assert "Загружено 3 строки из 1 таблицы" in out
    assert "лицевые счета: новых 1, обновлено 0" in out
    # the time of the import in the organization's zone
    assert re.fullmatch(
        r"Загрузка № 2: \d\d\.\d\d\.\d{4} \d\d:\d\d \(Asia/Vladivostok\)", out.splitlines()[-1]
    )
    # and again with --dry-run: now the account is known
    code, out, _ = run_cli(
        capsys, monkeypatch, db_url, "import", "--dry-run", "--org", "dek", str(GOLDEN_REGISTRY)
    )
    assert code == 0 and "лицевых счетов 1 (новых 0, известных 1)" in out
