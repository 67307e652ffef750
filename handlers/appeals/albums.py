"""An album answered once.

Telegram delivers an album's photos as separate messages sharing a `media_group_id`, one update
each, and says nothing about how many there are. Each part is stored by its own handler at once
(updates of one chat are handled one at a time, so this is brief); the answer waits outside any
handler, in a task that fires when no part of the album came for `SETTLE_SECONDS`, and says once
how many photos there are. Nothing sleeps while holding the chat's turn.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

SETTLE_SECONDS = 0.8


@dataclass
class Album:
    """What the parts so far did: one started the photos step (it had the text), one did not fit."""

    started_photos: bool = False
    full: bool = False
    task: asyncio.Task[None] | None = field(default=None, repr=False)


Answer = Callable[[Album], Awaitable[None]]


class Albums:
    def __init__(self, settle: float = SETTLE_SECONDS) -> None:
        self.settle = settle
        self._waiting: dict[tuple[int, str], Album] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def part(
        self, chat_id: int, group: str, answer: Answer, *, started_photos: bool, full: bool
    ) -> None:
        """A part of the album was stored: (re)start the wait for the rest, then `answer`."""
        key = (chat_id, group)
        album = self._waiting.setdefault(key, Album())
        album.started_photos |= started_photos
        album.full |= full
        if album.task is not None:
            album.task.cancel()
        album.task = asyncio.create_task(self._answer_when_settled(key, album, answer))
        self._tasks.add(album.task)
        album.task.add_done_callback(self._tasks.discard)

    async def _answer_when_settled(
        self, key: tuple[int, str], album: Album, answer: Answer
    ) -> None:
        await asyncio.sleep(self.settle)
        if self._waiting.get(key) is album:
            del self._waiting[key]  # a part arriving from now on starts a new answer
        try:
            await answer(album)
        except Exception:  # a background task: no error handler of the dispatcher sees it
            log.exception("album answer failed")

    async def settled(self) -> None:
        """Wait until every album seen so far has been answered (shutdown, tests)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)


albums = Albums()
