"""Scratch PostgreSQL databases for the benchmarks' `--database-url` option.

    --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/postgres

names a server and a user allowed to create databases (the database in it is only used to connect
as an administrator). The benchmarks create their own databases there, named after the benchmark.
"""

from __future__ import annotations

import asyncio

from sqlalchemy.engine import make_url


def is_postgres(url: str | None) -> bool:
    return bool(url) and make_url(url).get_backend_name() == "postgresql"


async def _connect(url: str, database: str | None = None):
    import asyncpg

    parsed = make_url(url)
    return await asyncpg.connect(
        host=parsed.host or "127.0.0.1",
        port=parsed.port or 5432,
        user=parsed.username,
        password=parsed.password,
        database=database or parsed.database or "postgres",
    )


async def scratch_database_async(
    admin_url: str, name: str, *, fresh: bool = True
) -> tuple[str, bool]:
    """(URL of database `name` on the server of `admin_url`, whether it was created now).
    `fresh`: drop it first if it exists; otherwise an existing one is reused (a cache)."""
    connection = await _connect(admin_url)
    try:
        exists = bool(
            await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        )
        if exists and fresh:
            await connection.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            exists = False
        if not exists:
            await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    return url, not exists


def scratch_database(admin_url: str, name: str, *, fresh: bool = True) -> tuple[str, bool]:
    return asyncio.run(scratch_database_async(admin_url, name, fresh=fresh))


async def drop_database_async(admin_url: str, name: str) -> None:
    connection = await _connect(admin_url)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


def drop_database(admin_url: str, name: str) -> None:
    asyncio.run(drop_database_async(admin_url, name))


async def connect(url: str):
    """A raw asyncpg connection to the database of `url` (for baselines)."""
    return await _connect(url, make_url(url).database)
