"""The log of reminders and notifications sent (`ReminderDelivery`): claim, settle, look up.

One row per (resident, period, kind, subject). A sender claims the row ("sending") before it
sends, and settles it with the outcome afterwards; a claim that already exists means the message
went (or may have gone) already. The caller commits.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ReminderDelivery, utcnow
from storage.repo import residents

SENDING = "sending"


@dataclass(frozen=True, slots=True)
class Key:
    """What a message is, for the log: whom, which period, what kind, about what."""

    resident_id: int
    period: dt.date
    kind: str
    subject: str = ""


def _row(key: Key) -> tuple[Any, ...]:
    return (
        ReminderDelivery.resident_id == key.resident_id,
        ReminderDelivery.period == key.period,
        ReminderDelivery.kind == key.kind,
        ReminderDelivery.subject == key.subject,
    )


async def claim(session: AsyncSession, key: Key) -> bool:
    """Record the intent to send; False when the row exists (sent, or being sent)."""
    try:
        async with session.begin_nested():
            await session.execute(
                insert(ReminderDelivery).values(
                    resident_id=key.resident_id,
                    period=key.period,
                    kind=key.kind,
                    subject=key.subject,
                    status=SENDING,
                )
            )
    except IntegrityError:  # unique (resident, period, kind, subject)
        return False
    return True


async def settle(session: AsyncSession, key: Key, status: str | None) -> None:
    """The claim becomes the outcome ("sent", "failed", "blocked": the resident is marked
    unreachable); None (a transient failure) drops it, so that a later run tries again."""
    if status is None:
        await session.execute(delete(ReminderDelivery).where(*_row(key)))
        return
    if status == "blocked":
        await residents.mark_unreachable(session, key.resident_id)
    await session.execute(
        update(ReminderDelivery).where(*_row(key)).values(status=status, sent_at=utcnow())
    )


async def logged(session: AsyncSession, kind: str, keys: Iterable[Key]) -> set[Key]:
    """Those of `keys` (all of `kind`) that have a row already: not to be tried again."""
    wanted = {key for key in keys if key.kind == kind}
    if not wanted:
        return set()
    found: set[Key] = set()
    first = min(key.period for key in wanted)
    resident_ids = sorted({key.resident_id for key in wanted})
    for start in range(0, len(resident_ids), 500):
        rows = await session.execute(
            select(
                ReminderDelivery.resident_id, ReminderDelivery.period, ReminderDelivery.subject
            ).where(
                ReminderDelivery.kind == kind,
                ReminderDelivery.period >= first,
                ReminderDelivery.resident_id.in_(resident_ids[start : start + 500]),
            )
        )
        found.update(
            Key(resident_id, period, kind, subject) for resident_id, period, subject in rows
        )
    return wanted & found
