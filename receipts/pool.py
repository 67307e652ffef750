"""CPU work (PDFs, charts, captchas) off the event loop: a process pool, or a thread when
workers = 0.

The workers are lean and start warm (see `receipts.worker`):
- "spawn": a worker starts a fresh interpreter instead of forking a process that runs an event
  loop. A spawned worker imports the parent's `__main__` again unless it is a package's
  `__main__` (multiprocessing skips `*.__main__`): the bot runs as `python -m bot`, so a worker
  imports nothing of the bot's entry point; it imports the module of each function it runs, and
  those are kept free of aiogram and SQLAlchemy.
- `configure` starts every worker at once and has it warm up, while the bot connects; `ready()`
  waits for that (tests, benchmarks).
- Workers die with the bot, even after a SIGKILL: `receipts.worker.die_with_parent`.
"""

from __future__ import annotations

import asyncio
import functools
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from multiprocessing.connection import Connection
from typing import Any, TypeVar

from receipts import worker

T = TypeVar("T")

_executor: Executor | None = None
# The pipe the workers watch: held open here (never written) while the pool lives; the read
# end too, for a worker started later. The workers never get the write end, so their read ends
# at EOF exactly when this process is gone.
_alive: tuple[Connection, Connection] | None = None
_started: list[Future[dict[str, object]]] = []


def configure(workers: int, *, warm: bool = True) -> None:
    """Called once at start-up, from the main thread (a worker's death signal is tied to the
    thread that started it). Starts the workers now; each warms up before its first job."""
    global _executor, _alive
    shutdown()
    if workers <= 0:
        _executor = ThreadPoolExecutor(2)
        return
    context = multiprocessing.get_context("spawn")
    watched, writer = context.Pipe(duplex=False)
    _alive = (watched, writer)
    _executor = ProcessPoolExecutor(
        workers,
        mp_context=context,
        initializer=worker.start,
        initargs=(os.getpid(), watched, warm),
    )
    # A spawn pool starts a worker per submitted job while none is idle: one job per worker
    # starts them all, here, in this thread.
    _started.extend(_executor.submit(worker.status) for _ in range(workers))


async def ready() -> list[dict[str, object]]:
    """Wait until the workers started by `configure` have warmed up; their `worker.status()`."""
    return [await asyncio.wrap_future(future) for future in _started]


def shutdown() -> None:
    global _executor, _alive
    if _executor is not None:
        _executor.shutdown(wait=False, cancel_futures=True)
        _executor = None
    if _alive is not None:
        for end in _alive:
            end.close()  # a worker that missed the executor's goodbye exits on this
        _alive = None
    _started.clear()


async def run_cpu(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run `fn(*args)` (a module-level function with picklable arguments) off the loop. In a
    worker process its module is imported: keep it free of aiogram and SQLAlchemy."""
    global _executor
    if _executor is None:
        _executor = ThreadPoolExecutor(2)
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_executor, functools.partial(fn, *args, **kwargs))
