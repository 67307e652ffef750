"""`python -m bot migrate`: bring the database schema up to date (others do it on their own)."""

from __future__ import annotations

import argparse

from bot.cli.common import Subcommands
from bot.config import Settings


def register(sub: Subcommands) -> None:
    parser = sub.add_parser("migrate", help="create or upgrade the database schema")
    parser.set_defaults(func=run)


async def run(args: argparse.Namespace, settings: Settings) -> int:
    from storage.migrate import upgrade_async  # alembic: loaded by commands, not by --help

    await upgrade_async(settings.database_url)
    print("Database is up to date.")
    return 0
