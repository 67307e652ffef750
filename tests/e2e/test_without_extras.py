"""The embedded default runs without the optional extras (`.[postgres]`, `.[redis]`,
`.[metrics]`): the real `python -m bot` with asyncpg, redis and prometheus-client made
unimportable answers a resident, and metrics are a silent no-op."""

from __future__ import annotations

import asyncio
import sys
import textwrap
from pathlib import Path

from bot.fakeapi.server import FakeTelegram
from tests.e2e.conftest import ROOT, BotProcess, bot_environment
from texts.ru import common as t

# Run before anything else in the process: the extras' packages cannot be imported, as in an
# environment where `pip install .` installed only the required dependencies.
WITHOUT_EXTRAS = textwrap.dedent(
    """
    import sys

    class WithoutExtras:
        missing = {"asyncpg", "redis", "prometheus_client"}

        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in self.missing:
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None

    sys.meta_path.insert(0, WithoutExtras())
    """
)


async def run_python(code: str, env: dict[str, str], cwd: Path) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        WITHOUT_EXTRAS + code,
        cwd=cwd,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def test_the_bot_answers_without_the_optional_extras(
    fake_tg: FakeTelegram, tmp_path: Path
) -> None:
    env = bot_environment(fake_tg, f"sqlite+aiosqlite:///{tmp_path / 'bare.db'}")
    code = "import runpy; runpy.run_module('bot', run_name='__main__', alter_sys=True)"
    bot = BotProcess(await run_python(code, env, tmp_path), fake_tg, fake_tg.mark())
    try:
        await bot.wait_ready()
        anna = fake_tg.user(1001)
        await anna.send("/help")
        assert (await anna.wait_for("Личный кабинет абонента")).text == t.HELP
        assert await bot.stop() == 0
    finally:
        await bot.kill()
    assert "Traceback" not in bot.stderr_text()


async def test_metrics_are_a_no_op_without_prometheus_client(
    fake_tg: FakeTelegram, tmp_path: Path
) -> None:
    code = textwrap.dedent(
        """
        import metrics
        metrics.update("message", "handled")
        metrics.push_progress("2020-03", done=1, total=2)
        metrics.HANDLER_SECONDS.labels("message").observe(0.1)
        print(metrics.ENABLED, metrics.sample("cabinet_updates_total"), metrics.exposition())
        """
    )
    env = bot_environment(fake_tg, "sqlite+aiosqlite://")
    env["PYTHONPATH"] = str(ROOT)
    process = await run_python(code, env, tmp_path)
    stdout, stderr = await process.communicate()
    assert process.returncode == 0, stderr.decode()
    assert stdout.decode().split() == ["False", "0.0", "None"]
