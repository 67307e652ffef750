"""The command line as an operator meets it."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None):
    full_env = {k: v for k, v in os.environ.items() if k not in ("BOT_TOKEN", "DATABASE_URL")}
    full_env["PYTHONPATH"] = str(ROOT)
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        capture_output=True, text=True, env=full_env, cwd=cwd or ROOT, timeout=120,
    )  # fmt: skip


def test_without_token_the_bot_says_how_to_get_one(tmp_path: Path) -> None:
    result = run_cli(
        env={"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/x.sqlite3"}, cwd=tmp_path
    )
    assert result.returncode == 2
    assert "BOT_TOKEN" in result.stderr and "@BotFather" in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_migrate_creates_the_database(tmp_path: Path) -> None:
    db = tmp_path / "sub" / "bot.sqlite3"
    result = run_cli("migrate", env={"DATABASE_URL": f"sqlite+aiosqlite:///{db}"}, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert db.exists()
