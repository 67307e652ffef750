"""The render workers of the real `python -m bot`: lean (none of the bot's libraries loaded),
they serve a receipt, and none survives a SIGKILL of the bot."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from bot.fakeapi.server import FakeTelegram
from tests import factories
from texts.ru import common

# Shared objects that only the bot's own libraries load (pydantic for aiogram and settings,
# SQLAlchemy's compiled extensions): a worker that maps one has imported the bot.
BOT_LIBRARIES = ("pydantic_core", "sqlalchemy")


def _stat(pid: int) -> tuple[str, int] | None:
    """(state, parent pid) of a live process, None when it is gone or a zombie."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    state, ppid = text.rsplit(")", 1)[1].split()[:2]
    return (state, int(ppid)) if state != "Z" else None


def descendants(pid: int) -> set[int]:
    """Every live process below `pid` (workers, and multiprocessing's resource tracker)."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (stat := _stat(int(entry))) is not None:
            parents[int(entry)] = stat[1]
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier}
        found |= frontier
    return found


def workers(pids: set[int]) -> set[int]:
    return {pid for pid in pids if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()}


def mapped_libraries(pid: int) -> str:
    return Path(f"/proc/{pid}/maps").read_text()


async def gone(pids: set[int], timeout: float = 15) -> set[int]:
    """The processes of `pids` still alive after up to `timeout` s. A process's exit is no event
    this test can await (they are not its children), so /proc is read in a bounded loop."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    alive = {pid for pid in pids if _stat(pid) is not None}
    while alive and loop.time() < deadline:
        await asyncio.sleep(0.1)
        alive = {pid for pid in alive if _stat(pid) is not None}
    return alive


async def test_workers_are_lean_serve_a_receipt_and_die_with_a_killed_bot(
    fake_tg: FakeTelegram, start_bot, db_url: str, session: AsyncSession
) -> None:
    resident = await factories.resident(session, telegram_id=1001)
    account = await factories.golden(session)
    await factories.link(session, resident, account)
    await session.commit()

    bot = await start_bot(db_url, env={"RENDER_WORKERS": "2"})
    started = workers(descendants(bot.pid))
    assert len(started) == 2  # started with the bot, not at the first receipt

    anna = fake_tg.user(1001)
    await anna.send(common.BTN_RECEIPTS)
    await anna.wait_for("Выберите месяц")
    await anna.click("март 2020")
    document = await anna.wait_for(lambda call: call.method == "sendDocument")
    assert "2\u00a0383,29" in (document.text or "")

    below = descendants(bot.pid)
    assert workers(below) == started  # the receipt came from the workers started with the bot
    for pid in started:
        maps = mapped_libraries(pid)
        assert [name for name in BOT_LIBRARIES if name in maps] == []

    os.kill(bot.pid, signal.SIGKILL)
    survivors = await gone(below)
    for pid in survivors:
        os.kill(pid, signal.SIGKILL)  # a failing run leaves no orphans behind either
    assert survivors == set()
    assert await bot.kill() == -signal.SIGKILL
