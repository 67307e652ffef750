"""What every command needs: a migrated database and its session factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.config import Settings
from storage.db import create_engine, create_session_factory
from storage.migrate import upgrade_async


@asynccontextmanager
async def database(
    settings: Settings,
) -> AsyncIterator[tuple[AsyncEngine, async_sessionmaker[AsyncSession]]]:
    await upgrade_async(settings.database_url)
    engine = create_engine(settings.database_url)
    try:
        yield engine, create_session_factory(engine)
    finally:
        await engine.dispose()
