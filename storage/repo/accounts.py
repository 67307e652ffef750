"""Accounts and the authorization of every access to them."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from storage.models import Account, AccountLink, Apartment, House
from storage.types import is_valid_id


async def get_linked_account(
    session: AsyncSession, resident_id: int, account_id: int
) -> Account | None:
    """The account if this resident has linked it, else None.

    Every handler that touches an account goes through here: callback data and text come from
    the client and can name any account.
    """
    if not is_valid_id(account_id):  # a forged id beyond any row (and beyond PostgreSQL's int4)
        return None
    return await session.scalar(
        select(Account)
        .join(AccountLink, AccountLink.account_id == Account.id)
        .where(AccountLink.resident_id == resident_id, Account.id == account_id)
        .options(
            joinedload(Account.organization),
            joinedload(Account.apartment).joinedload(Apartment.house),
        )
    )


async def linked_accounts(session: AsyncSession, resident_id: int) -> list[Account]:
    rows = await session.scalars(
        select(Account)
        .join(AccountLink, AccountLink.account_id == Account.id)
        .where(AccountLink.resident_id == resident_id)
        .order_by(AccountLink.id)
        .options(
            joinedload(Account.organization),
            joinedload(Account.apartment).joinedload(Apartment.house),
        )
    )
    return list(rows)


async def find_by_number(session: AsyncSession, number: str) -> Account | None:
    """Operators' look-up by account number (the CLI); first match across organizations."""
    return await session.scalar(
        select(Account)
        .where(Account.number == number)
        .options(
            joinedload(Account.organization),
            joinedload(Account.apartment)
            .joinedload(Apartment.house)
            .joinedload(House.organization),
        )
        .limit(1)
    )
