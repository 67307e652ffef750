"""Object factories: registered residents, linked accounts, the golden account."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from storage.demo import add_golden_account, demo_organization
from storage.models import (
    Account,
    AccountLink,
    Apartment,
    House,
    Meter,
    Organization,
    Reading,
    Resident,
    utcnow,
)

_seq = itertools.count(1)


async def organization(session: AsyncSession, **fields: object) -> Organization:
    org = demo_organization()
    n = next(_seq)
    org.code = f"org{n}"
    for name, value in fields.items():
        setattr(org, name, value)
    session.add(org)
    await session.flush()
    return org


async def resident(
    session: AsyncSession,
    telegram_id: int = 1001,
    phone: str | None = "+79990000001",
    *,
    registered: bool = True,
    **fields: object,
) -> Resident:
    now = utcnow()
    person = Resident(
        telegram_id=telegram_id,
        chat_id=telegram_id,
        phone=phone,
        phone_verified_at=now if phone else None,
        agreed_at=now if registered else None,
        consent_at=now if registered else None,
        registered_at=now if registered else None,
        **fields,
    )
    session.add(person)
    await session.flush()
    return person


async def account(
    session: AsyncSession,
    org: Organization | None = None,
    *,
    number: str | None = None,
    holder_name: str = "Петров Пётр Петрович",
    phone: str | None = None,
    address: str | None = None,
    apartment_number: str = "5",
) -> Account:
    org = org or await organization(session)
    n = next(_seq)
    house = House(
        organization_id=org.id,
        code=f"h{n}",
        address=address or f"г. Хабаровск, ул. Пушкина, д. {n}",
        street="ул. Пушкина",
        search_text=(address or f"г. Хабаровск, ул. Пушкина, д. {n}").lower(),
    )
    session.add(house)
    await session.flush()
    apartment = Apartment(
        house_id=house.id, number=apartment_number, sort_key=int(apartment_number or 0),
        area=Decimal("45.20"), ownership_type="Частная",
    )  # fmt: skip
    session.add(apartment)
    await session.flush()
    acc = Account(
        organization_id=org.id,
        apartment_id=apartment.id,
        number=number or f"{n:08d}",
        holder_name=holder_name,
        phone=phone,
    )
    session.add(acc)
    await session.flush()
    return acc


async def golden(session: AsyncSession) -> Account:
    """The seed's account 00000000 with figure 5's numbers (storage.demo)."""
    return await add_golden_account(session)


async def link(session: AsyncSession, person: Resident, acc: Account) -> AccountLink:
    item = AccountLink(resident_id=person.id, account_id=acc.id, method="phone")
    session.add(item)
    await session.flush()
    return item


async def golden_linked(session: AsyncSession) -> Account:
    """The golden account linked to a registered resident (`resident`'s defaults), committed."""
    person = await resident(session)
    account = await golden(session)
    await link(session, person, account)
    await session.commit()
    return account


async def meter(session: AsyncSession, acc: Account, **fields: object) -> Meter:
    """A meter of the account: cold water, 5 digits and 3 decimals unless told otherwise."""
    n = next(_seq)
    values: dict[str, object] = {
        "code": f"m{n}",
        "resource": "cold_water",
        "serial": f"ХВ-{n:06d}",
        "digits": 5,
        "decimals": 3,
    }
    values.update(fields)
    item = Meter(account_id=acc.id, **values)
    session.add(item)
    await session.flush()
    return item


async def reading(
    session: AsyncSession,
    item: Meter,
    period: dt.date,
    value: Decimal | str,
    **fields: object,
) -> Reading:
    """A reading of `period` (billing's by default)."""
    row = Reading(
        meter_id=item.id,
        period=period,
        value=Decimal(value),
        taken_on=fields.pop("taken_on", period.replace(day=22)),
        source=fields.pop("source", "billing"),
        **fields,
    )
    session.add(row)
    await session.flush()
    return row
