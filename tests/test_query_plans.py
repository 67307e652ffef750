"""The account screens' queries find one account's rows by index, on SQLite as the bot sends them.

SQLite keeps no statistics unless asked (`ANALYZE`), so between two indexes that match a query
equally well it may take either. The version index `(import_id, period)` matched the month query
as well as the account's own index did, and SQLite took it: every account's rows of that month,
34 ms a month view at 10 000 accounts. These tests run the repository functions, catch the
statements they send, and ask SQLite for its plan of each.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from storage.db import create_session_factory
from storage.demo import GOLDEN_PERIOD
from storage.repo import billing
from storage.repo.accounts import resident_with_accounts
from tests import factories

SEARCH = re.compile(
    r"SEARCH (?P<table>\w+)(?: AS \w+)? USING (?:COVERING )?INDEX \S+ \((?P<on>.*)\)"
)


async def plans_of(engine: AsyncEngine, call: Any) -> list[list[str]]:
    """Run `call(session)`; SQLite's plan (its detail lines) of each SELECT it sent."""
    sent: list[tuple[str, Any]] = []

    def catch(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            sent.append((statement, parameters))

    event.listen(engine.sync_engine, "before_cursor_execute", catch)
    try:
        async with create_session_factory(engine)() as session:
            await call(session)
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", catch)
    plans = []
    async with engine.connect() as connection:
        for statement, parameters in sent:
            rows = await connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
            plans.append([row[3] for row in rows])
    return plans


def charges_lookups(plan: list[str]) -> list[str]:
    """What each read of `charges` (or an alias of it) in the plan is keyed on; a full scan, or a
    search of an index with no column of it constrained, is an assertion error."""
    reads = [line for line in plan if re.match(r"(SCAN|SEARCH) charges(_\d+)?\b", line)]
    keyed = [m["on"] for line in reads if (m := SEARCH.match(line))]
    assert len(keyed) == len(reads), plan
    return keyed


@pytest.fixture
async def accounts(sqlite_engine: AsyncEngine) -> tuple[int, int]:
    """The golden account with its months, and a resident linked to it."""
    async with create_session_factory(sqlite_engine)() as session:
        account = await factories.golden(session)
        person = await factories.resident(session)
        await factories.link(session, person, account)
        await session.commit()
        return account.id, person.id


async def test_a_month_view_reads_only_the_accounts_rows(
    sqlite_engine: AsyncEngine, accounts: tuple[int, int]
) -> None:
    account_id, _ = accounts

    async def months(session: AsyncSession) -> None:
        assert await billing.month_charges(session, account_id, GOLDEN_PERIOD) is not None
        assert await billing.month_charges(session, account_id) is not None

    for plan in await plans_of(sqlite_engine, months):
        lookups = charges_lookups(plan)
        assert lookups, plan
        # every read of charges is keyed on the account: one account's rows, whatever the month
        assert all("account_id=" in on for on in lookups), plan
        # and the month's own rows exactly: its version, its period, its account
        assert any(("period=" in on and "account_id=" in on) for on in lookups), plan


async def test_the_card_and_the_balance_read_only_the_accounts_rows(
    sqlite_engine: AsyncEngine, accounts: tuple[int, int]
) -> None:
    account_id, resident_id = accounts

    async def card(session: AsyncSession) -> None:
        summary = await billing.card_summary(session, account_id, resident_id)
        assert summary.balance is not None and summary.links == 1 and not summary.paid_in_bot
        assert await billing.balance(session, account_id) is not None

    plans = await plans_of(sqlite_engine, card)
    assert len(plans) == 2
    for plan in plans:
        lookups = charges_lookups(plan)
        assert lookups and all("account_id=" in on for on in lookups), plan


async def test_a_residents_accounts_and_their_figures_read_only_their_rows(
    sqlite_engine: AsyncEngine, accounts: tuple[int, int]
) -> None:
    """What a process that keeps people reads for a resident's first update: the resident, the
    linked accounts with their addresses, and each account's card figures, in one SELECT."""
    account_id, resident_id = accounts

    async def first_update(session: AsyncSession) -> None:
        found = await resident_with_accounts(session, 1001)  # factories.resident()'s
        assert found is not None
        resident, linked = found
        assert resident.id == resident_id and [a.id for a, _ in linked] == [account_id]
        assert linked[0][1].balance is not None and not linked[0][1].paid_in_bot

    plans = await plans_of(sqlite_engine, first_update)
    assert len(plans) == 1
    plan = plans[0]
    lookups = charges_lookups(plan)
    assert lookups and all("account_id=" in on for on in lookups), plan
    assert not [line for line in plan if line.startswith(("SCAN residents", "SCAN accounts"))]
