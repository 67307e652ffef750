"""Residents and their personal data."""

from __future__ import annotations

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Appeal, Resident, utcnow

# Built once: every update looks its sender up, and building a statement costs more than the
# indexed SELECT itself (SQLAlchemy then reuses the compiled form by the statement's cache key).
_BY_TELEGRAM_ID = select(Resident).where(Resident.telegram_id == bindparam("telegram_id"))


async def get_by_telegram_id(session: AsyncSession, telegram_id: int) -> Resident | None:
    return await session.scalar(_BY_TELEGRAM_ID, {"telegram_id": telegram_id})


async def get_or_create(session: AsyncSession, telegram_id: int, chat_id: int) -> Resident:
    resident = await get_by_telegram_id(session, telegram_id)
    if resident is None:
        resident = Resident(telegram_id=telegram_id, chat_id=chat_id)
        session.add(resident)
        await session.flush()
    return resident


async def mark_unreachable(session: AsyncSession, resident_id: int) -> None:
    await session.execute(
        update(Resident).where(Resident.id == resident_id).values(unreachable_at=utcnow())
    )


async def erase(session: AsyncSession, resident: Resident) -> None:
    """Delete a registration: every piece of the resident's personal data goes at once.

    Links, link attempts, e-mail confirmations, deliveries and reminders cascade with the row;
    appeals stay for the organization but lose their author; dialogue state is dropped.
    """
    await session.execute(
        update(Appeal).where(Appeal.resident_id == resident.id).values(resident_id=None)
    )
    from storage.fsm import erase_user_state  # (storage.fsm is aiogram's: not for every CLI)

    await erase_user_state(session, resident.telegram_id)
    await session.execute(delete(Resident).where(Resident.id == resident.id))
