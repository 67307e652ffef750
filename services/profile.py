"""The resident's profile: what is stored, push switches, phone, unlinking, deleting everything."""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import truncate_wal
from storage.models import Resident
from storage.repo import residents

log = logging.getLogger(__name__)


async def delete_registration(session: AsyncSession, resident: Resident) -> None:
    """Erase the resident's personal data at once (see `storage.repo.residents.erase`), commit,
    and make the erasure final on disk: no old copy of a page stays in the WAL file."""
    await residents.erase(session, resident)
    await session.commit()
    log.info("a registration was deleted")
    await truncate_wal(session)
