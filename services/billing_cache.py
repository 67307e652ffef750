"""The card's and the month view's figures, kept in memory between imports.

Billing data (charges, payments) changes only when an import is published or undone: both change
the import's `import_runs` row in the same small transaction that switches the version readers
see, so the highest published import id with the latest undo time is the billing data's
*generation* (an import still loading changes nothing readers see, so it does not count).
Figures computed under one generation stay exact until the next one, whichever process ran the
import (the CLI usually runs it in another process).

The generation is read with one tiny query over `import_runs` (a row a month), at most once per
`recheck_seconds` per process; the figures read in between are served from memory. So after an
import commits, a process shows the new figures within `recheck_seconds` (one second by default):
no view is ever served figures older than the latest import by more than that. A generation that
changed drops every entry at once.

What is kept: exact billing figures (`Decimal`s in frozen dataclasses) per account and period,
never a name, a phone or any other personal data (those are read per update with the account's
authorization), so an unlink or an erasure has nothing here to drop. Bounded: the least recently
used entries go first.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

from sqlalchemy import Select, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ImportRun

DEFAULT_SIZE = 20_000  # ~1-2 KB each: tens of MB at most
DEFAULT_RECHECK_SECONDS = 1.0

GENERATION = select(
    func.max(case((ImportRun.status == "published", ImportRun.id))), func.max(ImportRun.undone_at)
)
_UNKNOWN = object()


class GenerationWatch:
    """Reads a one-row "generation" query at most once per `recheck_seconds` and tells whether it
    changed since the last read (the first read counts as a change)."""

    def __init__(
        self,
        query: Select[Any],
        recheck_seconds: float = DEFAULT_RECHECK_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._query = query
        self._recheck = recheck_seconds
        self._clock = clock
        self._generation: object = _UNKNOWN
        self._checked_at = 0.0

    async def changed(self, session: AsyncSession) -> bool:
        now = self._clock()
        # a clock that went backwards (wall time is adjustable) counts as due
        if self._generation is not _UNKNOWN and 0 <= now - self._checked_at < self._recheck:
            return False
        generation = tuple((await session.execute(self._query)).one())
        self._checked_at = now
        if generation == self._generation:
            return False
        self._generation = generation
        return True

    def forget(self) -> None:
        """Read the generation again at the next call (and count it as changed)."""
        self._generation = _UNKNOWN


class BillingCache:
    """A bounded LRU of billing figures, valid for one import generation."""

    def __init__(
        self,
        size: int = DEFAULT_SIZE,
        recheck_seconds: float = DEFAULT_RECHECK_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._entries: OrderedDict[Hashable, object] = OrderedDict()
        self._size = size
        self._watch = GenerationWatch(GENERATION, recheck_seconds, clock)

    async def refresh(self, session: AsyncSession) -> None:
        """Re-read the generation when it is due; a new generation drops every entry. Call it
        before reading figures: data read afterwards is at least as new as the generation."""
        if await self._watch.changed(session):
            self._entries.clear()

    def get(self, key: Hashable) -> object:
        """The kept value, or `MISSING`."""
        value = self._entries.get(key, MISSING)
        if value is not MISSING:
            self._entries.move_to_end(key)
        return value

    def put(self, key: Hashable, value: object) -> None:
        self._entries[key] = value
        self._entries.move_to_end(key)
        while len(self._entries) > self._size:
            self._entries.popitem(last=False)

    def drop(self) -> None:
        """Forget everything (e.g. after this process changed billing data itself)."""
        self._entries.clear()
        self._watch.forget()


MISSING = object()
