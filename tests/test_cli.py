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


# Runs operator commands one after another in one fresh interpreter and says, after each, its exit
# code and whether aiogram had been loaded by then.
_COMMANDS_SCRIPT = """
import json, os, sys
from bot.cli import main

def loaded() -> bool:
    return any(name == "aiogram" or name.startswith("aiogram.") for name in sys.modules)

seen = []
for url, args in json.loads(sys.argv[1]):
    os.environ["DATABASE_URL"] = url
    try:
        main(args)
    except SystemExit as done:
        code = done.code or 0
    seen.append([args[0], code, loaded()])
print(json.dumps(seen))
"""


def test_commands_that_do_not_talk_to_telegram_load_no_aiogram(tmp_path: Path) -> None:
    """Issue 12: every command imported aiogram first (`--help` took 15 s on a loaded machine)."""
    import json

    demo_db = f"sqlite+aiosqlite:///{tmp_path}/demo.sqlite3"
    samples_db = f"sqlite+aiosqlite:///{tmp_path}/samples.sqlite3"
    commands = [
        [demo_db, ["--help"]],
        [demo_db, ["migrate"]],
        [demo_db, ["demo", "--accounts", "3", "--progress", "none"]],
        [demo_db, ["card", "00000000"]],
        [demo_db, ["receipt", "00000000", "--output", str(tmp_path / "r.pdf")]],
        [demo_db, ["stats"]],
        [demo_db, ["appeals"]],
        [demo_db, ["export-readings", "--period", "2020-03", "-o", str(tmp_path / "r.csv")]],
        [samples_db, ["import", str(ROOT / "samples"), "--progress", "none"]],
    ]
    env = {k: v for k, v in os.environ.items() if k not in ("BOT_TOKEN", "DATABASE_URL")}
    env["PYTHONPATH"] = str(ROOT)
    result = subprocess.run(
        [sys.executable, "-c", _COMMANDS_SCRIPT, json.dumps(commands)],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert [(name, code) for name, code, _ in seen] == [(args[0], 0) for _, args in commands]
    assert [name for name, _, aiogram in seen if aiogram] == []


def test_the_bot_itself_does_load_aiogram() -> None:
    """The check above can see aiogram: the bot's own modules load it."""
    env = {k: v for k, v in os.environ.items() if k not in ("BOT_TOKEN", "DATABASE_URL")}
    env["PYTHONPATH"] = str(ROOT)
    script = "import sys, bot.app; print('aiogram' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120
    )
    assert result.stdout.strip() == "True", result.stderr
