"""Household: a linked resident invites family with a one-time link that links the invitee to
the account without a proof; the inviter sees who has access and can take it back.

Only the token's SHA-256 is stored: a database leak gives no usable link. A link works once,
for `TOKEN_TTL`, while its inviter still has the account, and until it is revoked.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
import secrets
from dataclasses import dataclass, field
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Account, HouseholdInvite, Resident, utcnow
from storage.repo import household as repo
from storage.repo import linking
from storage.repo import residents as residents_repo
from storage.repo.accounts import linked_accounts

log = logging.getLogger(__name__)

TOKEN_TTL = dt.timedelta(days=7)
MAX_PENDING = 5  # per inviter and account
METHOD_INVITE = "invite"
_TOKEN = re.compile(r"[A-Za-z0-9_-]{32}")  # secrets.token_urlsafe(24): fits a /start payload


def new_token() -> str:
    return secrets.token_urlsafe(24)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def is_token(text: str | None) -> bool:
    """A /start payload shaped like an invite token (whether it is one, the database says)."""
    return text is not None and _TOKEN.fullmatch(text) is not None


def _remember_name(person: Resident, name: str) -> None:
    """Residents registered before names were kept get the name they use now."""
    if not person.name and name.strip():
        person.name = name.strip()[:200]


# --- inviting -------------------------------------------------------------------------------------


class InviteRefusal(StrEnum):
    NOT_LINKED = "not_linked"
    TOO_MANY = "too_many"


@dataclass(frozen=True)
class NewInvite:
    token: str  # given to the inviter once, never stored
    expires_at: dt.datetime
    account: Account


async def create_invite(
    session: AsyncSession, inviter: Resident, account: Account, *, name: str = "",
    now: dt.datetime | None = None,
) -> NewInvite | InviteRefusal:  # fmt: skip
    now = now or utcnow()
    if not await linking.is_linked(session, inviter.id, account.id):
        return InviteRefusal.NOT_LINKED
    if len(await repo.pending(session, inviter.id, account.id, now)) >= MAX_PENDING:
        return InviteRefusal.TOO_MANY
    token = new_token()
    expires_at = now + TOKEN_TTL
    await repo.add_invite(
        session, account_id=account.id, inviter_id=inviter.id, token_hash=hash_token(token),
        now=now, expires_at=expires_at,
    )  # fmt: skip
    _remember_name(inviter, name)
    await session.commit()
    log.info("resident %s invited to account %s", inviter.id, account.id)
    return NewInvite(token, expires_at, account)


# --- accepting ------------------------------------------------------------------------------------


class Outcome(StrEnum):
    LINKED = "linked"
    UNKNOWN = "unknown"  # forged, mistyped, or its inviter deleted the registration
    USED = "used"
    EXPIRED = "expired"
    REVOKED = "revoked"
    INVITER_LOST = "inviter_lost"  # the inviter no longer has the account
    ALREADY_LINKED = "already_linked"
    OWN = "own"  # the inviter opened their own link


@dataclass(frozen=True)
class Accepted:
    outcome: Outcome
    account: Account | None = None
    inviter: Resident | None = None
    invitee_name: str = ""  # as the invitee registered


def _closed(invite: HouseholdInvite, now: dt.datetime) -> Outcome | None:
    if invite.revoked_at is not None:
        return Outcome.REVOKED
    if invite.used_at is not None:
        return Outcome.USED
    if invite.expires_at <= now:
        return Outcome.EXPIRED
    return None


async def accept(
    session: AsyncSession, telegram_id: int, token_hash: str, *, name: str = "",
    now: dt.datetime | None = None,
) -> Accepted:  # fmt: skip
    """Link the registered resident with this Telegram id to the invite's account. Any refusal
    changes nothing; the link is claimed atomically, so it links one resident once."""
    now = now or utcnow()
    person = await residents_repo.get_by_telegram_id(session, telegram_id)
    invite = await repo.by_hash(session, token_hash)
    if person is None or not person.is_registered or invite is None:
        return Accepted(Outcome.UNKNOWN)
    closed = _closed(invite, now)
    if closed is not None:
        return Accepted(closed)
    account = await repo.account_with_address(session, invite.account_id)
    inviter = await repo.resident(session, invite.inviter_id)
    if invite.inviter_id == person.id:
        return Accepted(Outcome.OWN, account, inviter)
    if await linking.is_linked(session, person.id, invite.account_id):
        return Accepted(Outcome.ALREADY_LINKED, account, inviter)
    if inviter is None or not await linking.is_linked(session, inviter.id, invite.account_id):
        return Accepted(Outcome.INVITER_LOST, account, inviter)
    if not await repo.claim(session, invite.id, person.id, now):
        await session.rollback()
        return Accepted(Outcome.USED)
    await linking.link(session, person.id, invite.account_id, METHOD_INVITE)
    _remember_name(person, name)
    await session.commit()
    log.info("resident %s joined account %s by invite", person.id, invite.account_id)
    return Accepted(Outcome.LINKED, account, inviter, person.name)


# --- who has access, and taking it back ----------------------------------------------------------


@dataclass(frozen=True)
class Member:
    name: str
    is_you: bool
    invite_id: int | None  # set when the viewer invited them: they may remove them


@dataclass
class Household:
    account: Account
    members: list[Member] = field(default_factory=list)
    pending: list[HouseholdInvite] = field(default_factory=list)  # the viewer's own links


async def of_resident(
    session: AsyncSession, resident: Resident, now: dt.datetime | None = None
) -> list[Household]:
    """Each of the resident's accounts with everyone linked to it. Only accounts the resident
    is linked to are listed, so names are shown only to residents of the same account."""
    now = now or utcnow()
    accounts = await linked_accounts(session, resident.id)
    ids = [a.id for a in accounts]
    invited = {
        (i.account_id, i.invitee_id): i.id for i in await repo.used_by(session, resident.id, ids)
    }
    households = {a.id: Household(a) for a in accounts}
    for item in await repo.members(session, ids):
        person = item.resident
        households[item.account_id].members.append(
            Member(
                name=person.name,
                is_you=person.id == resident.id,
                invite_id=invited.get((item.account_id, person.id)),
            )
        )
    for account_id, household in households.items():
        household.pending = await repo.pending(session, resident.id, account_id, now)
    return list(households.values())


async def revoke_invite(
    session: AsyncSession, resident: Resident, invite_id: int, now: dt.datetime | None = None
) -> bool:
    """Revoke one of the resident's own links not used yet; False when there is none such."""
    now = now or utcnow()
    invite = await repo.get(session, invite_id)
    if invite is None or invite.inviter_id != resident.id or _closed(invite, now) is not None:
        return False
    invite.revoked_at = now
    await session.commit()
    return True


@dataclass(frozen=True)
class Removed:
    name: str
    chat_id: int
    account: Account


async def remove_member(
    session: AsyncSession, resident: Resident, invite_id: int, now: dt.datetime | None = None
) -> Removed | None:
    """Take back the access an invite of this resident gave (the inviter must still have the
    account); None when the invite is not theirs, was not used, or was revoked already."""
    invite = await repo.get(session, invite_id)
    if (
        invite is None
        or invite.inviter_id != resident.id
        or invite.used_at is None
        or invite.revoked_at is not None
        or invite.invitee_id is None
        or not await linking.is_linked(session, resident.id, invite.account_id)
    ):
        return None
    invitee = await repo.resident(session, invite.invitee_id)
    account = await repo.account_with_address(session, invite.account_id)
    await linking.unlink(session, invite.invitee_id, invite.account_id)
    invite.revoked_at = now or utcnow()
    await session.commit()
    log.info("resident %s removed an invitee from account %s", resident.id, invite.account_id)
    assert invitee is not None and account is not None
    return Removed(invitee.name, invitee.chat_id, account)
