"""The operators' statistics: residents, links, readings of a period, appeals, pushes.

Which period counts as current is the readings rules' decision (`services.stats` passes it in).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    Account,
    AccountLink,
    Meter,
    Organization,
    Push,
    Reading,
    ReceiptDelivery,
    Resident,
)
from storage.repo import appeals as appeals_repo


@dataclass
class OrgReadings:
    organization: str
    period: dt.date
    meters: int
    covered: int  # meters with a reading for the period
    readings: int  # readings residents sent for the period (corrections included)

    @property
    def share(self) -> Decimal:
        return Decimal(0) if not self.meters else Decimal(self.covered * 100) / self.meters


@dataclass
class LastPush:
    period: dt.date
    status: str
    started_at: dt.datetime
    deliveries: dict[str, int]


@dataclass
class Figures:
    registered: int = 0
    unreachable: int = 0
    linked_accounts: int = 0
    links: int = 0
    readings: list[OrgReadings] = field(default_factory=list)
    appeals: dict[str, int] = field(default_factory=dict)
    unposted_appeals: int = 0
    overdue_appeals: int = 0  # waiting for an answer past their answer day (services.appeals)
    last_push: LastPush | None = None


async def _count(session: AsyncSession, query: Select[Any]) -> int:
    return await session.scalar(query) or 0


async def org_readings(
    session: AsyncSession, org: Organization, period: dt.date
) -> OrgReadings | None:
    """How many of the organization's live meters have a reading for the period (None: no
    meters at all)."""
    live_meters = (
        select(Meter.id)
        .join(Account, Account.id == Meter.account_id)
        .where(
            Account.organization_id == org.id,
            Meter.archived.is_(False),
            Account.closed.is_(False),
        )
    )
    meters = await _count(session, select(func.count()).select_from(live_meters.subquery()))
    if not meters:
        return None
    of_period = (Reading.period == period, Reading.meter_id.in_(live_meters))
    covered = await _count(
        session, select(func.count(func.distinct(Reading.meter_id))).where(*of_period)
    )
    sent = await _count(
        session, select(func.count(Reading.id)).where(*of_period, Reading.source == "resident")
    )
    return OrgReadings(org.name, period, meters, covered, sent)


async def last_push(session: AsyncSession) -> LastPush | None:
    push = await session.scalar(
        select(Push).order_by(Push.started_at.desc(), Push.id.desc()).limit(1)
    )
    if push is None:
        return None
    rows = await session.execute(
        select(ReceiptDelivery.status, func.count(ReceiptDelivery.id))
        .where(ReceiptDelivery.period == push.period)
        .group_by(ReceiptDelivery.status)
    )
    return LastPush(push.period, push.status, push.started_at, dict(rows.all()))


async def collect(session: AsyncSession, period_of: Callable[[Organization], dt.date]) -> Figures:
    """The figures; `period_of(organization)` is the month its readings are counted for."""
    figures = Figures()
    registered = Resident.registered_at.is_not(None)
    figures.registered = await _count(session, select(func.count(Resident.id)).where(registered))
    figures.unreachable = await _count(
        session,
        select(func.count(Resident.id)).where(registered, Resident.unreachable_at.is_not(None)),
    )
    figures.linked_accounts = await _count(
        session, select(func.count(func.distinct(AccountLink.account_id)))
    )
    figures.links = await _count(session, select(func.count(AccountLink.id)))
    for org in await session.scalars(select(Organization).order_by(Organization.name)):
        readings = await org_readings(session, org, period_of(org))
        if readings is not None:
            figures.readings.append(readings)
    figures.appeals = await appeals_repo.counts_by_status(session)
    figures.unposted_appeals = await appeals_repo.count_unposted(session)
    figures.last_push = await last_push(session)
    return figures
