"""The SQLite engine (storage.db.create_engine): SQLAlchemy's aiosqlite dialect with the pragmas
the bot relies on; errors, transactions, streaming and bulk inserts as SQLAlchemy promises."""

from __future__ import annotations

import pytest
from sqlalchemy import insert, select, text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.db import create_session_factory
from storage.models import Organization
from tests import factories


def org(code: str) -> dict[str, str]:
    return {"code": code, "name": f"УК {code}", "inn": "2721000000"}


async def test_the_engine_is_sqlalchemys_aiosqlite_with_the_pragmas(
    sqlite_engine: AsyncEngine,
) -> None:
    assert sqlite_engine.dialect.driver == "aiosqlite"
    async with sqlite_engine.connect() as connection:
        pragmas = {
            name: await connection.scalar(text(f"PRAGMA {name}"))
            for name in (
                "journal_mode",
                "synchronous",
                "foreign_keys",
                "busy_timeout",
                "secure_delete",
            )
        }
    # synchronous=NORMAL is 1
    assert pragmas == {
        "journal_mode": "wal",
        "synchronous": 1,
        "foreign_keys": 1,
        "busy_timeout": 30000,
        "secure_delete": 1,
    }


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
        with pytest.raises(OperationalError, match="no_such_table"):
            await connection.execute(text("SELECT * FROM no_such_table"))


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
