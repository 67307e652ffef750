"""CPU work (PDFs, charts) off the event loop: a process pool, or a thread when workers = 0."""

from __future__ import annotations

import asyncio
import functools
import multiprocessing
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")

_executor: Executor | None = None


def configure(workers: int) -> None:
    """Called once at start-up. Worker processes keep their fonts loaded between jobs."""
    global _executor
    shutdown()
    if workers > 0:
        # "spawn": workers start clean instead of forking a process that runs an event loop.
        context = multiprocessing.get_context("spawn")
        _executor = ProcessPoolExecutor(workers, mp_context=context)
    else:
        _executor = ThreadPoolExecutor(2)


def shutdown() -> None:
    global _executor
    if _executor is not None:
        _executor.shutdown(wait=False, cancel_futures=True)
        _executor = None


async def run_cpu(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run `fn(*args)` (a module-level function with picklable arguments) off the loop."""
    global _executor
    if _executor is None:
        _executor = ThreadPoolExecutor(2)
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_executor, functools.partial(fn, *args, **kwargs))
