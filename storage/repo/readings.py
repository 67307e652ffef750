"""Meters and their readings. Every version of a reading is kept; the highest is current."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import Select, and_, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage.models import (
    Account,
    AccountLink,
    Meter,
    Organization,
    Reading,
    ReminderDelivery,
    ReminderRequest,
    Resident,
)

SOURCE_RESIDENT = "resident"


def _current_versions(*where: object) -> Select:
    """(meter_id, period, max version) of every (meter, period) matching `where`."""
    return (
        select(Reading.meter_id, Reading.period, func.max(Reading.version).label("version"))
        .where(*where)
        .group_by(Reading.meter_id, Reading.period)
    )


def _current_readings(*where: object) -> Select:
    """Current (latest version) readings matching `where`."""
    latest = _current_versions(*where).subquery()
    return select(Reading).join(
        latest,
        and_(
            Reading.meter_id == latest.c.meter_id,
            Reading.period == latest.c.period,
            Reading.version == latest.c.version,
        ),
    )


async def meters_of_accounts(
    session: AsyncSession, account_ids: Sequence[int], *, active_only: bool = False
) -> list[Meter]:
    if not account_ids:
        return []
    query = select(Meter).where(Meter.account_id.in_(account_ids))
    if active_only:
        query = query.where(Meter.archived.is_(False))
    rows = await session.scalars(query.order_by(Meter.account_id, Meter.resource, Meter.id))
    return list(rows)


async def current_reading(session: AsyncSession, meter_id: int, period: dt.date) -> Reading | None:
    return await session.scalar(
        select(Reading)
        .where(Reading.meter_id == meter_id, Reading.period == period)
        .order_by(Reading.version.desc())
        .limit(1)
    )


async def current_readings(
    session: AsyncSession, meter_ids: Sequence[int], period: dt.date
) -> dict[int, Reading]:
    if not meter_ids:
        return {}
    rows = await session.scalars(
        _current_readings(Reading.meter_id.in_(meter_ids), Reading.period == period)
    )
    return {reading.meter_id: reading for reading in rows}


async def last_readings_before(
    session: AsyncSession, meter_ids: Sequence[int], period: dt.date
) -> dict[int, Reading]:
    """Each meter's current reading of its latest period before `period`."""
    if not meter_ids:
        return {}
    last_period = (
        select(Reading.meter_id, func.max(Reading.period).label("period"))
        .where(Reading.meter_id.in_(meter_ids), Reading.period < period)
        .group_by(Reading.meter_id)
        .subquery()
    )
    rows = await session.scalars(
        _current_readings(Reading.meter_id.in_(meter_ids), Reading.period < period).join(
            last_period,
            and_(
                Reading.meter_id == last_period.c.meter_id,
                Reading.period == last_period.c.period,
            ),
        )
    )
    return {reading.meter_id: reading for reading in rows}


async def recent_values(
    session: AsyncSession, meter_id: int, period: dt.date, count: int
) -> list[Decimal]:
    """The current values of the last `count` periods before `period`, oldest first."""
    rows = await session.scalars(
        _current_readings(Reading.meter_id == meter_id, Reading.period < period)
        .order_by(Reading.period.desc())
        .limit(count)
    )
    return [reading.value for reading in reversed(list(rows))]


async def by_update_id(session: AsyncSession, update_id: int) -> Reading | None:
    return await session.scalar(select(Reading).where(Reading.update_id == update_id))


async def add_version(
    session: AsyncSession,
    *,
    meter_id: int,
    period: dt.date,
    value: Decimal,
    taken_on: dt.date,
    resident_id: int | None,
    update_id: int | None,
    needs_review: bool = False,
    review_reason: str = "",
    source: str = SOURCE_RESIDENT,
    photo_file_id: str | None = None,
) -> Reading:
    """A new version of the (meter, period) reading; earlier versions stay as history."""
    top = await session.scalar(
        select(func.max(Reading.version)).where(
            Reading.meter_id == meter_id, Reading.period == period
        )
    )
    reading = Reading(
        meter_id=meter_id,
        period=period,
        value=value,
        taken_on=taken_on,
        source=source,
        version=(top or 0) + 1,
        resident_id=resident_id,
        update_id=update_id,
        needs_review=needs_review,
        review_reason=review_reason,
        photo_file_id=photo_file_id,
    )
    session.add(reading)
    await session.flush()
    return reading


@dataclass(frozen=True)
class HistoryRow:
    period: dt.date
    value: Decimal
    consumption: Decimal | None
    source: str
    versions: int
    needs_review: bool
    taken_on: dt.date | None


async def history(
    session: AsyncSession, meter: Meter, *, periods: int, page: int
) -> tuple[list[HistoryRow], bool]:
    """`periods` current readings, newest first, page 0 the latest; and whether older exist."""
    rows = list(
        await session.scalars(
            _current_readings(Reading.meter_id == meter.id)
            .order_by(Reading.period.desc())
            .offset(page * periods)
            .limit(periods + 1)  # one more: the oldest shown use, and whether older pages exist
        )
    )
    counts = dict(
        (
            await session.execute(
                select(Reading.period, func.count())
                .where(Reading.meter_id == meter.id)
                .group_by(Reading.period)
            )
        ).all()
    )
    capacity = Decimal(10) ** meter.digits
    out = []
    for index, reading in enumerate(rows[:periods]):
        older = rows[index + 1] if index + 1 < len(rows) else None
        use = None
        if older is not None:
            use = reading.value - older.value
            if use < 0 and reading.review_reason == "rollover":
                use += capacity
        out.append(
            HistoryRow(
                period=reading.period,
                value=reading.value,
                consumption=use,
                source=reading.source,
                versions=counts.get(reading.period, 1),
                needs_review=reading.needs_review,
                taken_on=reading.taken_on,
            )
        )
    return out, len(rows) > periods


# --- export ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportRow:
    organization: str
    account: str
    meter: str
    serial: str
    resource: str
    zone: str
    period: dt.date
    value: Decimal
    taken_on: dt.date | None
    source: str
    version: int
    needs_review: bool
    review_reason: str
    photo_file_id: str | None = None


async def export_rows(
    session: AsyncSession, period: dt.date, organization_id: int | None
) -> list[ExportRow]:
    """The current reading of every meter for `period` (of one organization, or all)."""
    latest = _current_versions(Reading.period == period).subquery()
    query = (
        _export_query()
        .join(
            latest,
            and_(
                Reading.meter_id == latest.c.meter_id,
                Reading.period == latest.c.period,
                Reading.version == latest.c.version,
            ),
        )
        .order_by(Organization.code, Account.number, Meter.code)
    )
    if organization_id is not None:
        query = query.where(Account.organization_id == organization_id)
    return [_export_row(*row) for row in (await session.execute(query)).all()]


def _export_query() -> Select[tuple[Reading, Meter, str, str]]:
    return (
        select(Reading, Meter, Account.number, Organization.code)
        .join(Meter, Meter.id == Reading.meter_id)
        .join(Account, Account.id == Meter.account_id)
        .join(Organization, Organization.id == Account.organization_id)
    )


def _export_row(reading: Reading, meter: Meter, account_number: str, org_code: str) -> ExportRow:
    return ExportRow(
        organization=org_code,
        account=account_number,
        meter=meter.code,
        serial=meter.serial,
        resource=meter.resource,
        zone=meter.zone,
        period=reading.period,
        value=reading.value,
        taken_on=reading.taken_on,
        source=reading.source,
        version=reading.version,
        needs_review=reading.needs_review,
        review_reason=reading.review_reason,
        photo_file_id=reading.photo_file_id,
    )


async def photo_reading(session: AsyncSession, file_id: str) -> ExportRow | None:
    """The latest reading that carries the photo `file_id` (None: no reading has it)."""
    query = (
        _export_query().where(Reading.photo_file_id == file_id).order_by(Reading.id.desc()).limit(1)
    )
    row = (await session.execute(query)).first()
    return None if row is None else _export_row(*row)


# --- reminders -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReminderTarget:
    resident_id: int
    chat_id: int
    missing: int  # meters of this organization still without a reading this period


async def reminder_targets(
    session: AsyncSession,
    organization_id: int,
    period: dt.date,
    kind: str,
    *,
    include_requests: bool = False,
) -> list[ReminderTarget]:
    """Registered, reachable residents who want reminders (or, with `include_requests`, asked
    for one of `period`: «Напомнить, когда откроется»), have an active meter of this
    organization without a reading for `period`, and have not had this reminder yet."""
    has_reading = exists().where(Reading.meter_id == Meter.id, Reading.period == period)
    wants = Resident.reminders.is_(True)
    if include_requests:
        wants = or_(
            wants,
            exists().where(
                ReminderRequest.resident_id == Resident.id, ReminderRequest.period == period
            ),
        )
    reminded = exists().where(
        ReminderDelivery.resident_id == Resident.id,
        ReminderDelivery.period == period,
        ReminderDelivery.kind == kind,
    )
    link = aliased(AccountLink)
    query = (
        select(Resident.id, Resident.chat_id, func.count(Meter.id.distinct()))
        .join(link, link.resident_id == Resident.id)
        .join(Account, Account.id == link.account_id)
        .join(Meter, Meter.account_id == Account.id)
        .where(
            Account.organization_id == organization_id,
            Account.closed.is_(False),
            Meter.archived.is_(False),
            ~has_reading,
            wants,
            Resident.registered_at.is_not(None),
            Resident.unreachable_at.is_(None),
            ~reminded,
        )
        .group_by(Resident.id, Resident.chat_id)
        .order_by(Resident.id)
    )
    return [
        ReminderTarget(rid, chat, missing) for rid, chat, missing in await session.execute(query)
    ]


async def request_reminder(session: AsyncSession, resident_id: int, period: dt.date) -> None:
    """Remember that the resident asked to be reminded when the window of `period` opens (asking
    twice keeps one request)."""
    asked = await session.scalar(
        select(ReminderRequest.id).where(
            ReminderRequest.resident_id == resident_id, ReminderRequest.period == period
        )
    )
    if asked is None:
        session.add(ReminderRequest(resident_id=resident_id, period=period))
        await session.flush()


async def organizations(session: AsyncSession) -> list[Organization]:
    return list(await session.scalars(select(Organization).order_by(Organization.id)))


async def find_organization(session: AsyncSession, key: str) -> Organization | None:
    """By code, or by id when the key is a number."""
    org = await session.scalar(select(Organization).where(Organization.code == key))
    if org is None and key.isdigit():
        org = await session.get(Organization, int(key))
    return org
