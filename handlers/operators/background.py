"""Work the operators start that outlives the update: an announcement run, a batch's preview, an
import, a receipt push. Each runs as a task kept referenced until it ends (asyncio holds only weak
references), outside the chat's turn, and logs its own failure (no error handler sees it)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

log = logging.getLogger(__name__)

_running: set[asyncio.Task[None]] = set()


def spawn(coro: Coroutine[Any, Any, None], what: str) -> asyncio.Task[None]:
    task = asyncio.create_task(_logged(coro, what))
    _running.add(task)
    task.add_done_callback(_running.discard)
    return task


async def _logged(coro: Coroutine[Any, Any, None], what: str) -> None:
    try:
        await coro
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("%s stopped", what)


async def finished() -> None:
    """Wait until every task started so far (and those they started) has ended."""
    while _running:
        await asyncio.gather(*list(_running), return_exceptions=True)
