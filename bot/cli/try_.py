"""`python -m bot try`: the bot on a scratch demo database, against the built-in fake Bot API,
with a chat in this terminal (`bot.fakeapi.terminal`): no Telegram, no token, no set-up.

The bot runs as it does in production (`python -m bot`, a child process) with settings of its
own: the developer's `.env` and environment do not reach it, so a try never touches a real
database or a real Telegram. Its log, the database and the files it sends stay in the folder the
command names. Leaving (/quit, Ctrl-D, Ctrl-C) stops the bot and the fake server.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from bot.cli.common import Subcommands, database
from bot.config import Settings
from bot.errors import CommandError
from receipts.worker import arm_death_signal

if TYPE_CHECKING:
    from bot.fakeapi.server import FakeTelegram
    from bot.fakeapi.terminal import TerminalChat

TOKEN = "42:try-it-without-telegram"
USER_ID = 1001
ROOT = Path(__file__).resolve().parents[2]  # where the bot's packages are
READY_TIMEOUT = 120.0  # a cold start of the bot on a busy machine
STOP_TIMEOUT = 20.0


def register(sub: Subcommands) -> None:
    parser = sub.add_parser(
        "try",
        help="try the bot in this terminal: a scratch demo database and the built-in fake "
        "Telegram (no token needed)",
    )
    parser.add_argument(
        "--dir",
        metavar="DIR",
        help="the folder for the scratch database, the bot's log and the documents and pictures "
        "it sends (default: a new folder in the temporary directory); an existing try's folder "
        "continues that try",
    )
    parser.add_argument(
        "--accounts", type=int, default=20, metavar="N", help="demo accounts (default 20)"
    )
    parser.add_argument(
        "--readings-open",
        action="store_true",
        help="open the demo organization's readings window for the whole month (it takes "
        "readings from the 20th to the 25th)",
    )
    parser.set_defaults(func=run)


async def run(args: argparse.Namespace, settings: Settings) -> int:
    del settings  # the try has settings of its own (see the module's docstring)
    if args.accounts < 1:
        raise CommandError("--accounts must be at least 1 (the golden account)")
    folder = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="bot-try-"))
    folder.mkdir(parents=True, exist_ok=True)
    database_url = f"sqlite+aiosqlite:///{(folder / 'try.sqlite3').resolve()}"
    print(f"Preparing the demo database in {folder} …", flush=True)
    await prepare_database(database_url, args.accounts, args.readings_open)
    from bot.fakeapi.server import FakeTelegram  # aiohttp: loaded by this command only
    from bot.fakeapi.terminal import TerminalChat

    tg = FakeTelegram(TOKEN, bot_username="cabinet_try_bot")
    tg.set_limits()  # no flood limits: one person typing
    from storage.demo import GOLDEN_NUMBER, GOLDEN_PHONE

    user = tg.user(USER_ID, first_name="Анна")
    chat = TerminalChat(tg, user, folder / "files", GOLDEN_PHONE)
    tg.echo = chat.echo
    await tg.start()
    try:
        bot = await start_bot(tg, folder, database_url)
        try:
            await wait_ready(tg, bot, folder)
            print_banner(chat, bot.pid, folder, GOLDEN_NUMBER)
            await converse(chat)
        finally:
            await stop_bot(bot)
    finally:
        await tg.stop()
    print(f"Bye. The database, the bot's log and the files stay in {folder}", flush=True)
    return 0


async def prepare_database(url: str, accounts: int, readings_open: bool) -> None:
    """The demo data in a new database (an existing try's database is kept as it is)."""
    from sqlalchemy import update

    from storage.demo import DEMO_CODE, DatabaseNotEmpty, fill_demo
    from storage.models import Organization

    async with database(Settings(_env_file=None, database_url=url)) as (_, session_factory):
        async with session_factory() as session:
            with contextlib.suppress(DatabaseNotEmpty):
                await fill_demo(session, accounts)
            if readings_open:
                await session.execute(
                    update(Organization)
                    .where(Organization.code == DEMO_CODE)
                    .values(readings_day_from=1, readings_day_to=31)
                )
            await session.commit()


def bot_environment(tg_url: str, folder: Path, database_url: str) -> dict[str, str]:
    """The bot's settings for a try: none of the developer's (see the module's docstring)."""
    fields = {name.upper() for name in Settings.model_fields}
    environment = {
        name: value
        for name, value in os.environ.items()
        if name.upper() not in fields and "PROXY" not in name.upper()
    }
    environment.update(
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        PYTHONUNBUFFERED="1",
        NO_PROXY="*",
        BOT_TOKEN=TOKEN,
        TELEGRAM_API_URL=tg_url,
        DATABASE_URL=database_url,
        SCHEDULER_ENABLED="false",  # no pushes or reminders arriving in the middle of a try
        RENDER_WORKERS="0",  # PDFs and charts in threads: nothing else to start or stop
        RECEIPT_SPOOL_DIR=str(folder / "spool"),
        THROTTLE_RATE="1000",
        THROTTLE_BURST="1000",
    )
    return environment


async def start_bot(
    tg: FakeTelegram, folder: Path, database_url: str
) -> asyncio.subprocess.Process:
    log = (folder / "bot.log").open("ab")
    try:
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            cwd=folder,  # no .env of the developer's is read there
            env=bot_environment(tg.url, folder, database_url),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,  # Ctrl-C reaches this command, which stops the bot in turn
            preexec_fn=arm_death_signal,  # and a SIGKILL of this command takes the bot with it
        )
    finally:
        log.close()


async def wait_ready(tg: FakeTelegram, bot: asyncio.subprocess.Process, folder: Path) -> None:
    """Until the bot polls for updates; if it exits instead, its log says why."""
    polling = asyncio.ensure_future(
        tg.wait_for_call("getUpdates", timeout=READY_TIMEOUT, finished=False)
    )
    exited = asyncio.ensure_future(bot.wait())
    done, _ = await asyncio.wait({polling, exited}, return_when=asyncio.FIRST_COMPLETED)
    for task in (polling, exited):
        task.cancel()
    if polling not in done or polling.cancelled() or polling.exception() is not None:
        tail = (folder / "bot.log").read_text(errors="replace").splitlines()[-20:]
        raise CommandError("the bot did not start; the end of its log:\n" + "\n".join(tail))


def print_banner(chat: TerminalChat, pid: int, folder: Path, golden: str) -> None:
    from bot.fakeapi.terminal import HELP

    files = folder / "files"
    print(f"The bot is running (pid {pid}) on a demo database; its log: {folder / 'bot.log'}")
    print(HELP.format(phone=chat.default_phone, number=golden, files=files))
    print("Start with /start.", flush=True)


async def converse(chat: TerminalChat) -> None:
    from bot.fakeapi.terminal import read_lines

    lines: asyncio.Queue[str | None] = asyncio.Queue()
    reader = asyncio.create_task(read_lines(sys.stdin, lines))
    try:
        while (line := await lines.get()) is not None:
            if not await chat.handle(line):
                break
    finally:
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader


async def stop_bot(bot: asyncio.subprocess.Process) -> None:
    """SIGTERM (the bot stops polling and closes its database), then SIGKILL if it hangs."""
    if bot.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            bot.send_signal(signal.SIGTERM)
        try:
            async with asyncio.timeout(STOP_TIMEOUT):
                await bot.wait()
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                bot.kill()
            await bot.wait()
