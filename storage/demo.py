"""Demo data: a believable organization, and the account of figure 5 of the seed, exactly.

`add_golden_account` is the single definition of the golden numbers (DESIGN.md): the demo command
and the tests' factories both use it.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from decimal import Decimal as D
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    Account,
    Apartment,
    Charge,
    House,
    Meter,
    Organization,
    Payment,
    Reading,
    Service,
)
from storage.periods import add_months
from storage.types import Quantity, period_key

GOLDEN_PERIOD = dt.date(2020, 3, 1)
GOLDEN_NUMBER = "00000000"
GOLDEN_PHONE = "+79141234567"
GOLDEN_HOLDER = "Иванов Иван Иванович"
GOLDEN_GROUP = "Теплоснабжение"
DEMO_CODE = "dek"  # the demo organization's code: how `import` recognises a demo database


@dataclass(frozen=True)
class GoldenLine:
    code: str
    name: str
    unit: str
    resource: str
    tariff: D
    volume: D
    opening: D
    charged: D
    recalculation: D
    paid: D
    total: D


# Figure 5: March 2020, group "Теплоснабжение"; paid is the 2 340,00 payment split by service.
GOLDEN_LINES = (
    GoldenLine("gvs_tn", "ГВС (т/н)", "куб.м", "hot_water", D("18.83"), D("1.9125"),
               D("54.71"), D("36.01"), D("141.24"), D("54.92"), D("177.04")),
    GoldenLine("gvs_tz", "ГВС (т/з)", "Гкал", "heat", D("1775.84"), D("0.0992"),
               D("267.62"), D("176.20"), D("784.74"), D("268.80"), D("959.76")),
    GoldenLine("heating", "Отопление", "Гкал", "heat", D("1775.84"), D("0.7028"),
               D("2014.75"), D("1248.02"), D("0"), D("2016.28"), D("1246.49")),
)  # fmt: skip
GOLDEN_TOTALS = {
    "opening": D("2337.08"),
    "charged": D("1460.23"),
    "recalculation": D("925.98"),
    "total": D("2383.29"),
}
GOLDEN_PAYMENT = D("2340.00")
GOLDEN_MONTHS = 24


def demo_organization() -> Organization:
    return Organization(
        code=DEMO_CODE,
        name='АО "ДЭК"',
        branch='"Хабаровскэнергообл"',
        inn="2723088770",
        kpp="272301001",
        address="680000, г. Хабаровск, ул. Фрунзе, д. 49",
        phone="+7 (4212) 00-00-00",
        email="info@dek.example",
        office_hours="пн–пт 9:00–18:00, обед 13:00–14:00",
        emergency_phone="+7 (4212) 00-00-05",
        bank_name='ДАЛЬНЕВОСТОЧНЫЙ БАНК ПАО "СБЕРБАНК"',
        bic="040813608",
        corr_account="30101810600000000608",
        settlement_account="40702810870000000001",
        timezone="Asia/Vladivostok",  # Khabarovsk's zone in the tz database
        readings_day_from=20,
        readings_day_to=25,
    )


async def add_golden_account(
    session: AsyncSession, organization: Organization | None = None
) -> Account:
    """The seed's account `00000000` with 24 months ending March 2020, figure 5 exact."""
    if organization is None:
        organization = demo_organization()
        session.add(organization)
        await session.flush()
    house = House(
        organization_id=organization.id,
        code="golden-house",
        address="г. Хабаровск, ул. Ленина, д. 1",
        street="ул. Ленина",
        search_text="г. хабаровск, ул. ленина, д. 1",
    )
    session.add(house)
    await session.flush()
    apartment = Apartment(
        house_id=house.id, number="1", sort_key=1, area=D("33.10"), ownership_type="Частная"
    )
    session.add(apartment)
    await session.flush()
    account = Account(
        organization_id=organization.id,
        apartment_id=apartment.id,
        number=GOLDEN_NUMBER,
        holder_name=GOLDEN_HOLDER,
        phone=GOLDEN_PHONE,
    )
    session.add(account)
    services = {}
    for order, line in enumerate(GOLDEN_LINES):
        service = Service(
            organization_id=organization.id, code=line.code, name=line.name, unit=line.unit,
            group_name=GOLDEN_GROUP, resource=line.resource, sort_order=order,
        )  # fmt: skip
        services[line.code] = service
        session.add(service)
    await session.flush()

    # Earlier months chain into March: each month's closing is the next month's opening.
    for line in GOLDEN_LINES:
        service = services[line.code]
        session.add(
            Charge(
                account_id=account.id, period=GOLDEN_PERIOD, service_id=service.id,
                tariff=line.tariff, volume=line.volume, opening=line.opening,
                charged=line.charged, recalculation=line.recalculation, paid=line.paid,
                closing=line.total,
            )
        )  # fmt: skip
        closing = line.opening
        for back in range(1, GOLDEN_MONTHS):
            period = add_months(GOLDEN_PERIOD, -back)
            charged = (line.charged * (D(1) + D(back % 5) / 50)).quantize(D("0.01"))
            if line.code == "heating" and period.month in (6, 7, 8):
                charged = D("0.00")  # no heating in summer
            paid = (charged * D("0.98")).quantize(D("0.01"))
            opening = closing - charged + paid
            session.add(
                Charge(
                    account_id=account.id, period=period, service_id=service.id,
                    tariff=line.tariff, volume=(charged / line.tariff).quantize(D("0.0001")),
                    opening=opening, charged=charged, recalculation=D(0), paid=paid,
                    closing=closing,
                )
            )  # fmt: skip
            closing = opening

    for back in range(GOLDEN_MONTHS):
        period = add_months(GOLDEN_PERIOD, -back)
        if back == 0:
            amount = GOLDEN_PAYMENT
        else:
            amount = sum(
                (
                    (line.charged * (D(1) + D(back % 5) / 50)).quantize(D("0.01"))
                    * (0 if line.code == "heating" and period.month in (6, 7, 8) else 1)
                    * D("0.98")
                ).quantize(D("0.01"))
                for line in GOLDEN_LINES
            )
        session.add(
            Payment(
                account_id=account.id, period=period, paid_on=period.replace(day=10),
                amount=amount, source="Сбербанк Онлайн",
            )
        )  # fmt: skip

    hot = Meter(
        account_id=account.id, code="golden-hw", resource="hot_water", serial="ГВ-0047114711",
        digits=5, decimals=3, verification_due=dt.date(2025, 6, 30),
    )  # fmt: skip
    cold = Meter(
        account_id=account.id, code="golden-cw", resource="cold_water", serial="ХВ-0047110815",
        digits=5, decimals=3, verification_due=dt.date(2027, 6, 30),
    )  # fmt: skip
    session.add_all([hot, cold])
    await session.flush()
    hot_value, cold_value = D("412.000"), D("733.500")
    for back in range(GOLDEN_MONTHS - 1, -1, -1):
        period = add_months(GOLDEN_PERIOD, -back)
        hot_value += D("1.9125") if back == 0 else D("2.1")
        cold_value += D("3.4") + D(back % 3) / 10
        for meter, value in ((hot, hot_value), (cold, cold_value)):
            session.add(
                Reading(
                    meter_id=meter.id, period=period, value=value,
                    taken_on=period.replace(day=22), source="billing",
                )
            )  # fmt: skip
    await session.flush()
    return account


# --- the demo generator: `python -m bot demo [--accounts N]` -------------------------------------
#
# Everything below writes through the import's bulk path (`storage.importer.bulk`): Core inserts
# of tuples of stored integers, in one transaction. Money is integer kopecks, quantities integer
# ten-thousandths, periods YYYYMM, exactly as the columns store them.

FIRST_PERIOD = add_months(GOLDEN_PERIOD, -(GOLDEN_MONTHS - 1))  # April 2018
DEMO_SEED = 2020
APARTMENTS_PER_HOUSE = 60

# code, name, unit, group, resource, is_common, sort order, tariff of March 2020 (₽ per unit)
DEMO_SERVICES = (
    ("hvs", "ХВС", "куб.м", "Водоснабжение", "cold_water", False, 3, "32.86"),
    ("sewage", "Водоотведение", "куб.м", "Водоотведение", "sewage", False, 4, "27.45"),
    ("el_day", "Электроэнергия (день)", "кВт·ч", "Электроснабжение", "electricity", False, 5, "4.76"),
    ("el_night", "Электроэнергия (ночь)", "кВт·ч", "Электроснабжение", "electricity", False, 6, "2.38"),
    ("maintenance", "Содержание жилья", "кв.м", "Жилищные услуги", "", False, 7, "31.20"),
    ("hvs_odn", "ХВС ОДН", "куб.м", "Коммунальные ресурсы на СОИ", "cold_water", True, 8, "32.86"),
    ("el_odn", "Электроэнергия ОДН", "кВт·ч", "Коммунальные ресурсы на СОИ", "electricity", True,
     9, "4.76"),
)  # fmt: skip

# Real streets of Khabarovsk (ул. Ленина is the golden account's).
STREETS = (
    "ул. Муравьёва-Амурского", "ул. Карла Маркса", "ул. Ким Ю Чена", "ул. Дзержинского",
    "ул. Серышева", "ул. Пушкина", "ул. Запарина", "ул. Шеронова", "ул. Тихоокеанская",
    "ул. Волочаевская", "ул. Калинина", "Амурский бульвар", "ул. Ленинградская",
    "ул. Павловича", "ул. Краснодарская", "пр-кт 60-летия Октября", "ул. Суворова",
    "ул. Выборгская", "ул. Комсомольская", "ул. Шевченко", "ул. Истомина", "ул. Фрунзе",
    "ул. Гоголя", "ул. Льва Толстого", "ул. Победы",
)  # fmt: skip
SURNAMES = (
    "Иванов", "Смирнов", "Кузнецов", "Попов", "Васильев", "Петров", "Соколов", "Михайлов",
    "Новиков", "Фёдоров", "Морозов", "Волков", "Алексеев", "Лебедев", "Семёнов", "Егоров",
    "Павлов", "Козлов", "Степанов", "Николаев", "Орлов", "Андреев", "Макаров", "Никитин",
)  # fmt: skip
MALE_NAMES = ("Александр", "Сергей", "Дмитрий", "Андрей", "Алексей", "Игорь", "Николай", "Юрий")
FEMALE_NAMES = ("Елена", "Ольга", "Наталья", "Татьяна", "Ирина", "Анна", "Мария", "Светлана")
FATHERS = (
    ("Александрович", "Александровна"), ("Сергеевич", "Сергеевна"), ("Петрович", "Петровна"),
    ("Николаевич", "Николаевна"), ("Викторович", "Викторовна"), ("Юрьевич", "Юрьевна"),
    ("Иванович", "Ивановна"), ("Михайлович", "Михайловна"),
)  # fmt: skip
OWNERSHIP = (("Частная", 85), ("Муниципальная", 12), ("Государственная", 3))
PAYMENT_SOURCES = ("Сбербанк Онлайн", "касса", "Почта России", "ВТБ Онлайн", "терминал")
HEATING_MONTHS = {10: 1.0, 11: 1.0, 12: 1.0, 1: 1.0, 2: 1.0, 3: 1.0, 4: 1.0, 5: 0.5}


class DatabaseNotEmpty(Exception):
    """The demo fills only an empty database."""


@dataclass
class DemoSummary:
    organization: str
    golden_number: str
    first_period: dt.date
    last_period: dt.date
    counts: dict[str, int]


def demo_periods() -> list[int]:
    return [period_key(add_months(FIRST_PERIOD, m)) for m in range(GOLDEN_MONTHS)]


def tariff_factor(period: int) -> D:
    """Tariffs change each January and July (the March 2020 tariffs are the figure's)."""
    if period >= 201907:
        return D(1)
    if period >= 201901:
        return D("0.977")
    if period >= 201807:
        return D("0.961")
    return D("0.929")


def _quantity(value: D) -> int:
    return Quantity().to_storage(value)


def _holder(rnd: random.Random) -> str:
    surname = rnd.choice(SURNAMES)
    father = rnd.choice(FATHERS)
    if rnd.random() < 0.5:
        return f"{surname} {rnd.choice(MALE_NAMES)} {father[0]}"
    return f"{surname}а {rnd.choice(FEMALE_NAMES)} {father[1]}"


def _verification_due(rnd: random.Random, today: dt.date, years: int) -> dt.date:
    """Mostly years ahead; some soon (within a month) and some already past."""
    roll = rnd.random()
    if roll < 0.06:
        return today - dt.timedelta(days=rnd.randint(1, 400))
    if roll < 0.12:
        return today + dt.timedelta(days=rnd.randint(0, 30))
    return today + dt.timedelta(days=rnd.randint(31, 365 * years))


async def database_is_empty(session: AsyncSession) -> bool:
    from sqlalchemy import func, select

    count = await session.scalar(select(func.count()).select_from(Organization))
    accounts = await session.scalar(select(func.count()).select_from(Account))
    return not count and not accounts


@dataclass(frozen=True)
class Contents:
    """What a database that is not empty holds, as the demo and import commands explain it."""

    organizations: tuple[tuple[str, str], ...]  # (code, name), by code
    accounts: int

    @property
    def has_demo(self) -> bool:
        return any(code == DEMO_CODE for code, _ in self.organizations)


async def contents(session: AsyncSession) -> Contents:
    from sqlalchemy import func, select

    organizations = (
        await session.execute(
            select(Organization.code, Organization.name).order_by(Organization.code)
        )
    ).all()
    accounts = await session.scalar(select(func.count()).select_from(Account))
    return Contents(tuple((code, name) for code, name in organizations), int(accounts or 0))


async def fill_demo(
    session: AsyncSession,
    accounts: int = 200,
    *,
    seed: int = DEMO_SEED,
    today: dt.date | None = None,
    progress: Any = None,
) -> DemoSummary:
    """Fill an empty database: the golden account plus `accounts - 1` generated ones.

    The caller commits (one transaction for everything). Raises `DatabaseNotEmpty`.
    """
    if accounts < 1:
        raise ValueError("at least one account (the golden one)")
    if not await database_is_empty(session):
        raise DatabaseNotEmpty
    organization = demo_organization()
    session.add(organization)
    await session.flush()
    await add_golden_account(session, organization)
    for code, name, unit, group, resource, common, order, _ in DEMO_SERVICES:
        session.add(
            Service(
                organization_id=organization.id, code=code, name=name, unit=unit,
                group_name=group, resource=resource, is_common=common, sort_order=order,
            )
        )  # fmt: skip
    await session.flush()
    counts = await session.run_sync(
        lambda sync: _generate(
            sync.connection(), organization.id, accounts - 1, random.Random(seed),
            today or dt.date.today(), progress,
        )
    )  # fmt: skip
    counts["accounts"] += 1  # the golden one
    return DemoSummary(
        organization=organization.name,
        golden_number=GOLDEN_NUMBER,
        first_period=FIRST_PERIOD,
        last_period=GOLDEN_PERIOD,
        counts=counts,
    )


def _generate(
    conn: Any, org_id: int, count: int, rnd: random.Random, today: dt.date, progress: Any
) -> dict[str, int]:
    from sqlalchemy import select

    from storage.importer import bulk as t

    periods = demo_periods()
    service_ids = dict(
        conn.execute(
            select(t.services.c.code, t.services.c.id).where(t.services.c.organization_id == org_id)
        ).all()
    )
    tariffs: dict[str, D] = {line.code: line.tariff for line in GOLDEN_LINES}
    tariffs.update({spec[0]: D(spec[7]) for spec in DEMO_SERVICES})
    # tariff per (service, month) as stored ten-thousandths
    tariff_q = {
        code: [_quantity((base * tariff_factor(p)).quantize(D("0.01"))) for p in periods]
        for code, base in tariffs.items()
    }
    codes = ("gvs_tn", "gvs_tz", "heating", *(spec[0] for spec in DEMO_SERVICES))
    service_of = [service_ids[c] for c in codes]
    counts = dict.fromkeys(
        ("houses", "apartments", "accounts", "charges", "payments", "meters", "readings"), 0
    )
    if count == 0:
        return counts

    # houses, apartments, accounts
    house_count = -(-count // APARTMENTS_PER_HOUSE)
    house_rows = []
    for h in range(house_count):
        street = STREETS[h % len(STREETS)]
        number = 2 * (h // len(STREETS)) + 3  # odd side of the street: д. 3, 5, 7, ...
        address = f"г. Хабаровск, {street}, д. {number}"
        house_rows.append((org_id, f"h{h + 1:05d}", address, street, address.lower()))
    counts["houses"] = t.insert_rows(
        conn, t.houses, ("organization_id", "code", "address", "street", "search_text"), house_rows
    )
    house_ids = dict(
        conn.execute(
            select(t.houses.c.code, t.houses.c.id).where(t.houses.c.organization_id == org_id)
        ).all()
    )
    ownership = [name for name, weight in OWNERSHIP for _ in range(weight)]
    areas = [rnd.randint(2800, 9500) for _ in range(count)]  # m² × 100
    apartment_rows = []
    for i in range(count):
        house = house_ids[f"h{i // APARTMENTS_PER_HOUSE + 1:05d}"]
        number = i % APARTMENTS_PER_HOUSE + 1
        apartment_rows.append((house, str(number), number, areas[i], rnd.choice(ownership)))
    counts["apartments"] = t.insert_rows(
        conn, t.apartments, ("house_id", "number", "sort_key", "area", "ownership_type"),
        apartment_rows,
    )  # fmt: skip
    apartment_ids = {
        (house, number): id_
        for id_, house, number in conn.execute(
            select(t.apartments.c.id, t.apartments.c.house_id, t.apartments.c.number).where(
                t.apartments.c.house_id.in_(list(house_ids.values()))
            )
        )
    }
    numbers = [f"{27000001 + i * 3:08d}" for i in range(count)]
    account_rows = []
    for i in range(count):
        apartment = apartment_ids[(apartment_rows[i][0], apartment_rows[i][1])]
        phone = f"+7924{i:07d}" if rnd.random() < 0.3 else None
        account_rows.append((org_id, apartment, numbers[i], _holder(rnd), phone, False))
    counts["accounts"] = t.insert_rows(
        conn, t.accounts,
        ("organization_id", "apartment_id", "number", "holder_name", "phone", "closed"),
        account_rows,
    )  # fmt: skip
    account_ids = dict(
        conn.execute(
            select(t.accounts.c.number, t.accounts.c.id).where(
                t.accounts.c.organization_id == org_id
            )
        ).all()
    )
    del apartment_rows, account_rows, apartment_ids

    # meters: cold and hot water, electricity day and night zones
    meter_specs = (
        ("hvs", "cold_water", "", "ХВ", 5, 3, 6),
        ("gvs", "hot_water", "", "ГВ", 5, 3, 4),
        ("el-day", "electricity", "day", "ЭЛ", 6, 1, 16),
        ("el-night", "electricity", "night", "ЭЛ", 6, 1, 16),
    )
    meter_rows = []
    for number in numbers:
        account = account_ids[number]
        electric_serial = f"ЭЛ-{rnd.randint(10**7, 10**8 - 1)}"
        electric_due = _verification_due(rnd, today, 16)
        for code, resource, zone, prefix, digits, decimals, years in meter_specs:
            if prefix == "ЭЛ":
                serial, due = electric_serial, electric_due  # one two-zone meter
            else:
                serial = f"{prefix}-{rnd.randint(10**7, 10**8 - 1)}"
                due = _verification_due(rnd, today, years)
            meter_rows.append((account, code, resource, serial, zone, digits, decimals, due, False))
    counts["meters"] = t.insert_rows(
        conn, t.meters,
        ("account_id", "code", "resource", "serial", "zone", "digits", "decimals",
         "verification_due", "archived"),
        meter_rows,
    )  # fmt: skip
    del meter_rows
    meter_ids = {
        (account, code): id_
        for id_, account, code in conn.execute(
            select(t.meters.c.id, t.meters.c.account_id, t.meters.c.code)
        )
    }

    charges = t.Inserter(conn, t.charges, t.CHARGE_COLUMNS)
    payments = t.Inserter(conn, t.payments, t.PAYMENT_COLUMNS)
    readings = t.Inserter(conn, t.readings, t.READING_COLUMNS)
    charge_buffer: list[tuple] = []
    payment_buffer: list[tuple] = []
    reading_buffer: list[tuple] = []
    created = dt.datetime(2020, 3, 26, 3, 0)
    months = [(p, p % 100) for p in periods]
    heating_share = [HEATING_MONTHS.get(month, 0.0) for _, month in months]
    if progress:
        progress.start("demo accounts", count, "accounts")
    for i, number in enumerate(numbers):
        account = account_ids[number]
        area_q = areas[i] * 100
        people = rnd.choice((1, 1, 2, 2, 2, 3, 3, 4))
        habit = rnd.random()  # < 0.7 pays in full, < 0.9 pays part, else often skips
        opening = [0] * len(codes)
        if habit >= 0.7:
            opening = [rnd.randint(0, 150000) for _ in codes]
        values = [rnd.randint(1000000, 9000000), rnd.randint(500000, 5000000),
                  rnd.randint(10000000, 300000000), rnd.randint(5000000, 150000000)]  # fmt: skip
        odn_el_rate = rnd.randint(5, 15)
        for m, (period, month) in enumerate(months):
            cold = people * rnd.randint(250, 450) * 100  # m³ × 10⁴, in litres
            hot = people * rnd.randint(150, 300) * 100
            day = people * rnd.randint(40, 90) * 10000  # whole kWh
            night = people * rnd.randint(15, 40) * 10000
            volumes = (
                hot, hot * 519 // 10000, int(area_q * 213 // 10000 * heating_share[m]),
                cold, cold + hot, day, night, area_q, rnd.randint(200, 600),
                area_q * odn_el_rate // 100,
            )  # fmt: skip
            if habit < 0.7:
                share = 1.0
            elif habit < 0.9:
                share = rnd.uniform(0.6, 1.0)
            else:
                share = 0.0 if rnd.random() < 0.4 else 1.0
            paid_total = 0
            for s, volume in enumerate(volumes):
                tariff = tariff_q[codes[s]][m]
                charged = (tariff * volume + 500000) // 1000000
                recalculation = 0
                if s != 8 and s != 9 and rnd.random() < 0.02:
                    recalculation = -(charged * rnd.randint(10, 100) // 100)
                    if rnd.random() < 0.3:
                        recalculation = -recalculation
                start = opening[s]
                paid = int(start * share) if start > 0 else 0
                closing = start + charged + recalculation - paid
                charge_buffer.append(
                    (account, period, service_of[s], tariff, volume, start, charged,
                     recalculation, paid, closing)
                )  # fmt: skip
                opening[s] = closing
                paid_total += paid
            if paid_total:
                paid_on = dt.date(period // 100, month, rnd.randint(3, 25))
                payment_buffer.append(
                    (account, period, paid_on, paid_total, rnd.choice(PAYMENT_SOURCES), None)
                )
            taken_on = dt.date(period // 100, month, rnd.randint(20, 25))
            for k, (code, usage) in enumerate(
                (("hvs", cold), ("gvs", hot), ("el-day", day), ("el-night", night))
            ):
                values[k] += usage
                reading_buffer.append(
                    (meter_ids[(account, code)], period, values[k], taken_on, "billing", 1,
                     created, False, "")
                )  # fmt: skip
        if len(charge_buffer) >= t.BATCH:
            counts["charges"] += len(charge_buffer)
            charges(charge_buffer)
            charge_buffer = []
        if len(reading_buffer) >= t.BATCH:
            counts["readings"] += len(reading_buffer)
            readings(reading_buffer)
            reading_buffer = []
        if len(payment_buffer) >= t.BATCH:
            counts["payments"] += len(payment_buffer)
            payments(payment_buffer)
            payment_buffer = []
        if progress and i % 100 == 99:
            progress.advance(100)
    for inserter, buffer, name in (
        (charges, charge_buffer, "charges"),
        (readings, reading_buffer, "readings"),
        (payments, payment_buffer, "payments"),
    ):
        inserter(buffer)
        counts[name] += len(buffer)
    if progress:
        progress.finish()
    return counts
