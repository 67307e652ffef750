"""aiogram FSM storage on the bot's own database: a restart does not lose a resident's place.

aiogram reads the dialogue state of every update. With `cache_size` set (the embedded default:
SQLite, one bot process) the storage keeps what it read and wrote in a bounded in-process cache,
written through: the database stays the truth a restart reads, and most updates read no row at
all. Only this process writes the rows (`erase_user_state`, the one other writer, drops the
user's entries from every cache of the process). Several processes on one database must not use
the cache: they run with Redis (`REDIS_URL`), or without a cache.

Rows exist only for users in the middle of a dialogue (a state or data left), a few at any time.
So the first read loads them all when they fit in the cache, and from then on the cache is
*complete*: a user it does not hold has no row, and their first update after a start reads
nothing either. The cache stops being complete (and reads a row on a miss again) when it has to
drop an entry: the bound was reached, a write failed, or a user's state was erased.
"""

from __future__ import annotations

import asyncio
import copy
import json
import weakref
from collections import OrderedDict
from collections.abc import AsyncIterator, Hashable, Mapping
from contextlib import asynccontextmanager
from typing import Any

from aiogram.fsm.state import State
from aiogram.fsm.storage.base import (
    BaseEventIsolation,
    BaseStorage,
    DefaultKeyBuilder,
    KeyBuilder,
    StateType,
    StorageKey,
)
from sqlalchemy import bindparam, delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.models import FsmRecord, utcnow

# Every storage of the process with a cache: `erase_user_state` drops a user's entries in each.
_caching: weakref.WeakSet[DatabaseStorage] = weakref.WeakSet()

_STATEMENT = select(FsmRecord.state, FsmRecord.data).where(FsmRecord.key == bindparam("key"))
_EVERY_ROW = select(FsmRecord.key, FsmRecord.state, FsmRecord.data).limit(bindparam("limit"))


def _user_pattern(user_id: int) -> str:
    # Keys are "fsm:<bot>:<chat>:<user>:<destiny>" (DefaultKeyBuilder); private chat == user.
    return f":{user_id}:{user_id}:"


class ChatLocks(BaseEventIsolation):
    """One chat's updates one at a time in this process (aiogram's `SimpleEventIsolation`, whose
    locks are never dropped: one per chat ever seen). A lock here lives only while an update
    holds it or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[Hashable, tuple[asyncio.Lock, list[int]]] = {}

    @asynccontextmanager
    async def lock(self, key: StorageKey) -> AsyncIterator[None]:
        entry = self._locks.get(key)
        if entry is None:
            entry = self._locks[key] = (asyncio.Lock(), [0])
        lock, users = entry
        users[0] += 1
        try:
            async with lock:
                yield
        finally:
            users[0] -= 1
            if users[0] == 0:
                del self._locks[key]

    def in_use(self) -> int:
        """How many chats have a lock now (held or awaited). Not `__len__`: an empty table
        would make the isolation falsy, and aiogram would take it for none given."""
        return len(self._locks)

    async def close(self) -> None:
        """Nothing to free: the table holds only the locks of updates still running (aiogram
        closes the isolation at shutdown while they finish; clearing it under them let a chat's
        next update run beside its current one)."""


class DatabaseStorage(BaseStorage):
    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        key_builder: KeyBuilder | None = None,
        *,
        cache_size: int = 0,
    ) -> None:
        self._sessions = session_factory
        self._keys = key_builder or DefaultKeyBuilder(with_destiny=True)
        self._cache_size = cache_size
        # key -> (state, data as the database gives it back); least recently used first
        self._cache: OrderedDict[str, tuple[str | None, dict[str, Any]]] = OrderedDict()
        # None: not known yet; True: every row is in the cache (a miss is "no row")
        self._complete: bool | None = None
        self._loading = asyncio.Lock()
        if cache_size > 0:
            _caching.add(self)

    def _key(self, key: StorageKey) -> str:
        return self._keys.build(key)

    async def _record(self, key: str) -> tuple[str | None, dict[str, Any]]:
        if self._cache_size:
            if self._complete is None:
                await self._load_all()
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
                return cached
            if self._complete:
                return (None, {})
        async with self._sessions() as session:
            row = (await session.execute(_STATEMENT, {"key": key})).first()
        record = (row[0], dict(row[1] or {})) if row is not None else (None, {})
        self._remember(key, record)
        return record

    async def _load_all(self) -> None:
        """Every row into the cache when they fit (once: the first read)."""
        async with self._loading:
            if self._complete is not None:
                return
            async with self._sessions() as session:
                rows = (await session.execute(_EVERY_ROW, {"limit": self._cache_size + 1})).all()
            if len(rows) > self._cache_size:
                self._complete = False
                return
            for name, state, data in rows:
                if name not in self._cache:  # (a write during the read is newer)
                    self._cache[name] = (state, dict(data or {}))
            self._complete = True

    def _remember(self, key: str, record: tuple[str | None, dict[str, Any]]) -> None:
        if not self._cache_size:
            return
        self._cache[key] = record
        self._cache.move_to_end(key)
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
            self._complete = False

    def forget_user(self, user_id: int) -> None:
        pattern = _user_pattern(user_id)
        for key in [key for key in self._cache if pattern in key]:
            del self._cache[key]
        # the erasure may yet roll back: a dropped entry must be read again, not taken for none
        self._complete = False

    async def _upsert(self, key: StorageKey, **values: Any) -> None:
        name = self._key(key)
        try:
            state, data = await self._write(name, values)
        except BaseException:
            # the row may or may not have changed: no stale entry, and a miss is read again
            self._cache.pop(name, None)
            self._complete = False
            raise
        # what a read of the row gives back (JSON turns tuples into lists, keys into strings)
        self._remember(name, (state, json.loads(json.dumps(data or {}))))

    async def _write(self, name: str, values: dict[str, Any]) -> tuple[str | None, Any]:
        async with self._sessions() as session, session.begin():
            record = await session.get(FsmRecord, name)
            if record is None:
                record = FsmRecord(key=name, state=None, data={})
                session.add(record)
            for field, value in values.items():
                setattr(record, field, value)
            record.updated_at = utcnow()
            state, data = record.state, record.data
            if record.state is None and not record.data:  # nothing to remember: no row
                if record in session.new:
                    session.expunge(record)
                else:
                    await session.delete(record)
        return state, data

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        value = state.state if isinstance(state, State) else state
        await self._upsert(key, state=value)

    async def get_state(self, key: StorageKey) -> str | None:
        return (await self._record(self._key(key)))[0]

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        await self._upsert(key, data=dict(data))

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        return copy.deepcopy((await self._record(self._key(key)))[1])

    async def close(self) -> None:
        self._cache.clear()


async def erase_user_state(session: AsyncSession, user_id: int) -> None:
    """Delete every dialogue state of a Telegram user (registration deletion)."""
    for storage in list(_caching):
        storage.forget_user(user_id)
    await session.execute(
        delete(FsmRecord).where(FsmRecord.key.like(f"%{_user_pattern(user_id)}%"))
    )
