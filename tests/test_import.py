"""Billing import: formats, all-or-nothing validation, replace semantics, a killed import, CLI."""

from __future__ import annotations

import csv
import datetime as dt
import io
import sys
from decimal import Decimal as D
from pathlib import Path

import openpyxl
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.cli import main as cli_main
from bot.cli.import_ import BarProgress, make_progress
from storage.importer import ImportFailed, import_files
from storage.importer import values as v
from storage.importer.formats import explain, normalize, recognize
from storage.models import (
    Account,
    Apartment,
    Charge,
    House,
    ImportRun,
    Meter,
    Organization,
    Payment,
    Reading,
    Service,
)
from storage.repo import versions

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
NBSP = "\u00a0"

# --- one data set, written in every format ------------------------------------------------------

ORGS = [["amur", 'ООО "УК Амурская"', "2721000010", "272101001", "Asia/Vladivostok", 20, 25]]
HOUSES = [
    ["amur", "k83", "г. Хабаровск, ул. Калинина, д. 83", "ул. Калинина"],
    ["amur", "z51", "г. Хабаровск, ул. Запарина, д. 51", "ул. Запарина"],
]
APARTMENTS = [
    ["amur", "k83", "1", D("34.50"), "Частная"],
    ["amur", "k83", "2", D("52.10"), "Муниципальная"],
    ["amur", "z51", "12а", D("129.90"), "Частная"],
]
ACCOUNTS = [
    ["amur", "20010001", "k83", "1", "Смирнова Анна Петровна", "8 (914) 200-10-01"],
    ["amur", "20010002", "k83", "2", "Кузнецов Дмитрий Сергеевич", ""],
    ["amur", "20020012", "z51", "12а", "Соколова Мария Андреевна", "+79242002013"],
]
SERVICES = [
    ["amur", "hvs", "ХВС", "куб.м", "Водоснабжение", "cold_water", 0],
    ["amur", "heating", "Отопление", "Гкал", "Теплоснабжение", "heat", 0],
    ["amur", "hvs_odn", "ХВС ОДН", "куб.м", "Водоснабжение", "cold_water", 1],
]
# account, period, service, tariff, volume, opening, charged, recalculation, paid, closing
CHARGES = [
    ["20010001", dt.date(2020, 2, 1), "hvs", D("32.86"), D("5.125"), D("0"), D("168.41"), D("0"), D("0"), D("168.41")],
    ["20010001", dt.date(2020, 2, 1), "heating", D("2756.37"), D("0.7348"), D("1200.00"), D("2025.38"), D("-1250.40"), D("1200.00"), D("774.98")],
    ["20010001", dt.date(2020, 3, 1), "hvs", D("32.86"), D("4.5"), D("168.41"), D("147.87"), D("0"), D("168.41"), D("147.87")],
    ["20010001", dt.date(2020, 3, 1), "heating", D("2756.37"), D("0.7348"), D("774.98"), D("2025.38"), D("0"), D("774.98"), D("2025.38")],
    ["20010002", dt.date(2020, 3, 1), "hvs", D("32.86"), D("3"), D("0"), D("98.58"), D("0"), D("0"), D("98.58")],
    ["20010002", dt.date(2020, 3, 1), "hvs_odn", D("32.86"), D("0.0412"), D("0"), D("1.35"), D("0"), D("0"), D("1.35")],
    ["20020012", dt.date(2020, 3, 1), "heating", D("2756.37"), D("2.7669"), D("15000.00"), D("7626.61"), D("164.30"), D("12345.67"), D("10445.24")],
]  # fmt: skip
PAYMENTS = [
    ["20010001", dt.date(2020, 3, 10), D("943.39"), dt.date(2020, 3, 1), "Сбербанк Онлайн"],
    ["20020012", dt.date(2020, 3, 22), D("12345.67"), dt.date(2020, 3, 1), "касса"],
]
METERS = [
    ["20010001", "hvs1", "cold_water", "ХВ-100001", "", dt.date(2026, 1, 15)],
    ["20010001", "el-d", "electricity", "ЭЛ-200001", "day", dt.date(2031, 6, 30)],
    ["20020012", "hvs1", "cold_water", "ХВ-100012", "", None],
]
READINGS = [
    ["20010001", "hvs1", dt.date(2020, 2, 1), D("1234.5"), dt.date(2020, 2, 21)],
    ["20010001", "hvs1", dt.date(2020, 3, 1), D("1239.0"), dt.date(2020, 3, 22)],
    ["20010001", "el-d", dt.date(2020, 3, 1), D("15001"), None],
    ["20020012", "hvs1", dt.date(2020, 3, 1), D("88.125"), dt.date(2020, 3, 20)],
]

HEADERS = {
    "en": {
        "organizations": ["code", "name", "inn", "kpp", "timezone", "readings_day_from", "readings_day_to"],
        "houses": ["org", "code", "address", "street"],
        "apartments": ["org", "house", "number", "area", "ownership_type"],
        "accounts": ["org", "account", "house", "apartment", "holder", "phone"],
        "services": ["org", "code", "name", "unit", "group", "resource", "is_common"],
        "charges": ["account", "period", "service", "tariff", "volume", "opening", "charged", "recalculation", "paid", "closing"],
        "payments": ["account", "date", "amount", "period", "source"],
        "meters": ["account", "code", "resource", "serial", "zone", "verification_due"],
        "readings": ["account", "meter", "period", "value", "date"],
    },
    "ru": {
        "organizations": ["Код", "Наименование", "ИНН", "КПП", "Часовой пояс", "Показания с", "Показания по"],
        "houses": ["Организация", "Код дома", "Адрес", "Улица"],
        "apartments": ["Организация", "Дом", "Квартира", "Площадь", "Тип собственности"],
        "accounts": ["Организация", "Лицевой счёт", "Дом", "Кв", "ФИО", "Телефон"],
        "services": ["Организация", "Код услуги", "Наименование", "Ед. изм.", "Группа", "Ресурс", "ОДН"],
        "charges": ["Л/С", "Период", "Услуга", "Тариф", "Объём", "На начало", "Начислено", "Перерасчёт", "Оплачено", "Итого"],
        "payments": ["Л/С", "Дата оплаты", "Сумма", "Период", "Источник"],
        "meters": ["Л/С", "Код ПУ", "Ресурс", "Заводской номер", "Зона", "Дата поверки"],
        "readings": ["Л/С", "Код ПУ", "Период", "Показание", "Дата"],
    },
}  # fmt: skip
DATA = {
    "organizations": ORGS, "houses": HOUSES, "apartments": APARTMENTS, "accounts": ACCOUNTS,
    "services": SERVICES, "charges": CHARGES, "payments": PAYMENTS, "meters": METERS,
    "readings": READINGS,
}  # fmt: skip
PERIOD_KINDS = {("charges", 1), ("payments", 3), ("readings", 2)}  # (kind, column) holding periods


def text_cell(value: object, variant: dict, kind: str, column: int) -> str:
    if isinstance(value, D):
        text = f"{value:f}"
        whole, dot, fraction = text.partition(".")
        sign = "-" if whole.startswith("-") else ""
        whole = whole.lstrip("-")
        if variant.get("thousands") and len(whole) > 3:
            groups = []
            while len(whole) > 3:
                groups.insert(0, whole[-3:])
                whole = whole[:-3]
            # plain spaces and no-break spaces, as exports mix them
            whole = variant["thousands"].join([whole, *groups])
        text = sign + whole + (variant["decimal"] + fraction if dot else "")
        return text
    if isinstance(value, dt.date):
        if (kind, column) in PERIOD_KINDS:
            return value.strftime("%m.%Y") if variant["dates"] == "ru" else value.strftime("%Y-%m")
        return value.strftime("%d.%m.%Y") if variant["dates"] == "ru" else value.isoformat()
    if value is None:
        return ""
    return str(value)


def write_set(directory: Path, variant: dict) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    headers = HEADERS[variant.get("headers", "en")]
    paths = []
    for kind, rows in DATA.items():
        path = directory / f"{kind}.{'xlsx' if variant.get('xlsx') else 'csv'}"
        if variant.get("xlsx"):
            book = openpyxl.Workbook()
            sheet = book.active
            sheet.append(headers[kind])
            for row in rows:
                cells = []
                for column, value in enumerate(row):
                    if isinstance(value, D):
                        cells.append(float(value))  # spreadsheets hold binary floats
                    elif isinstance(value, dt.date) and (kind, column) in PERIOD_KINDS:
                        cells.append(value.strftime("%Y-%m"))
                    else:
                        cells.append(value)
                sheet.append(cells)
            book.save(path)
        else:
            buffer = io.StringIO()
            out = csv.writer(buffer, delimiter=variant["sep"], lineterminator="\r\n")
            out.writerow(headers[kind])
            for row in rows:
                out.writerow([text_cell(value, variant, kind, i) for i, value in enumerate(row)])
            path.write_bytes(buffer.getvalue().encode(variant["encoding"]))
        paths.append(path)
    return paths


VARIANTS = {
    "semicolon-utf8-comma": {"sep": ";", "encoding": "utf-8", "decimal": ",", "dates": "ru"},
    "comma-utf8bom-point-iso": {"sep": ",", "encoding": "utf-8-sig", "decimal": ".", "dates": "iso"},
    "semicolon-cp1251-comma-thousands-ru-headers": {
        "sep": ";", "encoding": "cp1251", "decimal": ",", "dates": "ru", "thousands": NBSP,
        "headers": "ru",
    },
    "tab-cp1251-thousands-spaces": {
        "sep": "\t", "encoding": "cp1251", "decimal": ",", "dates": "iso", "thousands": " ",
    },
    "xlsx": {"xlsx": True, "headers": "ru"},
}  # fmt: skip

MODELS = (
    Organization,
    House,
    Apartment,
    Account,
    Service,
    Meter,
    Charge,
    Payment,
    Reading,
    ImportRun,
)


async def counts(engine: AsyncEngine) -> dict[str, int]:
    async with engine.connect() as conn:
        return {
            model.__tablename__: await conn.scalar(select(func.count()).select_from(model))
            for model in MODELS
        }


async def snapshot(engine: AsyncEngine) -> dict[str, list[tuple]]:
    """Everything loaded, by natural keys and typed values (ids left out)."""
    async with engine.connect() as conn:
        charges = (
            await conn.execute(
                select(
                    Account.number, Charge.period, Service.code, Charge.tariff, Charge.volume,
                    Charge.opening, Charge.charged, Charge.recalculation, Charge.paid, Charge.closing,
                )
                .join(Account, Charge.account_id == Account.id)
                .join(Service, Charge.service_id == Service.id)
                .where(versions.visible(Charge))
            )
        ).all()  # fmt: skip
        payments = (
            await conn.execute(
                select(Account.number, Payment.paid_on, Payment.amount, Payment.period, Payment.source)
                .join(Account, Payment.account_id == Account.id)
                .where(versions.visible(Payment, versions.PAYMENTS))
            )
        ).all()  # fmt: skip
        meters = (
            await conn.execute(
                select(Account.number, Meter.code, Meter.resource, Meter.serial, Meter.zone,
                       Meter.verification_due)
                .join(Account, Meter.account_id == Account.id)
            )
        ).all()  # fmt: skip
        readings = (
            await conn.execute(
                select(Account.number, Meter.code, Reading.period, Reading.value, Reading.taken_on,
                       Reading.version, Reading.source)
                .join(Meter, Reading.meter_id == Meter.id)
                .join(Account, Meter.account_id == Account.id)
            )
        ).all()  # fmt: skip
        accounts = (
            await conn.execute(
                select(Organization.code, Account.number, House.code, Apartment.number,
                       Apartment.area, Apartment.ownership_type, Account.holder_name, Account.phone)
                .join(Organization, Account.organization_id == Organization.id)
                .join(Apartment, Account.apartment_id == Apartment.id)
                .join(House, Apartment.house_id == House.id)
            )
        ).all()  # fmt: skip
        services = (
            await conn.execute(
                select(Service.code, Service.name, Service.unit, Service.group_name,
                       Service.resource, Service.is_common)
            )
        ).all()  # fmt: skip
        orgs = (
            await conn.execute(
                select(Organization.code, Organization.name, Organization.inn, Organization.kpp,
                       Organization.timezone, Organization.readings_day_from)
            )
        ).all()  # fmt: skip
    return {
        name: sorted(tuple(row) for row in rows)
        for name, rows in {
            "charges": charges, "payments": payments, "meters": meters, "readings": readings,
            "accounts": accounts, "services": services, "orgs": orgs,
        }.items()
    }  # fmt: skip


def expected_snapshot() -> dict[str, list[tuple]]:
    return {
        "charges": sorted(tuple(row) for row in CHARGES),
        "payments": sorted(tuple(row) for row in PAYMENTS),
        "meters": sorted(tuple(row) for row in METERS),
        "readings": sorted((*row, 1, "billing") for row in READINGS),
        "accounts": sorted(
            (
                "amur",
                number,
                house,
                apartment,
                next(a[3] for a in APARTMENTS if a[2] == apartment),
                next(a[4] for a in APARTMENTS if a[2] == apartment),
                holder,
                v.phone(phone) if phone else None,
            )
            for _, number, house, apartment, holder, phone in ACCOUNTS
        ),
        "services": sorted(
            (code, name, unit, group, resource, bool(common))
            for _, code, name, unit, group, resource, common in SERVICES
        ),
        "orgs": [("amur", 'ООО "УК Амурская"', "2721000010", "272101001", "Asia/Vladivostok", 20)],
    }


# --- formats ------------------------------------------------------------------------------------


@pytest.mark.parametrize("variant", VARIANTS.values(), ids=VARIANTS.keys())
async def test_every_format_variant_loads_the_same_numbers(
    engine: AsyncEngine, tmp_path: Path, variant: dict
) -> None:
    paths = write_set(tmp_path / "set", variant)
    summary, plan = await import_files(engine, paths)
    assert summary.rows == sum(len(rows) for rows in DATA.values())
    assert {f.kind for f in plan.files} == set(DATA)
    assert await snapshot(engine) == expected_snapshot()


async def test_samples_import_cleanly(engine: AsyncEngine) -> None:
    paths = sorted(p for p in SAMPLES.iterdir() if p.suffix in (".csv", ".xlsx"))
    described = {p.name: p for p in paths}
    assert any(p.suffix == ".xlsx" for p in paths)
    summary, plan = await import_files(engine, paths)
    descriptions = {Path(info.name).name: info.description for info in plan.files}
    assert descriptions["07_charges_2020-02_2020-03.csv"] == "текст, Windows-1251, разделитель «;»"
    assert descriptions["01_organizations.csv"] == "текст, UTF-8 с BOM, разделитель «;»"
    assert set(descriptions) == set(described) - {"06_meters.xlsx"} | {"06_meters.xlsx!ПУ"}
    assert summary.periods == ["2020-02", "2020-03"]
    snap = await snapshot(engine)
    # a heating line written `2 756,37` / `2 025,38` in the cp1251 file
    heating = [row for row in snap["charges"] if row[0] == "20010001" and row[2] == "heating"]
    assert heating[0][3] == D("2756.37") and heating[0][6] == D("2025.38")
    for row in snap["charges"]:
        assert row[9] == row[5] + row[6] + row[7] - row[8]
    after = await counts(engine)
    assert after["accounts"] == 6 and after["meters"] == 24 and after["charges"] == 84


def test_file_kind_is_recognized_by_the_header_alone() -> None:
    layout = recognize(["Л/С", "Период", "Услуга", "Начислено"])
    assert layout is not None and layout.kind.name == "charges"
    layout = recognize(["Л/С", "Адрес", "Услуга", "Начислено"])
    assert layout is not None and layout.kind.name == "registry"
    layout = recognize(["Л/С", "Услуга", "Начислено"])  # the period in the title
    assert layout is not None and layout.kind.name == "registry"
    layout = recognize(["org", "code", "address"])
    assert layout is not None and layout.kind.name == "houses"
    layout = recognize(["account", "house", "apartment", "holder"])
    assert layout is not None and layout.kind.name == "accounts"
    assert recognize(["code", "name"]) is None
    assert "«организации» и «услуги»" in explain(["code", "name"])
    assert recognize(["account", "period", "charged"]) is None
    assert "начисления — не хватает «Услуга»" in explain(["account", "period", "charged"])
    assert recognize(["a", "b"]) is None
    assert "найдены столбцы «a», «b»" in explain(["a", "b"])
    assert normalize("\ufeffЛицевой счёт") == "лицевой_счет"


@given(st.text(alphabet="0123456789,.-+ _\u00a0\t−١e", max_size=14))
def test_fast_number_parsers_agree_with_the_strict_ones(text: str) -> None:
    """The hot loop parses raw cells with the fast parsers; whatever they accept must be what
    the careful path (strip, then the strict parser) reads. Refusing is always safe."""
    for fast, strict in ((v.fast_money, v.money), (v.fast_quantity, v.quantity)):
        try:
            got = fast(text)
        except ValueError:
            continue
        try:
            expected = strict(text.strip())
        except ValueError:
            # only the same number in other Unicode digits may get through, never another value
            assert not text.isascii(), (text, got)
            continue
        assert got == expected, text


@pytest.mark.parametrize(
    ("text", "kopecks"),
    [("1 234,56", 123456), (f"1{NBSP}234,56", 123456), ("1234.5", 123450), ("-5", -500),
     ("−12,30", -1230), ("-", 0), ("", 0), ("1\u202f000\u202f000,00", 100000000)],
)  # fmt: skip
def test_money_forms(text: str, kopecks: int) -> None:
    assert v.money(text) == kopecks


@pytest.mark.parametrize("text", ["1,234", "12,345", "abc", "1.2.3", "1e5", "99999999999999999,99"])
def test_money_refuses(text: str) -> None:
    with pytest.raises(ValueError):
        v.money(text)


def test_periods_and_dates() -> None:
    assert v.period("2020-03") == v.period("03.2020") == v.period("01.03.2020") == 202003
    assert v.date("31.03.2020") == v.date("2020-03-31") == dt.date(2020, 3, 31)
    assert v.quantity("1,91254") == 19125 and v.quantity("1,91255") == 19126
    for bad in ("2020-13", "13.2020", "March"):
        with pytest.raises(ValueError):
            v.period(bad)
    for bad in ("31.02.2020", "2020/03/01", "1.1.20"):
        with pytest.raises(ValueError):
            v.date(bad)


# --- all or nothing -----------------------------------------------------------------------------


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


async def test_bad_rows_are_all_reported_and_nothing_is_applied(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    await import_files(engine, write_set(tmp_path / "base", VARIANTS["semicolon-utf8-comma"]))
    before, before_snapshot = await counts(engine), await snapshot(engine)
    bad = tmp_path / "bad"
    bad.mkdir()
    files = [
        write(bad / "accounts.csv",
              "account;house;apartment;holder;phone\n"
              "30000001;k83;1;Новый Абонент;\n"  # good, but must not be applied
              "30000002;k99;1;Нет Дома;\n"  # line 3: unknown apartment
              "30000003;k83;2;Плохой Телефон;12\n"),  # line 4: bad phone
        write(bad / "charges.csv",
              "account;period;service;tariff;volume;opening;charged;recalculation;paid;closing\n"
              "20010001;04.2020;hvs;32,86;1;0;32,86;0;0;32,86\n"  # good
              "99999999;04.2020;hvs;32,86;1;0;32,86;0;0;32,86\n"  # 3: unknown account
              "20010001;04.2020;gas;1;1;0;1;0;0;1\n"  # 4: unknown service
              "20010001;13.2020;heating;1;1;0;1;0;0;1\n"  # 5: bad period
              "20010002;04.2020;hvs;32,86;1;0;abc;0;0;0\n"  # 6: bad number
              "20010002;04.2020;heating;1;1;10,00;5,00;0;0;16,00\n"  # 7: closing mismatch
              "20010001;04.2020;hvs;32,86;1;0;32,86;0;0;32,86\n"  # 8: duplicate of line 2
              "30000001;04.2020;hvs;32,86;1;0;32,86;0;0;32,86\n"  # 9: account of a bad file? ok
              "20010002;04.2020;hvs_odn;1;1;0;;0;0;0\n"  # 10: charged empty
              "20010002;04.2020;hvs;1;1;0;1,00;0;0;1,00;extra\n"  # 11: extra cell
              "20010002;04.2020;hvs;1;1,2,3;0;1,00;0;0;1,00\n"),  # 12: bad volume
        write(bad / "payments.csv", "account;date;amount\n20010001;31.02.2020;100\n"),
        write(bad / "readings.csv", "account;meter;value\n20010001;hvs1;5\n"),  # no period column
        write(bad / "notes.csv", "foo;bar\n1;2\n"),
    ]  # fmt: skip
    with pytest.raises(ImportFailed) as caught:
        await import_files(engine, files)
    messages = [str(p) for p in caught.value.problems.items]
    a, c = str(bad / "accounts.csv"), str(bad / "charges.csv")
    expected = [
        f"{a}:3: помещения «1» в доме «k99» нет: загрузите его файлом помещений "
        "(лицевые счета помещений не создают)",
        f"{a}:4: «phone» = «12»: такого номера телефона не бывает",
        f"{c}:3: лицевого счета «99999999» нет (организация «amur»)",
        f"{c}:4: услуги «gas» нет (организация «amur»)",
        f"{c}:5: «period» = «13.2020»: такого месяца нет",
        f"{c}:6: «charged» = «abc»: не число",
        f"{c}:7: сальдо на конец 16,00 ≠ сальдо на начало + начислено + перерасчет − оплачено "
        "= 15,00",
        f"{c}:8: начисление повторяется: тот же лицевой счет, период и услуга уже были выше",
        f"{c}:10: «charged»: пусто",
        f"{c}:11: в строке на 1 ячеек больше, чем в заголовке",
        f"{c}:12: «volume» = «1,2,3»: не число",
        f"{bad / 'payments.csv'}:2: «date» = «31.02.2020»: такой даты нет",
        f"{bad / 'readings.csv'}:2: не указан период: нет ни столбца «Период», ни даты, "
        "ни месяца в заголовке",
    ]
    for message in expected:
        assert message in messages, (message, messages)
    assert any(m.startswith(f"{bad / 'notes.csv'}:1: не понятно") for m in messages)
    assert caught.value.problems.count == len(messages) == len(expected) + 1
    assert await counts(engine) == before
    assert await snapshot(engine) == before_snapshot


async def test_org_column_is_needed_only_with_several_organizations(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    await import_files(engine, write_set(tmp_path / "base", VARIANTS["semicolon-utf8-comma"]))
    second = write(tmp_path / "organizations.csv", "code;name;inn\nother;ТСЖ Другое;\n")
    await import_files(engine, [second])
    charges = write(
        tmp_path / "charges.csv", "account;period;service;charged\n20010001;2020-04;hvs;1,00\n"
    )
    with pytest.raises(ImportFailed) as caught:
        await import_files(engine, [charges])
    assert "организаций 2, а столбца «Организация» нет" in str(caught.value.problems.items[0])


# --- replace and idempotence --------------------------------------------------------------------


async def test_reimporting_a_period_replaces_its_charges_for_the_accounts_in_the_file(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    await import_files(engine, write_set(tmp_path / "base", VARIANTS["semicolon-utf8-comma"]))
    march = write(
        tmp_path / "charges_march.csv",
        "account;period;service;tariff;volume;opening;charged;recalculation;paid;closing\n"
        "20010001;2020-03;heating;2756,37;0,5;774,98;1378,19;0;774,98;1378,19\n",
    )
    summary, _ = await import_files(engine, [march])
    assert summary.periods == ["2020-03"]
    assert summary.counts["charges"] == {"new": 1, "replaced": 2}
    snap = await snapshot(engine)
    mine = [row for row in snap["charges"] if row[0] == "20010001"]
    # February untouched; March is exactly the file's one line (hvs of March is gone)
    assert [(row[1], row[2]) for row in mine] == [
        (dt.date(2020, 2, 1), "heating"), (dt.date(2020, 2, 1), "hvs"),
        (dt.date(2020, 3, 1), "heating"),
    ]  # fmt: skip
    assert mine[-1][6] == D("1378.19")
    others = [row for row in snap["charges"] if row[0] != "20010001"]
    assert others == [tuple(row) for row in sorted(CHARGES) if row[0] != "20010001"]
    # the same file again: same result, nothing doubled
    await import_files(engine, [march])
    assert await snapshot(engine) == snap
    async with engine.connect() as conn:
        runs = (await conn.execute(select(ImportRun).order_by(ImportRun.id))).all()
    assert [run.periods for run in runs] == [["2020-02", "2020-03"], ["2020-03"], ["2020-03"]]
    assert runs[1].rows == 1 and runs[1].files == str(march)


async def test_payments_replace_and_readings_keep_versions(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    paths = write_set(tmp_path / "base", VARIANTS["semicolon-utf8-comma"])
    await import_files(engine, paths)
    # the same files again change nothing: payments replaced, readings unchanged, refs updated
    summary, _ = await import_files(engine, paths)
    assert summary.counts["payments"] == {"new": 2, "replaced": 2}
    assert summary.counts["readings"] == {"new": 0, "unchanged": 4}
    assert await snapshot(engine) == expected_snapshot()
    corrected = write(
        tmp_path / "readings.csv",
        "account;meter;period;value\n20010001;hvs1;2020-03;1240,5\n20010001;el-d;2020-03;15001\n",
    )
    summary, _ = await import_files(engine, [corrected])
    assert summary.counts["readings"] == {"new": 1, "unchanged": 1}
    async with engine.connect() as conn:
        versions = (
            await conn.execute(
                select(Reading.version, Reading.value)
                .join(Meter, Reading.meter_id == Meter.id)
                .where(Meter.code == "hvs1", Reading.period == dt.date(2020, 3, 1))
                .join(Account, Meter.account_id == Account.id)
                .where(Account.number == "20010001")
                .order_by(Reading.version)
            )
        ).all()
    assert versions == [(1, D("1239.0000")), (2, D("1240.5000"))]


async def test_reference_update_touches_only_the_columns_in_the_file(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    await import_files(engine, write_set(tmp_path / "base", VARIANTS["semicolon-utf8-comma"]))
    renamed = write(
        tmp_path / "accounts.csv",
        "account;house;apartment;holder\n20010001;k83;1;Смирнова-Ким Анна Петровна\n",
    )
    summary, _ = await import_files(engine, [renamed])
    assert summary.counts["accounts"] == {"new": 0, "updated": 1}
    async with engine.connect() as conn:
        holder, phone = (
            await conn.execute(
                select(Account.holder_name, Account.phone).where(Account.number == "20010001")
            )
        ).one()
    assert holder == "Смирнова-Ким Анна Петровна"
    assert phone == "+79142001001"  # not in the file: kept


# --- a killed import ------------------------------------------------------------------------------


def run_cli(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, db_url: str, *args: str
) -> tuple[int, str, str]:
    """`python -m bot ARGS` in this process (a subprocess per test would only add start-up
    time): (exit code, stdout, stderr)."""
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.delenv("BOT_TOKEN", raising=False)
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_:
        cli_main(list(args))
    out, err = capsys.readouterr()
    return int(exit_.value.code or 0), out, err


def write_big_set(directory: Path, accounts: int, periods: int) -> int:
    directory.mkdir()
    write(directory / "houses.csv", "org;code;address\namur;big;г. Хабаровск, ул. Большая, д. 1\n")
    write(
        directory / "apartments.csv",
        "org;house;number\n" + "".join(f"amur;big;{a}\n" for a in range(accounts)),
    )
    write(
        directory / "accounts.csv",
        "org;account;house;apartment\n"
        + "".join(f"amur;9{a:07d};big;{a}\n" for a in range(accounts)),
    )
    rows = 0
    with (directory / "charges.csv").open("w", encoding="cp1251", newline="") as f:
        f.write("org;Л/С;Период;Услуга;Тариф;Объём;Начислено;Итого\n")
        for a in range(accounts):
            for p in range(periods):
                for service in ("hvs", "heating", "hvs_odn"):
                    f.write(f"amur;9{a:07d};{p % 12 + 1:02d}.{2000 + p // 12};{service};"
                            f"32,86;1,5;{a % 997},{p % 100:02d};{a % 997},{p % 100:02d}\n")  # fmt: skip
                    rows += 1
    return rows


# --- the command line -----------------------------------------------------------------------------


def test_cli_imports_the_samples_and_reports(capsys, monkeypatch, db_url: str) -> None:
    code, out, err = run_cli(capsys, monkeypatch, db_url, "import", str(SAMPLES))
    assert code == 0, err
    assert "Загружено 184 строки из 9 таблиц" in out
    assert (
        "07_charges_2020-02_2020-03.csv: начисления, 84 строки "
        "(текст, Windows-1251, разделитель «;»)" in out
    )
    assert "периоды начислений: 2020-02, 2020-03" in out
    # the organization's local time (Asia/Vladivostok), not UTC
    assert "(Asia/Vladivostok)" in out.splitlines()[-1]
    assert "Traceback" not in err


def test_cli_lists_every_bad_row_and_exits_1(
    capsys, monkeypatch, db_url: str, tmp_path: Path
) -> None:
    path = write(tmp_path / "organizations.csv", "code;name;inn\nx;Икс;12\ny;;2721000010\n")
    code, out, err = run_cli(capsys, monkeypatch, db_url, "import", str(path))
    assert code == 1
    lines = err.strip().splitlines()
    assert f"{path}:2: «inn» = «12»: нужно 10 или 12 цифр" in lines
    assert f"{path}:3: «name»: пусто" in lines
    assert lines[-1] == "Не загружено: 2 ошибки в 1 файле; в базе ничего не изменилось."
    assert "Загружено" not in out


def test_cli_missing_path_is_one_clear_line(
    capsys, monkeypatch, db_url: str, tmp_path: Path
) -> None:
    code, _, err = run_cli(capsys, monkeypatch, db_url, "import", str(tmp_path / "nope.csv"))
    assert code == 2
    assert (
        err.strip().splitlines()[-1]
        == f"Error: {tmp_path / 'nope.csv'}: нет такого файла или каталога"
    )


def test_progress_bar_only_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False)
    assert type(make_progress("auto")).__name__ == "Progress"
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    assert isinstance(make_progress("auto"), BarProgress)
