"""Imports as operators see them: the recent runs, and undo (the caller commits).

Undo points each (kind, period) the import published back at the version it replaced and deletes
the readings it loaded, in the caller's one transaction; the import's own rows are deleted later
in batches (`storage.importer.versions.clean`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    ImportRun,
    ImportVersion,
    PublishedPeriod,
    Reading,
    ReceiptDelivery,
    utcnow,
)
from storage.periods import format_period
from storage.types import is_valid_id

PUBLISHED, UNDONE = "published", "undone"


async def recent(session: AsyncSession, limit: int = 20) -> list[ImportRun]:
    return list(await session.scalars(select(ImportRun).order_by(ImportRun.id.desc()).limit(limit)))


@dataclass
class UndoOutcome:
    ok: bool
    reason: str = ""
    periods: list[str] = field(default_factory=list)
    residents_with_receipts: int = 0


async def _refusal(session: AsyncSession, run: ImportRun | None, window: dt.timedelta) -> str:
    if run is None:
        return "такой загрузки нет"
    if run.status == UNDONE:
        return "эта загрузка уже отменена"
    if run.status != PUBLISHED:
        return "эта загрузка не была завершена: её данные не видны и будут удалены"
    if run.published_at is not None and run.published_at < utcnow() - window:
        days = window.days
        return f"прошло больше {days} дн.: прежние данные этих периодов уже удалены"
    return ""


async def undo(
    session: AsyncSession, import_id: int, *, window: dt.timedelta, dry_run: bool = False
) -> UndoOutcome:
    """Restore the periods `import_id` published as they were before it (or say why not)."""
    run = await session.get(ImportRun, import_id) if is_valid_id(import_id) else None
    reason = await _refusal(session, run, window)
    if reason:
        return UndoOutcome(ok=False, reason=reason)
    touched = list(
        await session.scalars(select(ImportVersion).where(ImportVersion.import_id == import_id))
    )
    pointers = {
        (p.kind, p.period): p
        for p in await session.scalars(
            select(PublishedPeriod).where(PublishedPeriod.import_id.in_([import_id]))
        )
    }
    later = [v for v in touched if (v.kind, v.period) not in pointers]
    if later:
        newer = await session.scalar(
            select(PublishedPeriod.import_id).where(
                PublishedPeriod.kind == later[0].kind, PublishedPeriod.period == later[0].period
            )
        )
        return UndoOutcome(
            ok=False,
            reason=f"данные периода {later[0].period:%m.%Y} уже заменены загрузкой "
            f"№ {newer}: сначала отмените её",
        )
    periods = sorted({v.period for v in touched})
    outcome = UndoOutcome(
        ok=True,
        periods=[format_period(p) for p in periods],
        residents_with_receipts=await residents_with_receipts(session, periods),
    )
    if dry_run:
        return outcome
    for version in touched:
        pointer = pointers[(version.kind, version.period)]
        if version.previous_import_id:
            pointer.import_id = version.previous_import_id
        else:  # version 0: no pointer
            await session.delete(pointer)
    await session.execute(delete(Reading).where(Reading.import_id == import_id))
    assert run is not None
    run.status = UNDONE
    run.undone_at = utcnow()
    await session.flush()
    return outcome


async def residents_with_receipts(session: AsyncSession, periods: list[dt.date]) -> int:
    """How many residents were already sent a receipt of one of these periods."""
    if not periods:
        return 0
    return int(
        await session.scalar(
            select(func.count(func.distinct(ReceiptDelivery.resident_id))).where(
                ReceiptDelivery.period.in_(periods), ReceiptDelivery.status == "sent"
            )
        )
        or 0
    )
