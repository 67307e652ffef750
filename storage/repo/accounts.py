"""Accounts and the authorization of every access to them."""

from __future__ import annotations

from sqlalchemy import Select, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from storage.models import Account, AccountLink, Apartment, Resident
from storage.repo.billing import CardFigures, card_figures, figures_of
from storage.types import is_valid_id


def _with_address(query: Select[tuple[Account]]) -> Select[tuple[Account]]:
    """The account with its organization, apartment and house."""
    return query.options(
        joinedload(Account.organization),
        joinedload(Account.apartment).joinedload(Apartment.house),
    )


# Built once (the card and every account screen run them; see storage.repo.residents)
_LINKED_ACCOUNT = _with_address(
    select(Account)
    .join(AccountLink, AccountLink.account_id == Account.id)
    .where(
        AccountLink.resident_id == bindparam("resident_id"),
        Account.id == bindparam("account_id"),
    )
)
_LINKED_ACCOUNTS = _with_address(
    select(Account)
    .join(AccountLink, AccountLink.account_id == Account.id)
    .where(AccountLink.resident_id == bindparam("resident_id"))
    .order_by(AccountLink.id)
)


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
        _LINKED_ACCOUNT, {"resident_id": resident_id, "account_id": account_id}
    )


async def linked_accounts(session: AsyncSession, resident_id: int) -> list[Account]:
    return list(await session.scalars(_LINKED_ACCOUNTS, {"resident_id": resident_id}))


_RESIDENT_WITH_ACCOUNTS = _with_address(
    select(Resident, Account, *card_figures(Account.id))
    .outerjoin(AccountLink, AccountLink.resident_id == Resident.id)
    .outerjoin(Account, Account.id == AccountLink.account_id)
    .where(Resident.telegram_id == bindparam("telegram_id"))
    .order_by(AccountLink.id)
)


async def resident_with_accounts(
    session: AsyncSession, telegram_id: int
) -> tuple[Resident, list[tuple[Account, CardFigures]]] | None:
    """The resident with this Telegram id and their linked accounts in link order, each with its
    card figures, in one SELECT (None: no such resident)."""
    rows = (await session.execute(_RESIDENT_WITH_ACCOUNTS, {"telegram_id": telegram_id})).all()
    if not rows:
        return None
    return rows[0][0], [
        (account, figures_of(period, closing, paid))
        for _, account, period, closing, paid in rows
        if account is not None
    ]
