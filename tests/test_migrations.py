"""The stairway: every migration goes up, down and up again; the head matches the models."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine

from storage.migrate import alembic_config, downgrade, upgrade
from storage.models import Base


def _revisions(url: str) -> list[str]:
    script = ScriptDirectory.from_config(alembic_config(url))
    return [rev.revision for rev in reversed(list(script.walk_revisions()))]


def test_stairway(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'stairway.sqlite3'}"
    revisions = _revisions(url)
    assert revisions, "no migrations found"
    previous = "base"
    for revision in revisions:
        upgrade(url, revision)
        downgrade(url, previous)
        upgrade(url, revision)
        previous = revision


def test_head_matches_models(tmp_path: Path) -> None:
    path = tmp_path / "head.sqlite3"
    upgrade(f"sqlite+aiosqlite:///{path}")
    engine = create_engine(f"sqlite:///{path}")
    with engine.connect() as connection:
        diff = compare_metadata(
            MigrationContext.configure(connection, opts={"compare_type": True}), Base.metadata
        )
    engine.dispose()
    assert diff == [], f"models and migrations differ: {diff}"
