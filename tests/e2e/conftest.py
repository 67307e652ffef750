"""End-to-end fixtures: the real `python -m bot` process against the fake Bot API server.

    async def test_help(fake_tg, start_bot, db_url):
        bot = await start_bot(db_url)          # started and polling (wait_ready() already done)
        anna = fake_tg.user(1001)
        await anna.send("/help")
        call = await anna.wait_for("Личный кабинет")
        assert await bot.stop() == 0           # SIGTERM, graceful

Arrange data with the `session` fixture (and `await session.commit()`) before starting the bot.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from pathlib import Path

import pytest

from bot.config import Settings
from bot.fakeapi.server import FakeTelegram
from tests.harness import BOT_TOKEN

ROOT = Path(__file__).resolve().parents[2]
# The developer's settings (every Settings field) and proxies must not reach the bot under test.
_DROPPED = {name.upper() for name in Settings.model_fields}


class BotProcess:
    """A running `python -m bot` (or another `python -m bot` command when args are given)."""

    def __init__(self, process: asyncio.subprocess.Process, tg: FakeTelegram, mark: int) -> None:
        self.process = process
        self.tg = tg
        self.mark = mark  # index of the first fake call made after this process started
        self._stdout = bytearray()
        self._stderr = bytearray()
        self._output = asyncio.Condition()
        self._signalled = False
        self._readers = [
            asyncio.create_task(self._drain(process.stdout, self._stdout)),
            asyncio.create_task(self._drain(process.stderr, self._stderr)),
        ]

    async def _drain(self, stream: asyncio.StreamReader | None, into: bytearray) -> None:
        if stream is None:
            return
        while chunk := await stream.read(65536):
            into.extend(chunk)
            async with self._output:
                self._output.notify_all()

    async def wait_for_log(self, text: str, timeout: float = 15) -> None:
        """Until `text` appears in the process's stderr (its log)."""
        try:
            async with asyncio.timeout(timeout), self._output:
                await self._output.wait_for(lambda: text in self.stderr_text())
        except TimeoutError:
            raise AssertionError(
                f"{text!r} not in the bot's log within {timeout} s:\n{self.stderr_text()}"
            ) from None

    def send_signal(self, sig: signal.Signals = signal.SIGTERM) -> None:
        """Send a signal without waiting (see `stop()` to wait for the exit)."""
        if self.process.returncode is None:
            self.process.send_signal(sig)
            self._signalled = True

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def returncode(self) -> int | None:
        return self.process.returncode

    def stdout_text(self) -> str:
        return self._stdout.decode(errors="replace")

    def stderr_text(self) -> str:
        return self._stderr.decode(errors="replace")

    async def wait_ready(self, timeout: float = 60) -> None:
        """Until the process makes its first getUpdates (commands set, polling started).
        Fails at once, with the process's stderr, if it exits instead."""
        polling = asyncio.ensure_future(
            self.tg.wait_for_call("getUpdates", timeout=timeout, after=self.mark, finished=False)
        )
        exited = asyncio.ensure_future(self.process.wait())
        try:
            done, _ = await asyncio.wait(
                {polling, exited}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            polling.cancel()
            exited.cancel()
        if polling in done and not polling.cancelled() and polling.exception() is None:
            return
        await self._finish_reading()
        state = f"exited with {self.returncode}" if exited in done else "is not polling"
        raise AssertionError(
            f"the bot process {state} after {timeout} s; stderr:\n{self.stderr_text()}"
        )

    async def wait(self, timeout: float = 60) -> int:
        """Until the process exits by itself (a one-shot command); its exit code."""
        async with asyncio.timeout(timeout):
            code = await self.process.wait()
        await self._finish_reading()
        return code

    async def stop(self, timeout: float = 30, sig: signal.Signals = signal.SIGTERM) -> int:
        """SIGTERM (or `sig`) and wait for a graceful exit; the exit code. SIGKILL after
        `timeout` (then the test fails: the bot did not stop in time). After `send_signal()` it
        only waits."""
        if not self._signalled:
            self.send_signal(sig)
        try:
            async with asyncio.timeout(timeout):
                code = await self.process.wait()
        except TimeoutError:
            await self.kill()
            raise AssertionError(
                f"the bot did not stop within {timeout} s of SIGTERM; stderr:\n{self.stderr_text()}"
            ) from None
        await self._finish_reading()
        return code

    async def kill(self) -> int:
        """SIGKILL: the process dies mid-work, as in a crash or an OOM kill."""
        if self.process.returncode is None:
            self.process.kill()
        code = await self.process.wait()
        await self._finish_reading()
        return code

    async def _finish_reading(self) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(5):
                await asyncio.gather(*self._readers, return_exceptions=True)


def bot_environment(
    tg: FakeTelegram, db_url: str, env: Mapping[str, str] | None = None
) -> dict[str, str]:
    environment = {
        name: value
        for name, value in os.environ.items()
        if name.upper() not in _DROPPED and "PROXY" not in name.upper()
    }
    environment.update(
        {
            "PYTHONPATH": str(ROOT),
            "PYTHONUNBUFFERED": "1",
            "NO_PROXY": "*",
            "BOT_TOKEN": tg.token,
            "TELEGRAM_API_URL": tg.url,
            "DATABASE_URL": db_url,
            "SCHEDULER_ENABLED": "false",
            "RENDER_WORKERS": "0",
            "LOG_LEVEL": "INFO",
            "THROTTLE_RATE": "1000",
            "THROTTLE_BURST": "1000",
        }
    )
    environment.update(env or {})
    return environment


@pytest.fixture
async def fake_tg() -> AsyncIterator[FakeTelegram]:
    """The fake Bot API server on a free loopback port, with Telegram's limits on."""
    async with FakeTelegram(BOT_TOKEN) as tg:
        yield tg


StartBot = Callable[..., Awaitable[BotProcess]]


@pytest.fixture
async def start_bot(fake_tg: FakeTelegram, tmp_path: Path) -> AsyncIterator[StartBot]:
    """`await start_bot(db_url, env={...}, args=[...], ready=True)` -> BotProcess.

    Runs `python -m bot [args]` from a scratch folder (no developer .env is read) with BOT_TOKEN,
    TELEGRAM_API_URL (the fake), DATABASE_URL, SCHEDULER_ENABLED=false, RENDER_WORKERS=0 and no
    throttling; `env` adds or overrides variables. It returns once the bot polls (`ready`,
    by default when `args` is empty or starts with "run"; a one-shot command: `await p.wait()`). Every process still running at teardown is killed.
    """
    processes: list[BotProcess] = []
    workdir = tmp_path / "bot-cwd"
    workdir.mkdir(exist_ok=True)

    async def start(
        db_url: str,
        env: Mapping[str, str] | None = None,
        args: Sequence[str] = (),
        ready: bool | None = None,
    ) -> BotProcess:
        mark = fake_tg.mark()
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            *args,
            cwd=workdir,
            env=bot_environment(fake_tg, db_url, env),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        bot = BotProcess(process, fake_tg, mark)
        processes.append(bot)
        if ready if ready is not None else (not args or args[0] == "run"):
            await bot.wait_ready()
        return bot

    yield start
    for bot in processes:
        if bot.returncode is None:
            await bot.kill()
