"""Announcements to the residents of a house or an organization: choosing whom, starting one.

The sending itself (paced, once each, resumable) is `receipts.announce.run`, shared by the admin's
dialogue, the CLI and the scheduler's resume job.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Announcement, House, Organization
from storage.repo import announcements as repo
from storage.repo import linking
from storage.repo.announcements import Scope
from storage.types import is_valid_id

__all__ = ["MAX_TEXT", "Scope", "count_recipients", "create"]

MAX_TEXT = 3500  # the header is added; Telegram allows 4096 characters


class TextProblem(StrEnum):
    EMPTY = "empty"
    TOO_LONG = "too_long"


def check_text(text: str) -> TextProblem | None:
    if not text.strip():
        return TextProblem.EMPTY
    if len(text) > MAX_TEXT:
        return TextProblem.TOO_LONG
    return None


@dataclass(frozen=True)
class Target:
    """An organization, or one of its houses: where an announcement goes, as the admin chose."""

    organization: Organization
    house: House | None = None

    @property
    def scope(self) -> Scope:
        if self.house is not None:
            return Scope(house_id=self.house.id)
        return Scope(organization_id=self.organization.id)


async def count_recipients(session: AsyncSession, scope: Scope) -> int:
    return await repo.count_recipients(session, scope)


async def organizations(session: AsyncSession) -> list[Organization]:
    return list(await session.scalars(select(Organization).order_by(Organization.name)))


async def organization(session: AsyncSession, organization_id: int) -> Organization | None:
    """The organization of an id from callback data or dialogue data (None for no such row)."""
    return await linking.get_organization(session, organization_id)


async def house(session: AsyncSession, house_id: int) -> House | None:
    return await linking.get_house(session, house_id)


async def houses_by_code(
    session: AsyncSession, code: str, organization_id: int | None = None
) -> list[House]:
    """Houses with this code (the import's «Код дома»), of one organization or of any."""
    query = select(House).where(House.code == code).order_by(House.id)
    if organization_id is not None:
        query = query.where(House.organization_id == organization_id)
    return list(await session.scalars(query))


async def target(session: AsyncSession, organization_id: int, house_id: int = 0) -> Target | None:
    """The organization and (house_id > 0) one of its houses; None when either names no row or
    the house is another organization's. Ids come from the client: checked before any query."""
    org = await organization(session, organization_id)
    if org is None:
        return None
    if not house_id:
        return Target(org)
    house = await linking.get_house(session, house_id)
    if house is None or house.organization_id != org.id:
        return None
    return Target(org, house)


async def houses(
    session: AsyncSession, organization_id: int, page: int = 0, search: str = ""
) -> linking.Page[House]:
    """A page of the organization's houses, or those whose address contains `search`."""
    return await linking.houses(session, organization_id, page, search)


async def create(
    session: AsyncSession, scope: Scope, text: str, created_by: int | None = None
) -> Announcement:
    """Store a new announcement (to be sent by `receipts.announce.run`) and commit: the run uses
    its own sessions and must see the row."""
    problem = check_text(text)
    if problem is TextProblem.EMPTY:
        raise ValueError("empty announcement")
    if problem is TextProblem.TOO_LONG:
        raise ValueError(f"announcement longer than {MAX_TEXT} characters")
    item = await repo.create(session, scope, text, created_by)
    await session.commit()
    return item


async def get(session: AsyncSession, announcement_id: int) -> Announcement | None:
    if not is_valid_id(announcement_id):
        return None
    return await session.get(Announcement, announcement_id)
