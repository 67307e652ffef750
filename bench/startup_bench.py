"""Start-up of `python -m bot`: to its first getUpdates next to a bare aiogram bot, and to the
first receipt a resident gets with two render workers, plus the workers' memory.

    python bench/startup_bench.py             # 5 rounds
    python bench/startup_bench.py --rounds 2  # a quick run
    git archive main | tar -x -C /tmp/base && python bench/startup_bench.py --base /tmp/base
                                              # also the first receipt of another tree's bot

Everything runs against the fake Bot API server on loopback (`bot/fakeapi/server.py`)
with a migrated SQLite database holding the golden account, linked to a resident. Each round
starts, interleaved so that both see the same machine load:
- a bare aiogram bot (a Dispatcher with one handler, long polling): the floor;
- `python -m bot` with RENDER_WORKERS=0: to its first getUpdates;
- `python -m bot` with RENDER_WORKERS=2: the resident asks for the March 2020 receipt as soon as
  the bot polls; the time from the process start to the PDF arriving, and each render worker's
  resident memory (VmRSS) after it;
- with `--base DIR`: the same first-receipt run of the bot in DIR (an export of another commit,
  e.g. main before a change), in the same rounds.
Reported: medians (wall seconds; CPU seconds of the process and its workers, from rusage, start
to stop) and the machine's load average (the machine may be shared: compare within a run).
Ends with one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.fakeapi.server import FakeTelegram  # noqa: E402
from storage.db import create_engine, create_session_factory  # noqa: E402
from storage.migrate import upgrade_async  # noqa: E402
from tests import factories  # noqa: E402
from tests.e2e.conftest import BotProcess, bot_environment  # noqa: E402
from tests.harness import BOT_TOKEN  # noqa: E402
from texts.ru import common  # noqa: E402

BARE_BOT = textwrap.dedent(
    """
    import asyncio, os
    from aiogram import Bot, Dispatcher, Router
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer
    from aiogram.types import Message

    router = Router()

    @router.message()
    async def echo(message: Message) -> None:
        await message.answer(message.text or "")

    async def main() -> None:
        session = AiohttpSession()
        session.api = TelegramAPIServer.from_base(os.environ["TELEGRAM_API_URL"])
        dp = Dispatcher()
        dp.include_router(router)
        await dp.start_polling(Bot(os.environ["BOT_TOKEN"], session=session))

    asyncio.run(main())
    """
)


async def prepare(url: str) -> None:
    await upgrade_async(url)
    engine = create_engine(url)
    try:
        async with create_session_factory(engine)() as session:
            resident = await factories.resident(session, telegram_id=1001)
            account = await factories.golden(session)
            await factories.link(session, resident, account)
            await session.commit()
    finally:
        await engine.dispose()


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def worker_rss_mb(pid: int) -> list[float]:
    """VmRSS of each render worker below `pid` (spawned: `spawn_main` in its command line)."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            parents[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
    sizes = []
    for child, parent in parents.items():
        if parent != pid:
            continue
        try:
            if b"spawn_main" not in Path(f"/proc/{child}/cmdline").read_bytes():
                continue
            status = Path(f"/proc/{child}/status").read_text()
        except OSError:
            continue
        kb = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS"))
        sizes.append(kb / 1024)
    return sizes


async def start(tg: FakeTelegram, env: dict[str, str], argv: list[str]) -> tuple[BotProcess, float]:
    mark = tg.mark()
    began = time.perf_counter()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        *argv,
        cwd=tempfile.gettempdir(),
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    bot = BotProcess(process, tg, mark)
    await bot.wait_ready(timeout=120)
    return bot, began


async def polled(tg: FakeTelegram, env: dict[str, str], argv: list[str]) -> tuple[float, float]:
    """Wall seconds to the first getUpdates; CPU seconds of the process, start to stop."""
    cpu = children_cpu()
    bot, began = await start(tg, env, argv)
    wall = time.perf_counter() - began
    assert await bot.stop() == 0, bot.stderr_text()
    return wall, children_cpu() - cpu


async def first_receipt(
    tg: FakeTelegram, env: dict[str, str]
) -> tuple[float, float, float, list[float]]:
    """Seconds from the start to the first getUpdates and to the first receipt; CPU seconds of
    the bot and its workers, start to stop; the workers' RSS."""
    cpu = children_cpu()
    bot, began = await start(tg, env | {"RENDER_WORKERS": "2"}, ["-m", "bot"])
    ready = time.perf_counter() - began
    resident = tg.user(1001)
    await resident.send(common.BTN_RECEIPTS)
    await resident.wait_for("Выберите месяц", timeout=60)
    await resident.click("март 2020", timeout=60)
    await resident.wait_for(lambda call: call.method == "sendDocument", timeout=120)
    receipt = time.perf_counter() - began
    sizes = worker_rss_mb(bot.pid)
    assert await bot.stop() == 0, bot.stderr_text()
    return ready, receipt, children_cpu() - cpu, sizes


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--base", type=Path, help="another tree's bot, in the same rounds")
    args = parser.parse_args()
    names = ["bare", "bare_cpu", "bot", "bot_cpu", "ready", "receipt", "after", "receipt_cpu"]
    names += ["base_ready", "base_receipt", "base_receipt_cpu"]
    figures: dict[str, list[float]] = {name: [] for name in names}
    load = [os.getloadavg()[0]]
    rss: list[float] = []
    with tempfile.TemporaryDirectory(prefix="startup-bench-") as folder:
        url = f"sqlite+aiosqlite:///{Path(folder) / 'bot.sqlite3'}"
        await prepare(url)
        async with FakeTelegram(BOT_TOKEN) as tg:
            env = bot_environment(tg, url)
            bare_env = env | {"TELEGRAM_API_URL": tg.url.rstrip("/")}
            base_env = env | {"PYTHONPATH": str(args.base.resolve())} if args.base else None
            await polled(tg, env, ["-m", "bot"])  # warm the OS file cache and .pyc files
            if base_env is not None:
                await polled(tg, base_env, ["-m", "bot"])
            runs = ["bare", "bot", "receipt"] + (["base"] if base_env is not None else [])
            for round_ in range(args.rounds):
                for run in runs if round_ % 2 == 0 else runs[::-1]:
                    if run == "bare":
                        wall, cpu = await polled(tg, bare_env, ["-c", BARE_BOT])
                        figures["bare"].append(wall)
                        figures["bare_cpu"].append(cpu)
                    elif run == "bot":
                        wall, cpu = await polled(tg, env, ["-m", "bot"])
                        figures["bot"].append(wall)
                        figures["bot_cpu"].append(cpu)
                    elif run == "receipt":
                        ready, receipt, cpu, sizes = await first_receipt(tg, env)
                        figures["ready"].append(ready)
                        figures["receipt"].append(receipt)
                        figures["after"].append(receipt - ready)
                        figures["receipt_cpu"].append(cpu)
                        rss.extend(sizes)
                    else:
                        assert base_env is not None
                        ready, receipt, cpu, _ = await first_receipt(tg, base_env)
                        figures["base_ready"].append(ready)
                        figures["base_receipt"].append(receipt)
                        figures["base_receipt_cpu"].append(cpu)
                load.append(os.getloadavg()[0])
    report(figures, rss, load, args.rounds)


def report(
    figures: dict[str, list[float]], rss: list[float], load: list[float], rounds: int
) -> None:
    median = {name: statistics.median(v) if v else None for name, v in figures.items()}
    print(f"rounds: {rounds}, interleaved; medians; load average {min(load):.1f}-{max(load):.1f}")
    print(f"bare aiogram bot to its first getUpdates: {median['bare']:5.2f} s wall, "
          f"{median['bare_cpu']:5.2f} s CPU (start to stop)")  # fmt: skip
    print(f"python -m bot to its first getUpdates:    {median['bot']:5.2f} s wall, "
          f"{median['bot_cpu']:5.2f} s CPU (start to stop)")  # fmt: skip
    print(f"python -m bot, 2 render workers: polling after {median['ready']:5.2f} s, "
          f"the first receipt delivered {median['receipt']:5.2f} s after the start, "
          f"{median['receipt_cpu']:5.2f} s CPU with its workers")  # fmt: skip
    if median["base_receipt"] is not None:
        print(f"the --base tree's bot, the same: polling after {median['base_ready']:5.2f} s, "
              f"the first receipt delivered {median['base_receipt']:5.2f} s after the start, "
              f"{median['base_receipt_cpu']:5.2f} s CPU with its workers")  # fmt: skip
    print(f"render worker RSS: {', '.join(f'{size:.0f}' for size in rss)} MB")

    def rounded(name: str) -> float | None:
        value = median[name]
        return None if value is None else round(value, 3)

    line = {
        "bare_to_get_updates_s": rounded("bare"),
        "bot_to_get_updates_s": rounded("bot"),
        "bare_cpu_s": rounded("bare_cpu"),
        "bot_cpu_s": rounded("bot_cpu"),
        "bot_with_workers_to_get_updates_s": rounded("ready"),
        "first_receipt_after_start_s": rounded("receipt"),
        "first_receipt_after_polling_s": rounded("after"),
        "first_receipt_cpu_s": rounded("receipt_cpu"),
        "base_first_receipt_after_start_s": rounded("base_receipt"),
        "base_first_receipt_cpu_s": rounded("base_receipt_cpu"),
        "worker_rss_mb_max": round(max(rss), 1) if rss else None,
        "load_average": [round(min(load), 1), round(max(load), 1)],
        "rounds": rounds,
    }
    print(json.dumps(line))


if __name__ == "__main__":
    asyncio.run(main())
