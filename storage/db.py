"""Engine and sessions. The one place that knows about dialects (SQLite pragmas)."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

log = logging.getLogger(__name__)


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def is_sqlite_file(url: str) -> bool:
    """SQLite in a file (not in memory: there every session shares one connection)."""
    parsed = make_url(url)
    return parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers (the bot) go on while a writer (an import) works; foreign keys make
    # ON DELETE CASCADE erase a resident's personal data as it does on PostgreSQL.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA secure_delete=ON")  # deleted personal data is zeroed, not left in pages
    cursor.close()


# An erasure's checkpoint waits this long for readers of an older snapshot, a few times over.
CHECKPOINT_WAIT_MS = 200
CHECKPOINT_TRIES = 5


async def truncate_wal(session: AsyncSession) -> bool:
    """Make committed deletions final on disk (SQLite; elsewhere a no-op that returns True).

    `secure_delete` zeroes a deleted row in its page, but the WAL file still holds the earlier
    versions of that page until a checkpoint and a reset overwrite them. After an erasure has
    committed, copy the WAL into the database and truncate it, on a connection of the session's
    engine (a reader that holds an older snapshot makes TRUNCATE wait: it is tried a few times,
    each wait bounded, then logged and left to SQLite's next automatic checkpoint). False when
    the WAL could not be emptied.
    """
    bind = session.bind
    engine = bind if isinstance(bind, AsyncEngine) else getattr(bind, "engine", None)
    if engine is None or engine.dialect.name != "sqlite":
        return True
    for attempt in range(1, CHECKPOINT_TRIES + 1):
        async with engine.connect() as connection:
            usual = (await connection.exec_driver_sql("PRAGMA busy_timeout")).scalar_one()
            await connection.exec_driver_sql(f"PRAGMA busy_timeout={CHECKPOINT_WAIT_MS}")
            try:
                result = await connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
                busy = result.one()[0]
            finally:
                await connection.exec_driver_sql(f"PRAGMA busy_timeout={int(usual)}")
        if not busy:
            return True
        log.info("WAL checkpoint after an erasure is busy (try %d)", attempt)
        await asyncio.sleep(CHECKPOINT_WAIT_MS / 1000)
    log.warning("WAL not truncated after an erasure: a reader kept an older snapshot")
    return False


def ensure_sqlite_dir(url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    ensure_sqlite_dir(url)
    # Errors quote the SQL, never its parameters (phones, names, e-mails): logs stay clean.
    kwargs.setdefault("hide_parameters", True)
    if is_sqlite(url):
        # SQLAlchemy's own aiosqlite dialect; the pragmas through its public connect event.
        # Every session and connection ends its own transaction (commit, or rollback on close),
        # so the pool's extra ROLLBACK when a connection comes back is redundant: with aiosqlite
        # it is one more round trip to the driver's thread on every update.
        kwargs.setdefault("pool_reset_on_return", None)
        engine = create_async_engine(url, **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", 10)
    return create_async_engine(url, **kwargs)


# Any constant shared by every process of the bot: the key of PostgreSQL's advisory lock.
MIGRATION_LOCK_KEY = 0x63616269  # "cabi"


def lock_for_migrations(connection: Connection) -> None:
    """Make concurrent migrations of several starting processes run one after another.

    PostgreSQL: a transaction-scoped advisory lock taken before Alembic reads the current version
    (DDL is transactional there, so the next process then sees the new version and does nothing).
    SQLite serializes writers by itself and runs one process.
    """
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
