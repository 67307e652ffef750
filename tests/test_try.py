"""`python -m bot try`'s scratch database: the demo in it, the readings window opened on request,
and a second run in the same folder continues the try. (The terminal itself: e2e/test_try.py.)"""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from bot.cli.try_ import bot_environment, prepare_database
from storage.db import create_engine
from storage.demo import DEMO_CODE
from storage.models import Account, Organization


async def window_and_accounts(db_url: str) -> tuple[int, int, int]:
    engine = create_engine(db_url)
    async with engine.connect() as conn:
        day_from, day_to = (
            await conn.execute(
                select(Organization.readings_day_from, Organization.readings_day_to).where(
                    Organization.code == DEMO_CODE
                )
            )
        ).one()
        accounts = await conn.scalar(select(func.count()).select_from(Account))
    await engine.dispose()
    return day_from, day_to, int(accounts or 0)


def test_the_demo_window_is_the_20th_to_the_25th_and_opens_for_a_try(db_url: str) -> None:
    asyncio.run(prepare_database(db_url, 3, readings_open=False))
    assert asyncio.run(window_and_accounts(db_url)) == (20, 25, 3)
    asyncio.run(prepare_database(db_url, 3, readings_open=True))  # the same folder again
    assert asyncio.run(window_and_accounts(db_url)) == (1, 31, 3)


def test_none_of_the_developers_settings_reach_the_bot(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql+asyncpg://prod/db")
    monkeypatch.setenv("OPERATORS_CHAT_ID", "-100123")
    monkeypatch.setenv("WEBAPP_URL", "https://example.org/app")
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy:3128")
    env = bot_environment("http://127.0.0.1:1", tmp_path, "sqlite+aiosqlite:///try.sqlite3")
    assert env["DATABASE_URL"] == "sqlite+aiosqlite:///try.sqlite3"
    assert env["TELEGRAM_API_URL"] == "http://127.0.0.1:1"
    assert "OPERATORS_CHAT_ID" not in env and "WEBAPP_URL" not in env
    assert "HTTPS_PROXY" not in env
