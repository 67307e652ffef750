"""Linking directory in a grid (issue 16, point 6): apartments 4-5 a row and up to 40 a page,
so a 60-flat house is two pages; houses as many a row as their addresses allow."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Account, Apartment, House, Organization
from tests import factories
from tests.harness import BotClient
from texts.ru import accounts as t
from texts.ru import common as tc


def rows(client: BotClient) -> list[list[str]]:
    markup = client.bot_messages()[-1].reply_markup
    return [[b.text for b in row] for row in markup.inline_keyboard]


async def house_of(session: AsyncSession, org: Organization, address: str, flats: int) -> House:
    house = House(organization_id=org.id, code=address, address=address, street=address,
                  search_text=address.lower())  # fmt: skip
    session.add(house)
    await session.flush()
    for n in range(1, flats + 1):
        flat = Apartment(house_id=house.id, number=str(n), sort_key=n)
        session.add(flat)
        await session.flush()
        session.add(
            Account(organization_id=org.id, apartment_id=flat.id, number=f"{house.id:03d}{n:05d}")
        )
    await session.flush()
    return house


async def test_a_sixty_flat_house_is_two_pages_of_a_grid(
    client: BotClient, session: AsyncSession
) -> None:
    await factories.resident(session)
    org = await factories.organization(session, name="УК Север")
    await house_of(session, org, "ул. Мира, д. 3", flats=60)
    await session.commit()

    await client.send("/link")
    await client.click("УК Север", exact=True)
    await client.click("ул. Мира, д. 3")
    assert t.PAGE.format(page=1, pages=2) in client.last_text()
    grid = [row for row in rows(client) if row[0].startswith("кв. ")]
    flats = [label for row in grid for label in row]
    assert flats == [f"кв. {n}" for n in range(1, 41)]  # 40 on the first page, in order
    assert all(4 <= len(row) <= 5 for row in grid)
    assert len(grid) <= 10
    assert [tc.BTN_NEXT] in rows(client)

    await client.click(tc.BTN_NEXT, exact=True)
    assert t.PAGE.format(page=2, pages=2) in client.last_text()
    flats = [label for row in rows(client) if row[0].startswith("кв. ") for label in row]
    assert flats == [f"кв. {n}" for n in range(41, 61)]
    await client.click("кв. 57", exact=True)
    assert "кв. 57" in client.last_text() and "Выберите номер лицевого счёта" in client.last_text()


async def test_houses_sit_as_many_a_row_as_their_addresses_allow(
    client: BotClient, session: AsyncSession
) -> None:
    await factories.resident(session)
    short = await factories.organization(session, name="ТСЖ Мира")
    for n in range(1, 5):
        await house_of(session, short, f"Мира {n}", flats=1)
    long = await factories.organization(session, name="УК Юг")
    for n in range(1, 3):
        await house_of(session, long, f"г. Хабаровск, ул. Карла Маркса, д. {n}", flats=1)
    await session.commit()

    await client.send("/link")
    await client.click("ТСЖ Мира", exact=True)
    houses = [row for row in rows(client) if row[0].startswith("Мира")]
    assert houses == [["Мира 1", "Мира 2", "Мира 3", "Мира 4"]]
    await client.click(tc.BTN_BACK)
    await client.click("УК Юг", exact=True)
    houses = [row for row in rows(client) if "Карла Маркса" in row[0]]
    assert [len(row) for row in houses] == [1, 1]  # a long address keeps its whole row
