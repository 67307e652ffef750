"""Named leases in the database: a scheduled job or a push runs in one process at a time.

Portable SQL only (an UPDATE guarded by expiry, else an INSERT guarded by the primary key), so the
same code holds on SQLite and PostgreSQL. A lease expires by itself: a process that died does not
block the job for longer than the lease's time to live.

Use a session of its own and commit right after `acquire`/`release`, so that other processes see
the lease at once.
"""

from __future__ import annotations

import datetime as dt
import os
import socket

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Lease, utcnow


def process_owner() -> str:
    """An owner name unique to this process (host and pid)."""
    return f"{socket.gethostname()}:{os.getpid()}"[:100]


async def acquire(session: AsyncSession, name: str, owner: str, ttl: dt.timedelta) -> bool:
    """Take (or renew) the lease `name` for `ttl`. False when another live owner holds it."""
    now = utcnow()
    expires = now + ttl
    taken = await session.execute(
        update(Lease)
        .where(Lease.name == name, (Lease.owner == owner) | (Lease.expires_at < now))
        .values(owner=owner, expires_at=expires)
    )
    if taken.rowcount:
        return True
    try:
        async with session.begin_nested():
            await session.execute(insert(Lease).values(name=name, owner=owner, expires_at=expires))
    except IntegrityError:  # someone else holds a live lease (or took it just now)
        return False
    return True


async def renew(session: AsyncSession, name: str, owner: str, ttl: dt.timedelta) -> bool:
    """Extend a lease this owner holds; False when it was lost (expired and taken over)."""
    result = await session.execute(
        update(Lease)
        .where(Lease.name == name, Lease.owner == owner)
        .values(expires_at=utcnow() + ttl)
    )
    return bool(result.rowcount)


async def release(session: AsyncSession, name: str, owner: str) -> None:
    await session.execute(delete(Lease).where(Lease.name == name, Lease.owner == owner))


async def held(session: AsyncSession, name: str) -> bool:
    """Whether some live owner holds the lease `name` now."""
    found = await session.scalar(
        select(Lease.name).where(Lease.name == name, Lease.expires_at >= utcnow())
    )
    return found is not None
