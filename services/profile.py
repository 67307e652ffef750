"""The resident's profile: what is stored, push switches, phone, unlinking, deleting everything.

The e-mail change goes through `services.verification` like the registration's e-mail step.
"""

from __future__ import annotations

import logging
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import truncate_wal
from storage.models import Account, Resident, utcnow
from storage.repo import accounts as account_repo
from storage.repo import linking, residents

log = logging.getLogger(__name__)


async def linked_accounts(session: AsyncSession, resident: Resident) -> list[Account]:
    return await account_repo.linked_accounts(session, resident.id)


class Switch(StrEnum):
    PUSH_TELEGRAM = "tg"
    PUSH_EMAIL = "em"
    REMINDERS = "rem"
    NOTIFY_PAYMENTS = "npay"
    NOTIFY_PAY_BY = "ndue"
    NOTIFY_VERIFICATION = "nver"


async def toggle(session: AsyncSession, resident: Resident, switch: Switch) -> bool:
    """Flip a subscription; False (nothing changed) for e-mail receipts without an address."""
    match switch:
        case Switch.PUSH_TELEGRAM:
            resident.push_telegram = not resident.push_telegram
        case Switch.PUSH_EMAIL:
            if resident.email is None:
                return False
            resident.push_email = not resident.push_email
        case Switch.REMINDERS:
            resident.reminders = not resident.reminders
        case Switch.NOTIFY_PAYMENTS:
            resident.notify_payments = not resident.notify_payments
        case Switch.NOTIFY_PAY_BY:
            resident.notify_pay_by = not resident.notify_pay_by
        case Switch.NOTIFY_VERIFICATION:
            resident.notify_verification = not resident.notify_verification
    await session.commit()
    return True


async def change_phone(session: AsyncSession, resident: Resident, phone: str) -> None:
    """A phone verified again (see `services.verification.verify_phone`)."""
    resident.phone = phone
    resident.phone_verified_at = utcnow()
    await session.commit()


async def unlink(session: AsyncSession, resident: Resident, account: Account) -> None:
    await linking.unlink(session, resident.id, account.id)
    await session.commit()
    log.info("resident %s unlinked account %s", resident.id, account.id)


async def erase_personal_data(session: AsyncSession, resident: Resident) -> None:
    """Erase the resident's personal data at once (see `storage.repo.residents.erase`), commit,
    and make the erasure final on disk: no old copy of a page stays in the WAL file."""
    await residents.erase(session, resident)
    await session.commit()
    await truncate_wal(session)


async def delete_registration(session: AsyncSession, resident: Resident) -> None:
    await erase_personal_data(session, resident)
    log.info("a registration was deleted")
