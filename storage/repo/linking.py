"""Linking accounts: the public directory (organization → house → apartment → account), proofs of
ownership, and the counting of failed proofs.

The directory shows no personal data: organizations, addresses, apartment and account numbers
only. Holder names, phones and money are read here only to check a proof, never returned.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Generic, TypeVar

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from storage.models import (
    Account,
    AccountLink,
    Apartment,
    Charge,
    House,
    LinkAttempt,
    Organization,
    utcnow,
)
from storage.repo.versions import visible
from storage.types import is_valid_id

T = TypeVar("T")

PAGE_SIZE = 8
APARTMENTS_PAGE_SIZE = 40  # in a grid of 4-5 a row: a 60-flat house is two pages
# Failed proofs per resident within a rolling day: from CAPTCHA_AFTER on every attempt needs an
# image captcha first; at BLOCK_AFTER the resident waits until the oldest counted failure ages out.
FAILURE_WINDOW = dt.timedelta(hours=24)
CAPTCHA_AFTER = 3
BLOCK_AFTER = 10
RECENT_RECEIPTS = 3

METHOD_PHONE = "phone"
METHOD_TOTAL = "receipt_total"
METHOD_CAPTCHA = "captcha"


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    page: int  # clamped to the existing pages
    pages: int  # at least 1


async def _page(
    session: AsyncSession, query, count_query, page: int, size: int = PAGE_SIZE
) -> Page:
    total = await session.scalar(count_query) or 0
    pages = max(1, -(-total // size))
    page = min(max(page, 0), pages - 1)
    rows = await session.scalars(query.limit(size).offset(page * size))
    return Page(list(rows), page, pages)


# --- the directory --------------------------------------------------------------------------


async def organizations(session: AsyncSession, page: int = 0) -> Page[Organization]:
    return await _page(
        session,
        select(Organization).order_by(Organization.name, Organization.id),
        select(func.count()).select_from(Organization),
        page,
    )


def _like_pattern(text: str) -> str:
    """A lower-case LIKE pattern for a user's fragment of a street (wildcards escaped)."""
    cleaned = " ".join(text.lower().replace("ё", "е").split())
    escaped = cleaned.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def houses(
    session: AsyncSession, organization_id: int, page: int = 0, search: str = ""
) -> Page[House]:
    """Houses of an organization, by address; `search` is any part of the street or address.

    Case-insensitive through `House.search_text` (stored lower-case): a plain LIKE, the same on
    SQLite and PostgreSQL (SQLite's lower() knows ASCII only, so the column is lowered on import).
    """
    condition = [House.organization_id == organization_id]
    if search.strip():
        pattern = _like_pattern(search)
        # "ё" is written both ways in addresses: match the fragment against either spelling.
        condition.append(func.replace(House.search_text, "ё", "е").like(pattern, escape="\\"))
    return await _page(
        session,
        select(House).where(*condition).order_by(House.address, House.id),
        select(func.count()).select_from(House).where(*condition),
        page,
    )


async def apartments(
    session: AsyncSession, house_id: int, page: int = 0, number: str = ""
) -> Page[Apartment]:
    """Apartments of a house that have an open account, in natural order; `number` narrows the
    list to apartments whose number starts with it."""
    condition = [
        Apartment.house_id == house_id,
        # EXISTS by the accounts' apartment index: one probe per apartment of this house only.
        select(Account.id)
        .where(Account.apartment_id == Apartment.id, Account.closed.is_(False))
        .exists(),
    ]
    if number.strip():
        prefix = number.strip().lower().replace("\\", "").replace("%", "").replace("_", "")
        condition.append(func.lower(Apartment.number).like(f"{prefix}%"))
    return await _page(
        session,
        select(Apartment).where(*condition).order_by(Apartment.sort_key, Apartment.number),
        select(func.count()).select_from(Apartment).where(*condition),
        page,
        APARTMENTS_PAGE_SIZE,
    )


async def accounts(session: AsyncSession, apartment_id: int, page: int = 0) -> Page[Account]:
    """Open accounts of an apartment. Callers show their numbers only."""
    condition = [Account.apartment_id == apartment_id, Account.closed.is_(False)]
    return await _page(
        session,
        select(Account).where(*condition).order_by(Account.number, Account.id),
        select(func.count()).select_from(Account).where(*condition),
        page,
    )


async def get_organization(session: AsyncSession, organization_id: int) -> Organization | None:
    if not is_valid_id(organization_id):  # forged callback data: beyond any key (and int4)
        return None
    return await session.get(Organization, organization_id)


async def get_house(session: AsyncSession, house_id: int) -> House | None:
    if not is_valid_id(house_id):
        return None
    return await session.get(House, house_id)


async def get_apartment(session: AsyncSession, apartment_id: int) -> Apartment | None:
    if not is_valid_id(apartment_id):
        return None
    return await session.scalar(
        select(Apartment).where(Apartment.id == apartment_id).options(joinedload(Apartment.house))
    )


async def get_account(session: AsyncSession, account_id: int) -> Account | None:
    """An open account with its apartment and house (for the proof step; shows no personal data)."""
    if not is_valid_id(account_id):
        return None
    return await session.scalar(
        select(Account)
        .where(Account.id == account_id, Account.closed.is_(False))
        .options(
            joinedload(Account.organization),
            joinedload(Account.apartment).joinedload(Apartment.house),
        )
    )


async def accounts_with_phone(
    session: AsyncSession, phone: str, resident_id: int, limit: int
) -> list[Account]:
    """Open accounts whose phone on record is `phone`, not yet linked to the resident (with their
    apartment and house, for the offer's buttons)."""
    linked = select(AccountLink.id).where(
        AccountLink.resident_id == resident_id, AccountLink.account_id == Account.id
    )
    query = (
        select(Account)
        .where(Account.phone == phone, Account.closed.is_(False), ~linked.exists())
        .options(joinedload(Account.apartment).joinedload(Apartment.house))
        .order_by(Account.number, Account.id)
        .limit(limit)
    )
    return list(await session.scalars(query))


# --- links ------------------------------------------------------------------------------------


async def is_linked(session: AsyncSession, resident_id: int, account_id: int) -> bool:
    found = await session.scalar(
        select(AccountLink.id).where(
            AccountLink.resident_id == resident_id, AccountLink.account_id == account_id
        )
    )
    return found is not None


async def link(session: AsyncSession, resident_id: int, account_id: int, method: str) -> bool:
    """Link the account; False if it was linked already."""
    if await is_linked(session, resident_id, account_id):
        return False
    session.add(AccountLink(resident_id=resident_id, account_id=account_id, method=method))
    await session.flush()
    return True


async def unlink(session: AsyncSession, resident_id: int, account_id: int) -> bool:
    link_row = await session.scalar(
        select(AccountLink).where(
            AccountLink.resident_id == resident_id, AccountLink.account_id == account_id
        )
    )
    if link_row is None:
        return False
    await session.delete(link_row)
    await session.flush()
    return True


# --- proofs -----------------------------------------------------------------------------------


async def recent_totals(
    session: AsyncSession, account_id: int, count: int = RECENT_RECEIPTS
) -> list[tuple[dt.date, Decimal]]:
    """The "total to pay" of the account's last `count` receipts: per period, the sum of the
    services' closing balances. Newest first."""
    periods = list(
        await session.scalars(
            select(Charge.period)
            .where(Charge.account_id == account_id, visible(Charge))
            .group_by(Charge.period)
            .order_by(Charge.period.desc())
            .limit(count)
        )
    )
    if not periods:
        return []
    rows = await session.execute(
        select(Charge.period, Charge.closing).where(
            Charge.account_id == account_id, Charge.period.in_(periods), visible(Charge)
        )
    )
    sums: dict[dt.date, Decimal] = {period: Decimal("0.00") for period in periods}
    for period, closing in rows:
        sums[period] += closing
    return [(period, sums[period]) for period in periods]


# --- attempts and limits ------------------------------------------------------------------------


async def log_attempt(
    session: AsyncSession, resident_id: int, account_id: int, method: str, success: bool
) -> None:
    session.add(
        LinkAttempt(resident_id=resident_id, account_id=account_id, method=method, success=success)
    )
    await session.flush()


@dataclass(frozen=True)
class Limits:
    failures: int  # failed proofs (wrong totals and wrong captchas) within the window
    blocked_until: dt.datetime | None  # naive UTC; None when the resident may try

    @property
    def needs_captcha(self) -> bool:
        return self.failures >= CAPTCHA_AFTER


async def limits(session: AsyncSession, resident_id: int, now: dt.datetime | None = None) -> Limits:
    now = now or utcnow()
    failed_at = list(
        await session.scalars(
            select(LinkAttempt.created_at)
            .where(
                LinkAttempt.resident_id == resident_id,
                LinkAttempt.success.is_(False),
                LinkAttempt.created_at > now - FAILURE_WINDOW,
            )
            .order_by(LinkAttempt.created_at)
        )
    )
    blocked_until = None
    if len(failed_at) >= BLOCK_AFTER:
        # Attempts come back when the count drops below the limit: when this failure ages out.
        blocked_until = failed_at[len(failed_at) - BLOCK_AFTER] + FAILURE_WINDOW
    return Limits(len(failed_at), blocked_until)
