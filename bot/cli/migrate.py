"""`python -m bot migrate`: bring the database schema up to date (others do it on their own)."""

from __future__ import annotations

import argparse

from bot.config import Settings
from storage.migrate import upgrade_async


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("migrate", help="create or upgrade the database schema")
    parser.set_defaults(func=run)


async def run(args: argparse.Namespace, settings: Settings) -> int:
    await upgrade_async(settings.database_url)
    print("Database is up to date.")
    return 0
