"""Test databases on a real PostgreSQL and Redis, when `.ci/run` (or a developer) provides them.

`TEST_DATABASE_URL=postgresql+asyncpg://user@host:port/db` runs the suite on PostgreSQL: one
database per pytest process, migrated once, emptied before every test (rows deleted, sequences
restarted: ~20 ms, where CREATE DATABASE ... TEMPLATE costs most of a second for its
checkpoints), so each test starts from a fresh, migrated database as it does on SQLite.
`TEST_REDIS_URL=redis://host:port/n` puts dialogue state and throttling in Redis; that Redis
database is flushed before each test. Without them the suite runs on SQLite files and the tests
that need a server skip.

The suite runs in parallel (pytest-xdist, `-n auto` in pyproject.toml): each worker is a process
of its own, with its own PostgreSQL database (named by its pid), SQLite files (its tmp_path), fake
servers (free loopback ports), and Redis database: worker k (`gwk`) uses database n + k (mod 16).
"""

from __future__ import annotations

import asyncio
import itertools
import os
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import pytest
from sqlalchemy.engine import make_url

T = TypeVar("T")


def worker_number() -> int:
    """The pytest-xdist worker running this process (gw0, gw1, …); 0 in a plain pytest run."""
    return int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)


def redis_of_this_worker(url: str | None) -> str | None:
    """`redis://host:port/n` -> database n + the worker's number (Redis has 16 by default)."""
    if not url:
        return None
    parts = urlsplit(url)
    base = int(parts.path.strip("/") or 0)
    path = f"/{(base + worker_number()) % 16}"
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, parts.fragment))


TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL") or None
TEST_REDIS_URL = redis_of_this_worker(os.environ.get("TEST_REDIS_URL"))

needs_postgres = pytest.mark.skipif(
    TEST_DATABASE_URL is None, reason="needs PostgreSQL: set TEST_DATABASE_URL (.ci/run does)"
)
needs_redis = pytest.mark.skipif(
    TEST_REDIS_URL is None, reason="needs Redis: set TEST_REDIS_URL (.ci/run does)"
)
needs_servers = pytest.mark.skipif(
    TEST_DATABASE_URL is None or TEST_REDIS_URL is None,
    reason="needs PostgreSQL and Redis: set TEST_DATABASE_URL and TEST_REDIS_URL (.ci/run does)",
)

_names = itertools.count(1)


def run_sync(factory: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine from synchronous code, even when an event loop runs in this thread."""
    result: list[T] = []
    errors: list[BaseException] = []

    def target() -> None:
        try:
            result.append(asyncio.run(factory()))  # type: ignore[arg-type]
        except BaseException as error:
            errors.append(error)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]
    return result[0]


def with_database(url: str, name: str) -> str:
    return make_url(url).set(database=name).render_as_string(hide_password=False)


async def _admin(url: str, *statements: str) -> None:
    import asyncpg

    parsed = make_url(url)
    connection = await asyncpg.connect(
        host=parsed.host,
        port=parsed.port,
        user=parsed.username,
        password=parsed.password,
        database=parsed.database or "postgres",
    )
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


def new_database_name(kind: str) -> str:
    return f"{kind}_{os.getpid()}_{next(_names)}"


def create_database(admin_url: str, name: str, template: str | None = None) -> str:
    # FILE_COPY: a plain copy of the template's files, much faster than WAL_LOG for small ones.
    clause = f" TEMPLATE {template} STRATEGY FILE_COPY" if template else ""
    run_sync(lambda: _admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    run_sync(lambda: _admin(admin_url, f'CREATE DATABASE "{name}"{clause}'))
    return with_database(admin_url, name)


def drop_database(admin_url: str, name: str) -> None:
    # FORCE: a bot subprocess killed by a test may leave its connections behind for a moment.
    run_sync(lambda: _admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def empty_database(admin_url: str, url: str) -> None:
    """Back to the freshly migrated state: no rows, sequences from 1. Connections a test left
    behind (a killed bot process, an unclosed session) are ended first, so no lock is in the way.
    A test that changed the schema (renamed a table to break the bot) gets the database remade."""
    from storage.migrate import upgrade
    from storage.models import Base

    tables = [table.name for table in reversed(Base.metadata.sorted_tables)]
    expected = {*tables, "alembic_version"}

    async def empty() -> bool:
        import asyncpg

        parsed = make_url(url)
        connection = await asyncpg.connect(
            host=parsed.host,
            port=parsed.port,
            user=parsed.username,
            password=parsed.password,
            database=parsed.database,
        )
        try:
            await connection.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            present = {
                row[0]
                for row in await connection.fetch(
                    "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
                )
            }
            if present != expected:
                return False
            sequences = await connection.fetch(
                "SELECT sequence_schema, sequence_name FROM information_schema.sequences"
            )
            statements = [f'DELETE FROM "{name}";' for name in tables] + [
                f'ALTER SEQUENCE "{row[0]}"."{row[1]}" RESTART WITH 1;' for row in sequences
            ]
            async with connection.transaction():
                await connection.execute("\n".join(statements))
            return True
        except asyncpg.PostgresError:
            return False
        finally:
            await connection.close()

    if not run_sync(empty):
        create_database(admin_url, make_url(url).database or "")
        upgrade(url)


def flush_redis(url: str) -> None:
    async def flush() -> None:
        from redis.asyncio import Redis

        client = Redis.from_url(url)
        try:
            await client.flushdb()
        finally:
            await client.aclose()

    run_sync(flush)


async def dialogue(dp: Any, user_id: int, bot_id: int | None = None) -> tuple[str | None, dict]:
    """(state, data) of a resident's dialogue, from whichever storage the dispatcher uses
    (the database, or Redis under TEST_REDIS_URL): read it this way, not from `fsm_state`."""
    from aiogram.fsm.storage.base import StorageKey

    from tests.harness import BOT_ID

    key = StorageKey(bot_id=bot_id or BOT_ID, chat_id=user_id, user_id=user_id)
    return await dp.storage.get_state(key), await dp.storage.get_data(key)
