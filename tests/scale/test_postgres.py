"""The schema on a real PostgreSQL: the migrations' stairway and the models match there too."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text

from storage.db import create_engine, is_sqlite
from storage.migrate import alembic_config, downgrade, upgrade
from storage.models import Base
from tests import databases
from tests.databases import needs_postgres

pytestmark = needs_postgres

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def empty_pg() -> Iterator[str]:
    assert databases.TEST_DATABASE_URL is not None
    name = databases.new_database_name("empty")
    yield databases.create_database(databases.TEST_DATABASE_URL, name)
    databases.drop_database(databases.TEST_DATABASE_URL, name)


def test_stairway_on_postgres(empty_pg: str) -> None:
    script = ScriptDirectory.from_config(alembic_config(empty_pg))
    revisions = [rev.revision for rev in reversed(list(script.walk_revisions()))]
    previous = "base"
    for revision in revisions:
        upgrade(empty_pg, revision)
        downgrade(empty_pg, previous)
        upgrade(empty_pg, revision)
        previous = revision


async def test_head_matches_models_on_postgres(db_url: str) -> None:
    assert not is_sqlite(db_url)
    engine = create_engine(db_url)
    try:
        async with engine.connect() as connection:
            diff = await connection.run_sync(
                lambda sync: compare_metadata(
                    MigrationContext.configure(sync, opts={"compare_type": True}), Base.metadata
                )
            )
            version = await connection.scalar(text("SELECT version_num FROM alembic_version"))
    finally:
        await engine.dispose()
    assert diff == [], f"models and migrations differ on PostgreSQL: {diff}"
    assert version


def test_dialect_detection() -> None:
    assert is_sqlite("sqlite+aiosqlite:///data/bot.sqlite3")
    assert not is_sqlite("postgresql+asyncpg://u:p@127.0.0.1:5432/cabinet")


def test_processes_starting_together_migrate_once(empty_pg: str) -> None:
    """Several processes start at once on an empty database: each migrates or waits, none fails.
    (Processes, not threads: Alembic's `context` is one per process.)"""
    script = "import sys; from storage.migrate import upgrade; upgrade(sys.argv[1])"
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", script, empty_pg],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    outcomes = [(process.wait(timeout=300), process.communicate()[1]) for process in processes]
    assert [code for code, _ in outcomes] == [0, 0, 0], outcomes


async def test_each_test_gets_an_empty_database_even_after_a_schema_change(
    db_url: str, session_factory
) -> None:
    """The suite reuses one PostgreSQL database: rows and sequences are reset between tests, and
    a test that broke the schema on purpose leaves the next one a remade database."""
    from sqlalchemy import func, select

    from storage.models import Organization
    from tests import factories

    async with session_factory() as session:
        await factories.organization(session)
        await session.commit()
        await session.execute(text("ALTER TABLE residents RENAME TO residents_gone"))
        await session.commit()

    # as the db_url fixture does before the next test (outside the event loop: Alembic runs its own)
    await asyncio.to_thread(databases.empty_database, databases.TEST_DATABASE_URL, db_url)

    engine = create_engine(db_url)
    try:
        async with engine.connect() as connection:
            assert await connection.scalar(select(func.count()).select_from(Organization)) == 0
            assert await connection.scalar(text("SELECT count(*) FROM residents")) == 0
    finally:
        await engine.dispose()
