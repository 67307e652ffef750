"""Shared fixtures: a fresh real database per test, the real dispatcher, a recording session.

SQLite files by default; a PostgreSQL database emptied before each test and Redis dialogue state
when TEST_DATABASE_URL / TEST_REDIS_URL are set (see tests/databases.py and .ci/run).
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from aiogram import Bot, Dispatcher
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.app import create_bot, create_dispatcher
from bot.config import Settings
from storage.db import create_engine, create_session_factory
from storage.migrate import upgrade
from tests import databases
from tests.harness import BOT_TOKEN, BotClient, RecordingSession


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under pytest-xdist, the end-to-end tests (each starts `python -m bot` processes, seconds
    of CPU apiece) run one after another on one worker while the others take the rest."""
    e2e = Path(__file__).parent / "e2e"
    for item in items:
        if e2e in item.path.parents:
            item.add_marker(pytest.mark.xdist_group("e2e"))


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The schema, made once by the real migrations; each test gets a copy of the file."""
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    upgrade(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture
async def sqlite_engine(template_db: Path, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    """A migrated SQLite database even when the suite runs on PostgreSQL: for the tests of
    SQLite's own behaviour (the engine's pragmas, its query plans)."""
    path = tmp_path / "sqlite.sqlite3"
    shutil.copy(template_db, path)
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str | None]:
    """On PostgreSQL: this pytest process's database, migrated once (emptied before each test)."""
    admin_url = databases.TEST_DATABASE_URL
    if admin_url is None:
        yield None
        return
    name = databases.new_database_name("test")
    url = databases.create_database(admin_url, name)
    upgrade(url)
    yield url
    databases.drop_database(admin_url, name)


@pytest.fixture
def db_url(pg_database: str | None, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, migrated database for this test: a SQLite file, or the emptied PostgreSQL one."""
    if pg_database is not None:
        databases.empty_database(databases.TEST_DATABASE_URL, pg_database)
        return pg_database
    path = tmp_path / "bot.sqlite3"
    shutil.copy(request.getfixturevalue("template_db"), path)
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture
def redis_url() -> str | None:
    """Redis for dialogue state and throttling when TEST_REDIS_URL is set (flushed per test)."""
    if databases.TEST_REDIS_URL is None:
        return None
    databases.flush_redis(databases.TEST_REDIS_URL)
    return databases.TEST_REDIS_URL


@pytest.fixture
def settings(db_url: str, redis_url: str | None) -> Settings:
    return Settings(
        _env_file=None,  # tests never read a developer's .env
        bot_token=BOT_TOKEN,
        database_url=db_url,
        redis_url=redis_url,
        operators_chat_id=-100500,
        admin_ids=[9000],
        scheduler_enabled=False,
        render_workers=0,
        throttle_rate=1000,
        throttle_burst=1000,
    )


@pytest.fixture
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(settings.database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return create_session_factory(engine)


@pytest.fixture
async def session(session_factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """A session for arranging data and checking the database from a test."""
    async with session_factory() as session:
        yield session


@pytest.fixture
async def bot(settings: Settings) -> AsyncIterator[Bot]:
    bot = create_bot(settings, session=RecordingSession())
    yield bot
    await bot.session.close()


@pytest.fixture
async def dp(
    settings: Settings, session_factory: async_sessionmaker[AsyncSession]
) -> AsyncIterator[Dispatcher]:
    dispatcher = create_dispatcher(settings, session_factory)
    yield dispatcher
    await dispatcher.storage.close()  # Redis storage holds a connection pool


@pytest.fixture
def client(dp: Dispatcher, bot: Bot) -> BotClient:
    """A resident (Telegram user 1001) in a private chat with the bot."""
    return BotClient(dp, bot)


@pytest.fixture
def make_client(dp: Dispatcher, bot: Bot):
    """More residents: `make_client(1002)`."""

    def make(user_id: int, first_name: str = "Пётр") -> BotClient:
        return BotClient(dp, bot, user_id=user_id, first_name=first_name)

    return make
