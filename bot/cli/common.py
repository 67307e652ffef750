"""What every command needs: a migrated database and its session factory; the bot's token."""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.errors import CommandError
from storage.db import create_engine, create_session_factory


class Subcommands(Protocol):
    """What a command's `register` uses of `ArgumentParser.add_subparsers()`'s result."""

    def add_parser(self, name: str, **kwargs: Any) -> argparse.ArgumentParser: ...


NO_TOKEN = (
    "BOT_TOKEN is not set. Get a token from @BotFather in Telegram (send /newbot) and put "
    "BOT_TOKEN=<token> into .env in this folder or into the environment."
)


def require_token(settings: Settings, message: str = NO_TOKEN) -> None:
    """Commands that talk to Telegram stop here, with a clear line, when there is no token."""
    if settings.bot_token is None or not settings.bot_token.get_secret_value().strip():
        raise CommandError(message)


@asynccontextmanager
async def database(
    settings: Settings,
) -> AsyncIterator[tuple[AsyncEngine, async_sessionmaker[AsyncSession]]]:
    from storage.migrate import upgrade_async  # alembic: loaded by commands, not by --help

    await upgrade_async(settings.database_url)
    engine = create_engine(settings.database_url)
    try:
        yield engine, create_session_factory(engine)
    finally:
        await engine.dispose()
