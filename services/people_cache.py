"""Residents, their linked accounts and those accounts' card figures, kept in memory by a
single-process bot between the changes that concern them.

Every update looks its sender up and every account screen authorizes the account against the
sender's links; on SQLite each such read costs four round trips to the driver's thread, which
made them most of an account card's CPU. The people behind those reads change far less often
than they are read, so a process that is the only one serving updates (SQLite, no Redis) keeps:

- per Telegram user: the resident (or "not registered") and the linked accounts, with the
  organization, apartment and house an account screen shows and each account's card figures
  (its balance, and whether anyone paid it through the bot), all read in one SELECT.

Freshness. A commit of this process that changed residents, links or bot payments drops
everything before it returns (`storage.changes`): registering, linking, unlinking, erasing and
paying are seen by the very next update, and an erased resident's data leaves memory at once.
A change from another process (the CLI, a script) bumps the `generations` row through triggers
in the same transaction (migration 0007); it is read together with the billing data's
generation once per `recheck_seconds` (one second), and either changing drops everything. An
entry read from the database while a drop happened is not kept (`_epoch`).

Handlers get the resident and accounts merged into their own session (`Session.merge` with
`load=False`: no SELECT), as if they had loaded them, so they can change and commit them as
before; the kept copies stay detached and unchanged. (A merge without loading overwrites an
instance the session already holds: the middleware and the account gate ask first, before any
handler loads these rows.) The accounts come with their apartment, house and organization (the
bank details of a payment QR among them): the people generation also moves when any of those
rows changes (migration 0008). Disabled (PostgreSQL, or Redis: several
processes serve updates, and each must see the others' commits at once), every call reads the
database.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import case, func, inspect, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import make_transient_to_detached

from services.billing_cache import DEFAULT_RECHECK_SECONDS, GenerationWatch
from storage import changes
from storage.models import Account, Generation, ImportRun, Resident
from storage.repo import residents
from storage.repo.accounts import get_linked_account, linked_accounts, resident_with_accounts
from storage.repo.billing import Balance, CardFigures

DEFAULT_SIZE = 10_000  # residents: a few KB each with their accounts' addresses

_GENERATIONS = select(
    Generation.value,
    select(func.max(case((ImportRun.status == "published", ImportRun.id)))).scalar_subquery(),
    select(func.max(ImportRun.undone_at)).scalar_subquery(),
).where(Generation.name == "people")


@dataclass(frozen=True, slots=True)
class _Entry:
    resident: Resident | None  # detached, without relationships; None: not registered (no row)
    accounts: tuple[Account, ...] = ()  # detached, with their addresses, in link order
    figures: dict[int, CardFigures] = field(default_factory=dict)  # by account id


def _detached_copy(resident: Resident) -> Resident:
    """A detached Resident with the loaded one's column values, no relationships, no history."""
    copy = Resident(**{a.key: getattr(resident, a.key) for a in inspect(Resident).column_attrs})
    make_transient_to_detached(copy)
    return copy


class PeopleCache:
    def __init__(
        self,
        *,
        enabled: bool = True,
        size: int = DEFAULT_SIZE,
        recheck_seconds: float = DEFAULT_RECHECK_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.enabled = enabled
        self._size = size
        self._watch = GenerationWatch(_GENERATIONS, recheck_seconds, clock)
        self._entries: OrderedDict[int, _Entry] = OrderedDict()
        self._epoch = 0
        if enabled:
            changes.subscribe(self)

    # --- freshness ---------------------------------------------------------------------------

    def people_changed(self) -> None:
        """Drop everything (a commit of this process changed people)."""
        self._entries.clear()
        self._epoch += 1

    async def _refresh(self, session: AsyncSession) -> None:
        if await self._watch.changed(session):
            self.people_changed()

    # --- what handlers ask --------------------------------------------------------------------

    async def resident(self, session: AsyncSession, telegram_id: int) -> Resident | None:
        """The resident with this Telegram id in `session` (None: not registered)."""
        if not self.enabled:
            return await residents.get_by_telegram_id(session, telegram_id)
        await self._refresh(session)
        entry = self._entries.get(telegram_id)
        if entry is None:
            entry = await self._load(session, telegram_id)
        else:
            self._entries.move_to_end(telegram_id)
        if entry.resident is None:
            return None
        return await session.merge(entry.resident, load=False)

    async def accounts(self, session: AsyncSession, resident: Resident) -> list[Account]:
        """The resident's linked accounts in link order, in `session`, with their organization,
        apartment and house."""
        kept = self._kept(resident)
        if kept is None:
            return await linked_accounts(session, resident.id)
        return [await session.merge(account, load=False) for account in kept]

    async def linked_account(
        self, session: AsyncSession, resident: Resident, account_id: int
    ) -> Account | None:
        """The account if this resident has linked it (else None), in `session`."""
        kept = self._kept(resident)
        if kept is None:
            return await get_linked_account(session, resident.id, account_id)
        for account in kept:
            if account.id == account_id:
                return await session.merge(account, load=False)
        return None

    def link_count(self, resident: Resident) -> int | None:
        """How many accounts the resident has linked, as kept (None: not kept)."""
        kept = self._kept(resident)
        return None if kept is None else len(kept)

    def card_figures(self, resident: Resident, account_id: int) -> CardFigures | None:
        """The card figures of one of the resident's accounts, as kept (None: not kept)."""
        entry = self._entry_of(resident)
        return None if entry is None else entry.figures.get(account_id)

    def balances(self, resident: Resident) -> dict[int, Balance | None] | None:
        """The balances of the resident's accounts, as kept (None: not kept)."""
        entry = self._entry_of(resident)
        if entry is None:
            return None
        return {account_id: f.balance for account_id, f in entry.figures.items()}

    # --- internals ----------------------------------------------------------------------------

    async def _load(self, session: AsyncSession, telegram_id: int) -> _Entry:
        """Read the resident and their accounts in one SELECT, in a session of its own on the
        update's connection and transaction (the kept copies are never a handler's objects),
        and keep them unless something was dropped meanwhile."""
        epoch = self._epoch
        own = AsyncSession(bind=await session.connection())
        try:
            found = await resident_with_accounts(own, telegram_id)
        finally:
            await own.close()
        if found is None:
            entry = _Entry(None)
        else:
            resident, accounts = found
            entry = _Entry(
                _detached_copy(resident),
                tuple(account for account, _ in accounts),
                {account.id: figures for account, figures in accounts},
            )
        if epoch == self._epoch:
            self._put(telegram_id, entry)
        return entry

    def _entry_of(self, resident: Resident) -> _Entry | None:
        """The kept entry of this (registered) resident; None: not kept."""
        if not self.enabled:
            return None
        entry = self._entries.get(resident.telegram_id)
        if entry is None or entry.resident is None or entry.resident.id != resident.id:
            return None
        return entry

    def _kept(self, resident: Resident) -> tuple[Account, ...] | None:
        """The resident's accounts as kept (detached); None: not kept (read the database)."""
        entry = self._entry_of(resident)
        return None if entry is None else entry.accounts

    def _put(self, telegram_id: int, entry: _Entry) -> None:
        self._entries[telegram_id] = entry
        self._entries.move_to_end(telegram_id)
        while len(self._entries) > self._size:
            self._entries.popitem(last=False)
