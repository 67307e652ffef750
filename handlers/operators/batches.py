"""Billing files sent to the bot, gathered into batches.

An operator often sends several files, as one message each (Telegram makes a separate message of
every document, even when they are chosen together). Each document's handler only notes it here
(briefly: updates of one chat are handled one at a time); the batch is closed by a task that fires
when no file of that operator in that chat came for `settle` seconds, outside any handler, so
nothing waits while holding the chat's turn. Then the files are downloaded into a directory of
their own (names never become paths: each file goes to `<n>/<its base name>`), checked, and kept
until the operator loads or cancels them or `keep` seconds pass; the directory is removed then.
Nothing sent is ever executed.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import re
import shutil
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from handlers.operators import background
from services.operator_files import TEMP_PREFIX

log = logging.getLogger(__name__)

SAFE_NAME = re.compile(r"[^\w.\- ()]+")


class Stage(StrEnum):
    COLLECTING = "collecting"
    CHECKED = "checked"
    LOADING = "loading"


@dataclass(frozen=True)
class Incoming:
    file_id: str
    name: str
    size: int | None


@dataclass
class Batch:
    id: int
    chat_id: int
    operator_id: int
    reply_to: int  # the first document's message
    files: list[Incoming] = field(default_factory=list)
    stage: Stage = Stage.COLLECTING
    directory: Path | None = None
    paths: list[Path] = field(default_factory=list)
    timer: asyncio.Task[None] | None = field(default=None, repr=False)

    def make_paths(self) -> list[Path]:
        """Where each file goes: a directory of the batch, one subdirectory per file."""
        root = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX))
        self.directory = root
        self.paths = []
        for n, item in enumerate(self.files, 1):
            name = SAFE_NAME.sub("_", Path(item.name.replace("\\", "/")).name).strip(". ")
            (root / str(n)).mkdir()
            self.paths.append(root / str(n) / (name or f"file{n}"))
        return self.paths

    def remove_files(self) -> None:
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)
            self.directory = None


Settled = Callable[[Batch], Awaitable[None]]


class Batches:
    def __init__(self) -> None:
        self._ids = itertools.count(1)
        self._collecting: dict[tuple[int, int], Batch] = {}
        self._kept: dict[int, Batch] = {}
        self._expiries: set[asyncio.Task[None]] = set()

    def add(
        self,
        chat_id: int,
        operator_id: int,
        message_id: int,
        item: Incoming,
        settle: float,
        on_settled: Settled,
    ) -> Batch:
        """Note a file; (re)start the wait for the rest of the batch, then `on_settled`."""
        key = (chat_id, operator_id)
        batch = self._collecting.get(key)
        if batch is None:
            batch = Batch(next(self._ids), chat_id, operator_id, message_id)
            self._collecting[key] = batch
        batch.files.append(item)
        if batch.timer is not None:
            batch.timer.cancel()
        batch.timer = background.spawn(self._settle(key, batch, settle, on_settled), "batch")
        return batch

    async def _settle(
        self, key: tuple[int, int], batch: Batch, settle: float, on_settled: Settled
    ) -> None:
        await asyncio.sleep(settle)
        if self._collecting.get(key) is batch:
            del self._collecting[key]  # a file arriving from now on starts a new batch
        batch.timer = None
        self._kept[batch.id] = batch
        try:
            await on_settled(batch)
        except BaseException:
            self.drop(batch.id)
            raise

    def keep(self, batch: Batch, seconds: float) -> None:
        """The batch was checked: keep its files for `seconds`, then remove them."""
        batch.stage = Stage.CHECKED
        # not a `background` task: waiting for the work in flight must not wait for this
        task = asyncio.create_task(self._expire(batch, seconds))
        self._expiries.add(task)
        task.add_done_callback(self._expiries.discard)

    async def _expire(self, batch: Batch, seconds: float) -> None:
        await asyncio.sleep(seconds)
        if batch.stage is Stage.CHECKED:
            log.info("import batch %s expired unloaded", batch.id)
            self.drop(batch.id)

    def take(self, batch_id: int, operator_chat: int) -> Batch | None:
        """The checked batch to load (None: unknown, expired, of another chat, or loading)."""
        batch = self._kept.get(batch_id)
        if batch is None or batch.chat_id != operator_chat or batch.stage is not Stage.CHECKED:
            return None
        batch.stage = Stage.LOADING
        return batch

    def get(self, batch_id: int) -> Batch | None:
        return self._kept.get(batch_id)

    def drop(self, batch_id: int) -> None:
        batch = self._kept.pop(batch_id, None)
        if batch is not None:
            batch.remove_files()

    def close(self) -> None:
        """Shutdown: remove every batch's files."""
        for batch_id in list(self._kept):
            self.drop(batch_id)
        for batch in self._collecting.values():
            if batch.timer is not None:
                batch.timer.cancel()
        self._collecting.clear()
        for task in self._expiries:
            task.cancel()


batches = Batches()
