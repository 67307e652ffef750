"""Inside a render worker process: what it imports, how it warms up, and how it dies with the bot.

A worker imports only the renderers (`receipts.pdf`, `receipts.charts`, `receipts.captcha_image`
and their libraries: fpdf2, fontTools, segno, matplotlib, captcha), never aiogram, SQLAlchemy or
the handlers: this module and every function the bot sends to the pool live in modules that do
not import them (a worker imports a function's module when it unpickles the job).

A worker must not outlive the bot: after a SIGKILL of the bot nothing else would stop it. Two
ways, either suffices:
- Linux: `prctl(PR_SET_PDEATHSIG, SIGKILL)`, so the kernel kills the worker when its parent
  exits. (The "parent" is the thread that started the worker: the pool starts every worker from
  the thread that calls `receipts.pool.configure`, the bot's main thread.)
- Everywhere: a watchdog thread blocks reading a pipe whose only writer is the bot; the read ends
  when the bot is gone, however it died, and the worker exits.
"""

from __future__ import annotations

import ctypes
import datetime as dt
import logging
import os
import resource
import signal
import sys
import threading
from collections.abc import Callable
from decimal import Decimal
from multiprocessing.connection import Connection

log = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
# Packages a worker must never load: the bot itself and its heavy libraries.
BOT_ONLY_PACKAGES = ("aiogram", "sqlalchemy", "handlers", "storage", "bot", "keyboards")
# Leaf modules of those packages that import nothing but the standard library: the receipt's
# dates (the pay-by day) come from the periods every layer shares, its sums from `storage.money`.
LEAF_MODULES = frozenset({"storage", "storage.periods", "storage.money"})


def bot_packages(modules: object) -> list[str]:
    """The bot-only packages among loaded module names (leaf modules excepted)."""
    names = {str(name) for name in modules} - LEAF_MODULES  # type: ignore[attr-defined]
    return sorted({name.split(".")[0] for name in names} & set(BOT_ONLY_PACKAGES))


def start(parent_pid: int, parent_alive: Connection, warm: bool) -> None:
    """The pool's initializer: runs once in each worker before its first job."""
    die_with_parent(parent_pid, parent_alive)
    if warm:
        warm_up()


def arm_death_signal() -> None:
    """Linux: the kernel SIGKILLs this process when its parent dies (elsewhere: nothing)."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            log.warning("prctl(PR_SET_PDEATHSIG) failed: errno %d", ctypes.get_errno())


def die_with_parent(parent_pid: int, parent_alive: Connection) -> None:
    arm_death_signal()
    if os.getppid() != parent_pid:
        os._exit(1)  # the parent died before the death signal was armed
    threading.Thread(
        target=_exit_when_closed, args=(parent_alive,), name="parent-watchdog", daemon=True
    ).start()


def _exit_when_closed(parent_alive: Connection) -> None:
    try:
        parent_alive.recv_bytes()  # the bot never writes: this returns only by EOF
    except (EOFError, OSError):
        pass
    os._exit(1)


def warm_up() -> None:
    """Pay each renderer's one-time costs now (imports, fonts cut and parsed, matplotlib's font
    cache, captcha fonts), so that the first resident after a start does not wait for them.

    The receipt first, in the initializer: a worker takes jobs once it can render a receipt
    (about half of the warm-up's CPU). The captcha and the charts (matplotlib: the other half)
    warm in a thread meanwhile; a job that needs them first imports them itself (the import
    lock makes it wait for the thread's import, never import twice)."""
    _warm(_warm_receipt)
    threading.Thread(target=_warm, args=(_warm_rest,), name="warm-up", daemon=True).start()


def _warm(step: Callable[[], None]) -> None:
    try:
        step()
    except Exception:
        # A broken warm-up must not break the pool: the real job reports its own error.
        log.exception("render worker warm-up failed")


def _warm_receipt() -> None:
    from receipts import pdf

    pdf.render_receipt(_tiny_receipt())


def _warm_rest() -> None:
    from receipts import charts
    from receipts.captcha_image import render as captcha

    captcha("23456")
    charts.stacked_bars("", ["1"], [charts.BarSeries("-", (Decimal(1),))])


def _tiny_receipt():  # type: ignore[no-untyped-def]
    from receipts.content import ChargeGroup, ChargeLine, Payee, ReceiptData
    from storage.money import Totals

    payee = Payee("-", "0", "0", "", "", "-", "0", "0", "0")
    line = ChargeLine("-", "-", Decimal(1), Decimal(1), Totals(closing=Decimal(1)))
    return ReceiptData(
        0, "0", "-", "-", None, "", dt.date(2000, 1, 1), payee, (ChargeGroup("", (line,)),)
    )


def status() -> dict[str, object]:
    """This worker's pid, resident memory (MB, now and peak) and any bot-only package it has
    loaded (there should be none): for the benchmarks and tests."""
    rss_kb = 0
    with open(f"/proc/{os.getpid()}/status") as lines:
        for line in lines:
            if line.startswith("VmRSS:"):
                rss_kb = int(line.split()[1])
    loaded = bot_packages(sys.modules)
    return {
        "pid": os.getpid(),
        "rss_mb": rss_kb / 1024,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "bot_packages": loaded,
    }
