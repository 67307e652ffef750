"""`python -m bot try` driven through a pseudo-terminal, as a newcomer types into it: start, /start,
buttons pressed by number, the contact shared, the bot's answers read, /quit; the command exits
and leaves nothing running."""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bot.config import Settings
from tests.e2e.conftest import ROOT

START_TIMEOUT = 240.0  # a cold start of the bot on a machine shared by the whole suite
ANSWER_TIMEOUT = 60.0


class Terminal:
    """The screen of a pseudo-terminal: what the program wrote, and typing into it."""

    def __init__(self, master: int) -> None:
        self.master = master
        self.output = ""
        self.seen = 0  # what `expect` has matched up to

    def send(self, line: str) -> None:
        os.write(self.master, (line + "\n").encode())

    def expect(self, text: str, timeout: float = ANSWER_TIMEOUT) -> str:
        """Until `text` appears after what was matched before; returns the output up to it. The
        timeout is only a bound for a broken run."""
        deadline = time.monotonic() + timeout
        while (found := self.output.find(text, self.seen)) < 0:
            left = deadline - time.monotonic()
            if left <= 0 or not self._read(left):
                raise AssertionError(f"{text!r} did not appear; the screen:\n{self.output[-3000:]}")
        self.seen = found + len(text)
        return self.output[:found]

    def _read(self, timeout: float) -> bool:
        ready, _, _ = select.select([self.master], [], [], timeout)
        if not ready:
            return False
        try:
            chunk = os.read(self.master, 65536)
        except OSError:  # the program closed the terminal
            return False
        self.output += chunk.decode(errors="replace").replace("\r\n", "\n")
        return bool(chunk)


def environment() -> dict[str, str]:
    settings = {name.upper() for name in Settings.model_fields}
    env = {
        name: value
        for name, value in os.environ.items()
        if name.upper() not in settings and "PROXY" not in name.upper()
    }
    env.update(PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1")
    return env


def processes_in(folder: Path) -> list[int]:
    """Processes whose working directory is `folder` (the bot the try started runs there)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if Path(os.readlink(entry / "cwd")) == folder:
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


@contextmanager
def running_try(folder: Path) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """`python -m bot try --dir folder` in a pseudo-terminal: the process and the terminal's
    master end; killed (if still running) and the terminal closed at the end."""
    master, slave = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "try", "--dir", str(folder), "--accounts", "2"],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        cwd=folder.parent,
        env=environment(),
        start_new_session=True,
    )
    os.close(slave)
    try:
        yield process, master
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(master)


def test_a_newcomer_tries_the_bot_in_a_terminal(tmp_path: Path) -> None:
    folder = (tmp_path / "try").resolve()
    with running_try(folder) as (process, master):
        screen = Terminal(master)
        banner = screen.expect("Start with /start.", timeout=START_TIMEOUT)
        bot_pid = int(re.search(r"The bot is running \(pid (\d+)\)", banner).group(1))
        assert f"saved in {folder / 'files'}" in banner
        assert processes_in(folder) == [bot_pid]

        screen.send("/start")
        screen.expect("Здравствуйте! Это личный кабинет абонента")
        screen.expect("[1] ✅ Принимаю")
        screen.send("1")  # the agreement, by its number
        screen.expect("› ✅ Принимаю")
        screen.expect("[1] ✅ Даю согласие")
        screen.send("1")
        screen.expect("[k1] 📱 Поделиться номером")
        screen.send("/contact")
        screen.expect("Спасибо, номер +7 914 123-45-67 подтверждён.")
        screen.expect("Регистрация завершена")
        screen.send("k1")  # «🏠 Мои счета» on the keyboard under the input field
        screen.expect("не привязан ни один лицевой счёт")

        screen.send("/quit")
        screen.expect(f"Bye. The database, the bot's log and the files stay in {folder}")
        assert process.wait(timeout=ANSWER_TIMEOUT) == 0
    assert processes_in(folder) == []
    assert (folder / "try.sqlite3").exists() and (folder / "bot.log").exists()


def test_a_killed_try_takes_its_bot_with_it(tmp_path: Path) -> None:
    folder = (tmp_path / "try").resolve()
    with running_try(folder) as (process, master):
        Terminal(master).expect("Start with /start.", timeout=START_TIMEOUT)
        assert len(processes_in(folder)) == 1
        process.kill()  # no chance to stop the bot itself: the kernel's death signal does
        process.wait()
        deadline = time.monotonic() + ANSWER_TIMEOUT
        while processes_in(folder) and time.monotonic() < deadline:
            time.sleep(0.1)
    assert processes_in(folder) == []
