"""Registration: nothing about a person is stored before both the agreement and the consent are
accepted; the `Resident` row is made when the phone is verified, and the registration is complete
after the (optional) e-mail step."""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.profile import erase_personal_data
from services.verification import forget_pending
from storage.models import Organization, Resident, utcnow
from storage.repo import residents

log = logging.getLogger(__name__)

# The consent names every operator; a deployment serves a handful of organizations.
MAX_OPERATORS_NAMED = 20


async def operators(session: AsyncSession) -> tuple[list[tuple[str, str]], int]:
    """The personal-data operators the consent names (152-ФЗ art. 9): the organizations the bot
    serves, as (name, address), and how many more there are beyond those listed."""
    rows = (
        await session.execute(
            select(Organization.name, Organization.address).order_by(
                Organization.name, Organization.id
            )
        )
    ).all()
    named = [(name, address) for name, address in rows[:MAX_OPERATORS_NAMED]]
    return named, len(rows) - len(named)


async def record_phone(
    session: AsyncSession,
    resident: Resident | None,
    *,
    telegram_id: int,
    chat_id: int,
    agreed_at: dt.datetime,
    consent_at: dt.datetime,
    phone: str,
    complete: bool,
    name: str = "",
) -> Resident:
    """Store the person with both answers and the verified phone; `complete` ends the
    registration here (no e-mail step to follow). Commits."""
    person = resident or await residents.get_or_create(session, telegram_id, chat_id)
    person.chat_id = chat_id
    person.agreed_at = agreed_at
    person.consent_at = consent_at
    person.phone = phone
    person.phone_verified_at = utcnow()
    person.name = name.strip()[:200]  # the name registered under (the household list shows it)
    if complete:
        await complete_registration(session, person)
    else:
        await session.commit()
    return person


async def complete_registration(session: AsyncSession, resident: Resident) -> None:
    resident.registered_at = utcnow()
    await session.commit()
    log.info("resident %s registered", resident.id)


async def skip_email(session: AsyncSession, resident: Resident) -> None:
    """Complete the registration without an e-mail; addresses sent a code are forgotten."""
    await forget_pending(session, resident)
    await complete_registration(session, resident)


async def decline(session: AsyncSession, resident: Resident | None) -> None:
    """A declined agreement or consent: an earlier, unfinished registration leaves nothing."""
    if resident is not None and not resident.is_registered:
        await erase_personal_data(session, resident)
