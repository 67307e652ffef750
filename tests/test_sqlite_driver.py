"""The SQLite dialect with cheaper round trips (storage.sqlite_driver): same results, same errors,
same transactions as SQLAlchemy's aiosqlite; indexed reads on the event loop's thread, everything
else in the worker thread."""

from __future__ import annotations

import collections
import threading
from collections.abc import AsyncIterator

import aiosqlite.core
import pytest
from sqlalchemy import bindparam, func, insert, select, text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from storage import sqlite_driver
from storage.db import create_engine, create_session_factory
from storage.migrate import upgrade_async
from storage.models import Organization
from tests import factories


@pytest.fixture
async def sqlite_engine(tmp_path) -> AsyncIterator[AsyncEngine]:
    """SQLite even when the suite runs on PostgreSQL: this is the SQLite driver's test."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'driver.sqlite3'}"
    await upgrade_async(url)
    engine = create_engine(url)
    yield engine
    await engine.dispose()


@pytest.fixture
def hops(monkeypatch: pytest.MonkeyPatch) -> collections.Counter[str]:
    """Calls handed to aiosqlite's worker threads, by the thread that ran them."""
    counted: collections.Counter[str] = collections.Counter()
    original = aiosqlite.core.Connection._execute

    async def counting(self, fn, *args, **kwargs):  # type: ignore[no-untyped-def]
        counted[getattr(fn, "__name__", repr(fn))] += 1
        return await original(self, fn, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.core.Connection, "_execute", counting)
    return counted


def org(code: str) -> dict[str, str]:
    return {"code": code, "name": f"УК {code}", "inn": "2721000000"}


async def test_the_engine_uses_the_dialect(sqlite_engine: AsyncEngine) -> None:
    assert isinstance(sqlite_engine.dialect, sqlite_driver.HoplessDialect)
    assert sqlite_engine.dialect.driver == "aiosqlite"


async def test_a_statement_is_one_hop_and_idle_commits_are_none(
    sqlite_engine: AsyncEngine, hops: collections.Counter[str]
) -> None:
    async with sqlite_engine.connect() as connection:
        hops.clear()
        rows = (await connection.execute(text("SELECT 1 UNION SELECT 2 ORDER BY 1"))).all()
        await connection.commit()  # nothing written: no transaction open
        await connection.rollback()
    assert [tuple(row) for row in rows] == [(1,), (2,)]
    assert dict(hops) == {"_execute": 1}


async def test_indexed_lookups_run_on_the_loop_thread_and_others_do_not(
    sqlite_engine: AsyncEngine, hops: collections.Counter[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    threads: list[str] = []
    original = sqlite_driver._execute

    def recording(connection, operation, parameters):  # type: ignore[no-untyped-def]
        threads.append(threading.current_thread().name)
        return original(connection, operation, parameters)

    monkeypatch.setattr(sqlite_driver, "_execute", recording)
    async with sqlite_engine.begin() as connection:
        await connection.execute(insert(Organization), [org("a"), org("b")])
    lookup = (
        select(Organization.name)
        .where(Organization.code == bindparam("code"))
        .execution_options(indexed_lookup=True)
    )
    async with sqlite_engine.connect() as connection:
        hops.clear()
        threads.clear()
        assert await connection.scalar(lookup, {"code": "b"}) == "УК b"
        assert sum(hops.values()) == 0
        assert threads == [threading.current_thread().name]
        threads.clear()
        assert await connection.scalar(select(func.count(Organization.id))) == 2
        assert sum(hops.values()) == 1
        assert len(threads) == 1 and threads[0] != threading.current_thread().name


async def test_writes_commit_and_roll_back_as_before(sqlite_engine: AsyncEngine) -> None:
    async with sqlite_engine.connect() as connection:
        await connection.execute(insert(Organization).values(**org("kept")))
        await connection.commit()
        await connection.execute(insert(Organization).values(**org("dropped")))
        await connection.rollback()
    sessions = create_session_factory(sqlite_engine)
    async with sessions() as session:
        codes = list(await session.scalars(select(Organization.code)))
    assert codes == ["kept"]


async def test_errors_come_through_as_sqlalchemy_errors(sqlite_engine: AsyncEngine) -> None:
    async with sqlite_engine.connect() as connection:
        await connection.execute(insert(Organization).values(**org("x")))
        with pytest.raises(IntegrityError):
            await connection.execute(insert(Organization).values(**org("x")))
        await connection.rollback()
        inline = text("SELECT * FROM no_such_table").execution_options(indexed_lookup=True)
        with pytest.raises(OperationalError, match="no_such_table"):
            await connection.execute(inline)


async def test_many_rows_streamed_and_inserted_in_bulk(sqlite_engine: AsyncEngine) -> None:
    async with sqlite_engine.begin() as connection:
        result = await connection.execute(
            insert(Organization), [org(f"o{n:03d}") for n in range(300)]
        )
        assert result.rowcount == 300
    async with sqlite_engine.connect() as connection:
        streamed = [row.code async for row in await connection.stream(select(Organization.code))]
    assert len(streamed) == 300 and streamed[0] == "o000"


async def test_orm_session_on_the_dialect(sqlite_engine: AsyncEngine) -> None:
    sessions = create_session_factory(sqlite_engine)
    async with sessions() as session:
        account = await factories.golden(session)
        await session.commit()
        number = account.number
    async with sessions() as session:
        from storage.repo.billing import accounts_by_number

        (found,) = await accounts_by_number(session, number)
        assert found.organization.name and found.apartment.house.address
