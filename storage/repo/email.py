"""E-mail confirmation codes: issued hashed, expiring, with limited attempts and resends.

A confirmed address moves to `Resident.email` (unique): one address belongs to one registration.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from enum import Enum

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import EmailConfirmation, Resident, utcnow

CODE_TTL = dt.timedelta(minutes=15)
MAX_ATTEMPTS = 5  # wrong codes per issued code
MAX_CODES = 3  # codes per resident within CODES_WINDOW (resends included)
CODES_WINDOW = dt.timedelta(hours=1)
MAX_LENGTH = 254

# Deliberately plain: a dot in the domain, no spaces, one "@". The code mail is the real check.
_EMAIL = re.compile(
    r"^[^@\s<>()\[\],;:\"]{1,64}@(?:[^@\s<>()\[\],;:\".]+\.)+[^@\s<>()\[\],;:\".]{2,}$"
)


def normalize(text: str) -> str | None:
    """The address lower-cased, or None if it does not look like one."""
    address = text.strip().lower()
    if len(address) > MAX_LENGTH or not _EMAIL.match(address):
        return None
    if ".." in address or address.startswith(".") or ".@" in address:
        return None
    return address


def new_code() -> str:
    return f"{secrets.randbelow(1_000_000):06d}"


def _digest(key: bytes, salt: str, email: str, code: str) -> str:
    return hmac.new(key, f"{salt}|{email}|{code}".encode(), hashlib.sha256).hexdigest()


def hash_code(key: bytes, email: str, code: str) -> str:
    """Salted HMAC: the key (the bot's secret) is not in the database, so a leaked table does
    not give away codes by trying all million."""
    salt = secrets.token_hex(8)
    return f"{salt}${_digest(key, salt, email, code)}"


def check_code(key: bytes, stored: str, email: str, code: str) -> bool:
    salt, _, digest = stored.partition("$")
    return hmac.compare_digest(digest, _digest(key, salt, email, code))


async def taken_by_other(session: AsyncSession, email: str, resident_id: int) -> bool:
    owner = await session.scalar(select(Resident.id).where(Resident.email == email))
    return owner is not None and owner != resident_id


async def next_code_at(session: AsyncSession, resident_id: int) -> dt.datetime | None:
    """When the resident may ask for another code (naive UTC), or None if now."""
    now = utcnow()
    sent = list(
        await session.scalars(
            select(EmailConfirmation.created_at)
            .where(
                EmailConfirmation.resident_id == resident_id,
                EmailConfirmation.created_at > now - CODES_WINDOW,
            )
            .order_by(EmailConfirmation.created_at)
        )
    )
    if len(sent) < MAX_CODES:
        return None
    return sent[len(sent) - MAX_CODES] + CODES_WINDOW


async def issue(
    session: AsyncSession, resident_id: int, email: str, code: str, key: bytes
) -> EmailConfirmation:
    """Store a sent code. Earlier codes stay as rows (they count against resends) but only the
    newest one is checked."""
    now = utcnow()
    confirmation = EmailConfirmation(
        resident_id=resident_id,
        email=email,
        code_hash=hash_code(key, email, code),
        expires_at=now + CODE_TTL,
        created_at=now,
    )
    session.add(confirmation)
    await session.flush()
    return confirmation


async def latest(session: AsyncSession, resident_id: int) -> EmailConfirmation | None:
    return await session.scalar(
        select(EmailConfirmation)
        .where(EmailConfirmation.resident_id == resident_id)
        .order_by(EmailConfirmation.id.desc())
        .limit(1)
    )


class Outcome(Enum):
    CONFIRMED = "confirmed"
    WRONG = "wrong"
    EXPIRED = "expired"
    TOO_MANY = "too_many"
    NO_CODE = "no_code"
    TAKEN = "taken"


@dataclass(frozen=True)
class Verdict:
    outcome: Outcome
    attempts_left: int = 0
    email: str = ""


async def confirm(session: AsyncSession, resident: Resident, code: str, key: bytes) -> Verdict:
    """Check a typed code against the newest pending one; on success the address becomes the
    resident's and every pending code is dropped."""
    pending = await latest(session, resident.id)
    if pending is None:
        return Verdict(Outcome.NO_CODE)
    if pending.attempts >= MAX_ATTEMPTS:
        return Verdict(Outcome.TOO_MANY)
    if pending.expires_at <= utcnow():
        return Verdict(Outcome.EXPIRED)
    if not check_code(key, pending.code_hash, pending.email, code):
        pending.attempts += 1
        await session.flush()
        left = MAX_ATTEMPTS - pending.attempts
        return Verdict(Outcome.WRONG if left > 0 else Outcome.TOO_MANY, left, pending.email)
    if await taken_by_other(session, pending.email, resident.id):
        return Verdict(Outcome.TAKEN, email=pending.email)
    resident.email = pending.email
    resident.email_confirmed_at = utcnow()
    await session.execute(
        delete(EmailConfirmation).where(EmailConfirmation.resident_id == resident.id)
    )
    await session.flush()
    return Verdict(Outcome.CONFIRMED, email=pending.email)


async def drop_pending(session: AsyncSession, resident_id: int) -> None:
    """Forget unconfirmed addresses (the resident skipped the step): they are personal data."""
    await session.execute(
        delete(EmailConfirmation).where(EmailConfirmation.resident_id == resident_id)
    )
