"""The account's meters as a resident sees them: last reading, this period's, verification, the
window; and one meter's history."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from services.readings import rules
from storage.models import Account, Meter, Reading
from storage.repo import readings as repo

HISTORY_PERIODS = 12
MAX_HISTORY_PAGE = 1000


class Verification(StrEnum):
    UNKNOWN = "unknown"  # no date on record
    VALID = "valid"
    SOON = "soon"  # within rules.VERIFICATION_WARNING_DAYS
    EXPIRED = "expired"


@dataclass(frozen=True)
class MeterState:
    meter: Meter
    last: Reading | None  # the latest reading of an earlier period
    current: Reading | None  # this period's
    verification: Verification


@dataclass(frozen=True)
class Overview:
    account: Account
    window: rules.Window
    meters: list[MeterState]


def verification_of(meter: Meter, window: rules.Window) -> Verification:
    due = meter.verification_due
    if due is None:
        return Verification.UNKNOWN
    if due < window.today:
        return Verification.EXPIRED
    if rules.verification_soon(meter, window.today):
        return Verification.SOON
    return Verification.VALID


async def overview(session: AsyncSession, account: Account) -> Overview:
    """The account's active meters and the organization's window, today."""
    org = account.organization
    window = rules.reading_window(org.timezone, org.readings_day_from, org.readings_day_to)
    meters = [m for m in await repo.meters_of_accounts(session, [account.id]) if not m.archived]
    ids = [m.id for m in meters]
    this_period = await repo.current_readings(session, ids, window.period)
    before = await repo.last_readings_before(session, ids, window.period)
    states = [
        MeterState(m, before.get(m.id), this_period.get(m.id), verification_of(m, window))
        for m in meters
    ]
    return Overview(account, window, states)


async def meters_of(session: AsyncSession, account: Account) -> list[Meter]:
    """Every meter of the account, archived included (their history stays readable)."""
    return await repo.meters_of_accounts(session, [account.id])


@dataclass(frozen=True)
class History:
    meter: Meter
    rows: list[repo.HistoryRow]
    page: int
    has_older: bool


async def history(session: AsyncSession, meter: Meter, page: int) -> History:
    page = max(0, min(page, MAX_HISTORY_PAGE))
    rows, has_older = await repo.history(session, meter, periods=HISTORY_PERIODS, page=page)
    return History(meter, rows, page, has_older)
