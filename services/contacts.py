"""The organizations' contacts a resident sees: those of the organizations of their linked
accounts, or (nothing linked yet) of every organization the bot serves."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Organization
from storage.repo import linking
from storage.repo.accounts import linked_accounts


async def of_resident(
    session: AsyncSession, resident_id: int | None
) -> tuple[list[Organization], bool]:
    """(organizations, linked): the organizations of the resident's accounts, each once, in the
    order the accounts were linked; without any, the directory's first page and False."""
    if resident_id is not None:
        seen: dict[int, Organization] = {}
        for account in await linked_accounts(session, resident_id):
            seen.setdefault(account.organization_id, account.organization)
        if seen:
            return list(seen.values()), True
    return (await linking.organizations(session, 0)).items, False
