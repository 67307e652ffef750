"""Residents, links and "paid through the bot" kept in memory by a single-process bot
(services.people_cache): a card seen before costs no query, and every change is seen as soon as
it must be: at once when this process made it, within a second when another process did.

On PostgreSQL the bot keeps no people (several processes serve updates): the same tests then show
that each change is seen at once."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from sqlalchemy import delete, event, insert, update
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql import Executable

from keyboards.callbacks import OpenCard
from keyboards.card import ChargesMonth
from services import profile
from storage.db import is_sqlite
from storage.demo import GOLDEN_PERIOD
from storage.models import Account, AccountLink, BotPayment, Organization, Resident
from storage.repo import residents
from tests import factories
from texts import fmt
from texts.ru import common
from texts.ru import payments as tp

NOW = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)


class Statements:
    """Counts the SQL statements an engine runs (SQLAlchemy's public cursor event)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.count = 0
        event.listen(engine.sync_engine, "before_cursor_execute", self._seen)

    def _seen(self, *_: object) -> None:
        self.count += 1


@pytest.fixture
def sqlite_only(settings) -> None:
    if not is_sqlite(settings.database_url):
        pytest.skip("on PostgreSQL every update reads people from the database")


async def test_a_card_seen_before_costs_no_query(client, session, engine, sqlite_only) -> None:
    account = await factories.golden_linked(session)
    statements = Statements(engine)
    with time_machine.travel(NOW, tick=False):
        await client.callback(OpenCard(account_id=account.id).pack())
        await client.callback(ChargesMonth(account_id=account.id).pack())
        first = statements.count
        client.replies.clear()
        await client.callback(OpenCard(account_id=account.id).pack())
        await client.callback(ChargesMonth(account_id=account.id).pack())
        await client.send(common.BTN_ACCOUNTS)
    assert first > 0
    assert statements.count == first  # the sender, the links, the figures: all kept
    texts = client.texts()
    assert any("2 383,29" in t.replace("\u00a0", " ") for t in texts)
    assert any("Начисления за март 2020" in t for t in texts)


async def test_an_unlink_in_this_process_refuses_the_account_at_once(client, session) -> None:
    account = await factories.golden_linked(session)
    with time_machine.travel(NOW, tick=False):
        await client.callback(OpenCard(account_id=account.id).pack())
        assert client.alerts() == []
        person = await residents.get_by_telegram_id(session, 1001)
        assert person is not None
        await profile.unlink(session, person, account)  # commits, as the profile screen does
        client.replies.clear()
        await client.callback(OpenCard(account_id=account.id).pack())
        await client.send(common.BTN_ACCOUNTS)
    assert client.alerts() == [common.ACCOUNT_NOT_AVAILABLE]
    assert not any("2 383,29" in t.replace("\u00a0", " ") for t in client.texts())
    assert common.NO_ACCOUNTS in client.last_text()


async def test_a_deleted_registration_is_forgotten_at_once(client, session) -> None:
    account = await factories.golden_linked(session)
    with time_machine.travel(NOW, tick=False):
        await client.callback(OpenCard(account_id=account.id).pack())
        person = await residents.get_by_telegram_id(session, 1001)
        assert person is not None
        await profile.delete_registration(session, person)
        client.replies.clear()
        await client.callback(OpenCard(account_id=account.id).pack())
    assert client.alerts() == [common.NOT_REGISTERED]


async def elsewhere(engine: AsyncEngine, *statements: Executable) -> None:
    """Commit `statements` outside any ORM session of this process: what another process (the
    CLI, a script) does. Only the triggers' generation tells this process, when it looks again
    (at most a second later)."""
    async with engine.begin() as connection:
        for statement in statements:
            await connection.execute(statement)


async def test_another_process_unlinking_refuses_the_account_within_a_second(
    client, session, engine
) -> None:
    account = await factories.golden_linked(session)
    with time_machine.travel(NOW, tick=False) as clock:
        await client.callback(OpenCard(account_id=account.id).pack())
        await elsewhere(engine, delete(AccountLink).where(AccountLink.account_id == account.id))
        clock.shift(dt.timedelta(seconds=1.5))
        client.replies.clear()
        await client.callback(OpenCard(account_id=account.id).pack())
        await client.callback(ChargesMonth(account_id=account.id).pack())
    assert client.alerts() == [common.ACCOUNT_NOT_AVAILABLE] * 2
    assert not any("2 383,29" in t.replace("\u00a0", " ") for t in client.texts())


async def test_another_process_linking_shows_the_account_within_a_second(
    client, session, engine
) -> None:
    person = await factories.resident(session)
    account = await factories.golden(session)
    await session.commit()
    link = insert(AccountLink).values(resident_id=person.id, account_id=account.id, method="phone")
    with time_machine.travel(NOW, tick=False) as clock:
        await client.send(common.BTN_ACCOUNTS)
        assert common.NO_ACCOUNTS in client.last_text()
        await elsewhere(engine, link)
        clock.shift(dt.timedelta(seconds=1.5))
        await client.send(common.BTN_ACCOUNTS)
    assert "2 383,29" in client.last_text().replace("\u00a0", " ")


async def test_another_process_withdrawing_a_registration_is_seen_within_a_second(
    client, session, engine
) -> None:
    account = await factories.golden_linked(session)
    withdrawn = update(Resident).where(Resident.telegram_id == 1001).values(registered_at=None)
    with time_machine.travel(NOW, tick=False) as clock:
        await client.callback(OpenCard(account_id=account.id).pack())
        await elsewhere(engine, withdrawn)
        clock.shift(dt.timedelta(seconds=1.5))
        client.replies.clear()
        await client.callback(OpenCard(account_id=account.id).pack())
    assert client.alerts() == [common.NOT_REGISTERED]


async def test_a_payment_through_the_bot_shows_as_pending_on_the_next_card(
    client, session, engine
) -> None:
    account = await factories.golden_linked(session)
    pending = tp.PAY_PENDING.format(amount=fmt.rub(Decimal("1000.00")))
    with time_machine.travel(NOW, tick=False) as clock:
        await client.callback(OpenCard(account_id=account.id).pack())
        assert pending not in client.last_text()
        paid = insert(BotPayment).values(
            account_id=account.id, period=GOLDEN_PERIOD, amount=Decimal("1000.00"),
            telegram_charge_id="tg-1", provider_charge_id="pr-1", paid_at=NOW.replace(tzinfo=None),
        )  # fmt: skip
        await elsewhere(engine, paid)  # as another process's payments webhook would
        clock.shift(dt.timedelta(seconds=1.5))
        client.replies.clear()
        await client.callback(OpenCard(account_id=account.id).pack())
    assert pending in client.last_text()


async def test_another_process_changing_an_account_or_its_organization_shows_within_a_second(
    client, session, engine
) -> None:
    """An import that updated reference rows and then failed, or a fix by hand: the account's
    holder and its organization's name (and bank details) are read again within a second."""
    account = await factories.golden_linked(session)
    changes = (
        update(Account).where(Account.id == account.id).values(holder_name="Петрова Анна"),
        update(Organization)
        .where(Organization.id == account.organization_id)
        .values(name="ООО «Новый дом»"),
    )
    with time_machine.travel(NOW, tick=False) as clock:
        await client.callback(OpenCard(account_id=account.id).pack())
        assert "Петрова Анна" not in client.last_text()
        await elsewhere(engine, *changes)
        clock.shift(dt.timedelta(seconds=1.5))
        await client.callback(OpenCard(account_id=account.id).pack())
    card = client.last_text()
    assert "Петрова Анна" in card and "ООО «Новый дом»" in card
