"""aiogram FSM storage on the bot's own database: a restart does not lose a resident's place."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiogram.fsm.state import State
from aiogram.fsm.storage.base import (
    BaseStorage,
    DefaultKeyBuilder,
    KeyBuilder,
    StateType,
    StorageKey,
)
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.models import FsmRecord, utcnow


class DatabaseStorage(BaseStorage):
    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        key_builder: KeyBuilder | None = None,
    ) -> None:
        self._sessions = session_factory
        self._keys = key_builder or DefaultKeyBuilder(with_destiny=True)

    def _key(self, key: StorageKey) -> str:
        return self._keys.build(key)

    async def _upsert(self, key: StorageKey, **values: Any) -> None:
        async with self._sessions() as session, session.begin():
            record = await session.get(FsmRecord, self._key(key))
            if record is None:
                record = FsmRecord(key=self._key(key), state=None, data={})
                session.add(record)
            for name, value in values.items():
                setattr(record, name, value)
            record.updated_at = utcnow()
            if record.state is None and not record.data:  # nothing to remember: no row
                if record in session.new:
                    session.expunge(record)
                else:
                    await session.delete(record)

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        value = state.state if isinstance(state, State) else state
        await self._upsert(key, state=value)

    async def get_state(self, key: StorageKey) -> str | None:
        async with self._sessions() as session:
            return await session.scalar(
                select(FsmRecord.state).where(FsmRecord.key == self._key(key))
            )

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        await self._upsert(key, data=dict(data))

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        async with self._sessions() as session:
            data = await session.scalar(
                select(FsmRecord.data).where(FsmRecord.key == self._key(key))
            )
        return dict(data) if data else {}

    async def close(self) -> None:
        return None


async def erase_user_state(session: AsyncSession, user_id: int) -> None:
    """Delete every dialogue state of a Telegram user (registration deletion)."""
    # Keys are "fsm:<bot>:<chat>:<user>:<destiny>" (DefaultKeyBuilder); private chat == user.
    await session.execute(delete(FsmRecord).where(FsmRecord.key.like(f"%:{user_id}:{user_id}:%")))
