"""Demo data: a believable organization, and the account of figure 5 of the seed, exactly.

`add_golden_account` is the single definition of the golden numbers (DESIGN.md): the demo command
and the tests' factories both use it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal as D

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

GOLDEN_PERIOD = dt.date(2020, 3, 1)
GOLDEN_NUMBER = "00000000"
GOLDEN_PHONE = "+79141234567"
GOLDEN_HOLDER = "Иванов Иван Иванович"
GOLDEN_GROUP = "Теплоснабжение"


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
        code="dek",
        name='АО "ДЭК"',
        branch='"Хабаровскэнергообл"',
        inn="2723088770",
        kpp="272301001",
        address="680000, г. Хабаровск, ул. Фрунзе, д. 49",
        phone="+7 (4212) 00-00-00",
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
