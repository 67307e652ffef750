"""What the notifications (`services.notifications`) read: recent payment versions and their rows,
the residents who want each notification, accounts with a bill, meters due for verification.

Only residents who are registered, reachable and linked to the account count; each notification
has its own switch on the resident (`Resident.notify_*`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    Account,
    AccountLink,
    Apartment,
    BotPayment,
    House,
    ImportRun,
    ImportVersion,
    Meter,
    Organization,
    Payment,
    PublishedPeriod,
    Resident,
)
from storage.repo.versions import PAYMENTS, visible

CHUNK = 500


@dataclass(frozen=True, slots=True)
class Recipient:
    account_id: int
    resident_id: int
    chat_id: int


@dataclass(frozen=True, slots=True)
class AccountInfo:
    id: int
    number: str
    house_address: str
    apartment_number: str
    organization_id: int
    timezone: str
    due_day: int


@dataclass(frozen=True, slots=True)
class PaymentRow:
    id: int
    account_id: int
    paid_on: dt.date
    amount: Decimal


@dataclass(frozen=True, slots=True)
class VersionChange:
    """A published payments period: the version readers see, and the version it is compared
    with (the one published before the recent imports; 0: none)."""

    period: dt.date
    current: int
    base: int


@dataclass(frozen=True, slots=True)
class MeterDue:
    meter_id: int
    account_id: int
    resource: str
    zone: str
    serial: str
    due: dt.date


def _wanted(switch: Any) -> tuple[Any, ...]:
    return (
        switch.is_(True),
        Resident.registered_at.is_not(None),
        Resident.unreachable_at.is_(None),
    )


def _wanted_accounts(switch: Any) -> Any:
    """The accounts someone wants to hear about (`switch`), as a subquery."""
    return (
        select(AccountLink.account_id)
        .join(Resident, Resident.id == AccountLink.resident_id)
        .where(*_wanted(switch))
    )


def _chunks(ids: Sequence[int]) -> list[list[int]]:
    ordered = sorted(set(ids))
    return [ordered[i : i + CHUNK] for i in range(0, len(ordered), CHUNK)]


async def recipients(
    session: AsyncSession,
    switch: Any,
    account_ids: Sequence[int] | None = None,
    *,
    organization_id: int | None = None,
) -> list[Recipient]:
    """Residents linked to open accounts (of `account_ids`, or of the organization) who want
    the notification `switch` (a `Resident.notify_*` column)."""
    query = (
        select(AccountLink.account_id, Resident.id, Resident.chat_id)
        .join(Resident, Resident.id == AccountLink.resident_id)
        .join(Account, Account.id == AccountLink.account_id)
        .where(Account.closed.is_(False), *_wanted(switch))
        .order_by(AccountLink.account_id, Resident.id)
    )
    if account_ids is None:
        assert organization_id is not None
        query = query.where(Account.organization_id == organization_id)
        return [Recipient(*row) for row in await session.execute(query)]
    found: list[Recipient] = []
    for chunk in _chunks(account_ids):
        rows = await session.execute(query.where(AccountLink.account_id.in_(chunk)))
        found.extend(Recipient(*row) for row in rows)
    return found


async def accounts(session: AsyncSession, account_ids: Sequence[int]) -> dict[int, AccountInfo]:
    """The accounts with their address and their organization's time zone and due day."""
    found: dict[int, AccountInfo] = {}
    for chunk in _chunks(account_ids):
        rows = await session.execute(
            select(
                Account.id,
                Account.number,
                House.address,
                Apartment.number,
                Organization.id,
                Organization.timezone,
                Organization.due_day,
            )
            .join(Apartment, Apartment.id == Account.apartment_id)
            .join(House, House.id == Apartment.house_id)
            .join(Organization, Organization.id == Account.organization_id)
            .where(Account.id.in_(chunk))
        )
        found.update((row[0], AccountInfo(*row)) for row in rows)
    return found


# --- payments ---------------------------------------------------------------------------------


async def payment_changes(session: AsyncSession, since: dt.datetime) -> list[VersionChange]:
    """The payments periods whose published version came with an import published after `since`,
    each with the version to compare it with: the one before the recent imports (their chain of
    replaced versions is followed back to the first published before `since`). A chain that
    reaches a purged version (its rows are gone) is left out."""
    published_at = dict(
        (
            await session.execute(
                select(ImportRun.id, ImportRun.published_at).where(
                    ImportRun.published_at.is_not(None)
                )
            )
        ).all()
    )
    replaced = {
        (v.import_id, v.period): v
        for v in await session.scalars(select(ImportVersion).where(ImportVersion.kind == PAYMENTS))
    }

    def recent(import_id: int) -> bool:
        at = published_at.get(import_id)
        return at is not None and at >= since

    changes = []
    for period, current in await session.execute(
        select(PublishedPeriod.period, PublishedPeriod.import_id).where(
            PublishedPeriod.kind == PAYMENTS
        )
    ):
        base, purged = current, False
        while recent(base) and (base, period) in replaced:
            version = replaced[(base, period)]
            purged = purged or version.purged
            base = version.previous_import_id
        if base != current and not purged:
            changes.append(VersionChange(period, current, base))
    return sorted(changes, key=lambda c: c.period)


async def payment_rows(
    session: AsyncSession, import_id: int, period: dt.date, switch: Any, since_day: dt.date
) -> list[PaymentRow]:
    """A version's payments of `period`, made on `since_day` or later, of the accounts someone
    wants to hear about (`switch`)."""
    rows = await session.execute(
        select(Payment.id, Payment.account_id, Payment.paid_on, Payment.amount)
        .where(
            Payment.import_id == import_id,
            Payment.period == period,
            Payment.paid_on >= since_day,
            Payment.account_id.in_(_wanted_accounts(switch)),
        )
        .order_by(Payment.account_id, Payment.paid_on, Payment.id)
    )
    return [PaymentRow(*row) for row in rows]


# --- the bill ---------------------------------------------------------------------------------


async def paid_through_bot(session: AsyncSession, account_ids: Sequence[int]) -> dict[int, dt.date]:
    """The latest period each of the accounts was paid for through the bot (none: absent)."""
    found: dict[int, dt.date] = {}
    for chunk in _chunks(account_ids):
        rows = await session.execute(
            select(BotPayment.account_id, func.max(BotPayment.period))
            .where(BotPayment.account_id.in_(chunk))
            .group_by(BotPayment.account_id)
        )
        found.update((account, period) for account, period in rows)
    return found


async def booked_after(
    session: AsyncSession, account_ids: Sequence[int], period: dt.date
) -> dict[tuple[int, dt.date], Decimal]:
    """Payments the billing booked in periods after `period`: {(account, period): amount}."""
    found: dict[tuple[int, dt.date], Decimal] = {}
    for chunk in _chunks(account_ids):
        rows = await session.execute(
            select(Payment.account_id, Payment.period, func.sum(Payment.amount))
            .where(
                Payment.account_id.in_(chunk),
                Payment.period > period,
                visible(Payment, PAYMENTS),
            )
            .group_by(Payment.account_id, Payment.period)
        )
        found.update(((account, booked), amount) for account, booked, amount in rows)
    return found


# --- meters -----------------------------------------------------------------------------------


async def meters_due(
    session: AsyncSession, switch: Any, first: dt.date, last: dt.date
) -> list[MeterDue]:
    """Active meters of open accounts someone wants to hear about (`switch`) whose verification
    date is within [first, last]."""
    rows = await session.execute(
        select(
            Meter.id, Meter.account_id, Meter.resource, Meter.zone, Meter.serial,
            Meter.verification_due,
        )
        .join(Account, Account.id == Meter.account_id)
        .where(
            Meter.archived.is_(False),
            Meter.verification_due >= first,
            Meter.verification_due <= last,
            Account.closed.is_(False),
            Meter.account_id.in_(_wanted_accounts(switch)),
        )
        .order_by(Meter.account_id, Meter.verification_due, Meter.id)
    )  # fmt: skip
    return [MeterDue(*row) for row in rows]
