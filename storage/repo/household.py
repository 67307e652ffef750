"""Household invites and who has access to an account. Repositories never commit."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from storage.models import Account, AccountLink, Apartment, HouseholdInvite, Resident
from storage.types import is_valid_id


async def add_invite(
    session: AsyncSession, *, account_id: int, inviter_id: int, token_hash: str,
    now: dt.datetime, expires_at: dt.datetime,
) -> HouseholdInvite:  # fmt: skip
    invite = HouseholdInvite(
        account_id=account_id,
        inviter_id=inviter_id,
        token_hash=token_hash,
        created_at=now,
        expires_at=expires_at,
    )
    session.add(invite)
    await session.flush()
    return invite


async def by_hash(session: AsyncSession, token_hash: str) -> HouseholdInvite | None:
    return await session.scalar(
        select(HouseholdInvite).where(HouseholdInvite.token_hash == token_hash)
    )


async def get(session: AsyncSession, invite_id: int) -> HouseholdInvite | None:
    if not is_valid_id(invite_id):
        return None
    return await session.get(HouseholdInvite, invite_id)


async def claim(session: AsyncSession, invite_id: int, invitee_id: int, now: dt.datetime) -> bool:
    """Mark the invite used by `invitee_id` unless it was used or revoked meanwhile: one
    conditional update, so that two taps (or two people) cannot both use one link."""
    result = await session.execute(
        update(HouseholdInvite)
        .where(
            HouseholdInvite.id == invite_id,
            HouseholdInvite.used_at.is_(None),
            HouseholdInvite.revoked_at.is_(None),
        )
        .values(used_at=now, invitee_id=invitee_id)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1  # type: ignore[attr-defined]


async def pending(
    session: AsyncSession, inviter_id: int, account_id: int, now: dt.datetime
) -> list[HouseholdInvite]:
    """The inviter's links for the account not used, revoked or expired yet, oldest first."""
    rows = await session.scalars(
        select(HouseholdInvite)
        .where(
            HouseholdInvite.inviter_id == inviter_id,
            HouseholdInvite.account_id == account_id,
            HouseholdInvite.used_at.is_(None),
            HouseholdInvite.revoked_at.is_(None),
            HouseholdInvite.expires_at > now,
        )
        .order_by(HouseholdInvite.id)
    )
    return list(rows)


async def members(session: AsyncSession, account_ids: list[int]) -> list[AccountLink]:
    """Every link to these accounts with its resident, in the order they were made."""
    if not account_ids:
        return []
    rows = await session.scalars(
        select(AccountLink)
        .where(AccountLink.account_id.in_(account_ids))
        .options(joinedload(AccountLink.resident))
        .order_by(AccountLink.account_id, AccountLink.id)
    )
    return list(rows)


async def used_by(
    session: AsyncSession, inviter_id: int, account_ids: list[int]
) -> list[HouseholdInvite]:
    """The inviter's used, not revoked invites to these accounts (whose invitees they may
    remove)."""
    if not account_ids:
        return []
    rows = await session.scalars(
        select(HouseholdInvite).where(
            HouseholdInvite.inviter_id == inviter_id,
            HouseholdInvite.account_id.in_(account_ids),
            HouseholdInvite.used_at.is_not(None),
            HouseholdInvite.revoked_at.is_(None),
            HouseholdInvite.invitee_id.is_not(None),
        )
    )
    return list(rows)


async def account_with_address(session: AsyncSession, account_id: int) -> Account | None:
    return await session.scalar(
        select(Account)
        .where(Account.id == account_id)
        .options(
            joinedload(Account.organization),
            joinedload(Account.apartment).joinedload(Apartment.house),
        )
    )


async def resident(session: AsyncSession, resident_id: int) -> Resident | None:
    return await session.get(Resident, resident_id)
