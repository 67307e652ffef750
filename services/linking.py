"""Linking a personal account: the public directory (organization → house → apartment →
account), the proof of ownership, and the limits on failed proofs.

The directory shows addresses, apartment and account numbers only. Every step names the step
before it (an apartment of the house being browsed, ...): an id outside that path, forged or stale,
gives None and changes nothing. Proofs: the phone on record equals the resident's verified phone
(linked at once), or the "total to pay" of one of the account's last three receipts. Failed proofs
are counted across accounts within a day: a captcha first (`CAPTCHA_AFTER`), then a wait
(`BLOCK_AFTER`). A link is committed before the caller can tell the resident about it.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from services import captcha
from storage.models import Account, Apartment, House, Organization, Resident
from storage.repo import linking
from storage.repo.linking import Page as Page  # the directory's pages, as the repository gives them

log = logging.getLogger(__name__)

MAX_SEARCH = 100  # characters of a street search
MAX_APARTMENT = 16  # characters of an apartment number


# --- the directory ------------------------------------------------------------------------------


async def organizations(session: AsyncSession, page: int) -> Page[Organization]:
    return await linking.organizations(session, page)


async def houses(
    session: AsyncSession, organization: Organization, page: int, search: str = ""
) -> Page[House]:
    return await linking.houses(session, organization.id, page, search)


async def apartments(
    session: AsyncSession, house: House, page: int, number: str = ""
) -> Page[Apartment]:
    return await linking.apartments(session, house.id, page, number)


async def accounts(session: AsyncSession, apartment: Apartment, page: int) -> Page[Account]:
    return await linking.accounts(session, apartment.id, page)


def street_query(typed: str) -> str | None:
    """A typed part of a street, spaces collapsed; None when empty or too long."""
    query = " ".join(typed.split())
    return query if query and len(query) <= MAX_SEARCH else None


def apartment_query(typed: str) -> str | None:
    number = "".join(typed.split())
    return number if number and len(number) <= MAX_APARTMENT else None


async def organization(session: AsyncSession, organization_id: int) -> Organization | None:
    return await linking.get_organization(session, organization_id)


async def house_of(session: AsyncSession, house_id: int, organization_id: int) -> House | None:
    """The house if it belongs to the organization being browsed."""
    house = await linking.get_house(session, house_id)
    return house if house is not None and house.organization_id == organization_id else None


async def apartment_of(session: AsyncSession, apartment_id: int, house_id: int) -> Apartment | None:
    apartment = await linking.get_apartment(session, apartment_id)
    return apartment if apartment is not None and apartment.house_id == house_id else None


async def account_of(session: AsyncSession, account_id: int, apartment_id: int) -> Account | None:
    """An open account of the apartment being browsed, with its address."""
    account = await linking.get_account(session, account_id)
    return account if account is not None and account.apartment_id == apartment_id else None


# --- proofs ---------------------------------------------------------------------------------------


def phone_matches(account: Account, verified_phone: str | None) -> bool:
    return bool(verified_phone) and bool(account.phone) and account.phone == verified_phone


_AMOUNT = re.compile(r"^([+-]?)(\d+)(?:[.,](\d{1,2}))?$")
_SPACES = re.compile(r"[\s\u00a0\u202f\u2009']+")
_CURRENCY = re.compile(r"(₽|руб(?:лей|ля|ль)?\.?|р\.?)$", re.IGNORECASE)


@dataclass(frozen=True)
class TypedTotal:
    """A total typed by a resident: `2383,29`, `2383.29`, `2 383,29` or rubles only (`2383`)."""

    value: Decimal
    rubles_only: bool

    def matches(self, total: Decimal) -> bool:
        if self.rubles_only:
            # Rubles only: the integer part must match (2383 matches 2 383,29; so does -150 for
            # an overpayment of -150,40). Kopecks, when typed, must match exactly.
            return int(total) == int(self.value)
        return total == self.value


def parse_total(text: str) -> TypedTotal | None:
    """None when the text is not an amount at all (that is a hint, not a failed proof)."""
    cleaned = _SPACES.sub("", text.strip())
    cleaned = _CURRENCY.sub("", cleaned)
    if len(cleaned) > 20:
        return None
    match = _AMOUNT.match(cleaned)
    if match is None:
        return None
    sign, rubles, kopecks = match.groups()
    try:
        value = Decimal(f"{sign}{rubles}.{(kopecks or '0').ljust(2, '0')}")
    except InvalidOperation:  # pragma: no cover - the pattern admits digits only
        return None
    return TypedTotal(value, kopecks is None)


async def total_matches(session: AsyncSession, account: Account, typed: TypedTotal) -> bool:
    """The typed total is that of one of the account's last receipts."""
    totals = await linking.recent_totals(session, account.id)
    return any(typed.matches(total) for _, total in totals)


class Outcome(StrEnum):
    LINKED_BY_PHONE = "linked_by_phone"
    LINKED = "linked"
    ALREADY_LINKED = "already_linked"
    NO_RECEIPTS = "no_receipts"  # nothing to prove a total with
    ASK_TOTAL = "ask_total"
    CAPTCHA = "captcha"  # a captcha comes before the next try
    CAPTCHA_PASSED = "captcha_passed"
    RETRY = "retry"  # failed, may try again
    BLOCKED = "blocked"  # no tries until `blocked_until`


@dataclass(frozen=True)
class Proof:
    outcome: Outcome
    failed: bool = False  # this answer was a failed proof (counted)
    blocked_until: dt.datetime | None = None  # naive UTC


async def _limits_check(session: AsyncSession, resident: Resident) -> Proof | None:
    limits = await linking.limits(session, resident.id)
    if limits.blocked_until is not None:
        return Proof(Outcome.BLOCKED, blocked_until=limits.blocked_until)
    return Proof(Outcome.CAPTCHA) if limits.needs_captcha else None


async def _link(session: AsyncSession, resident: Resident, account: Account, method: str) -> None:
    await linking.link(session, resident.id, account.id, method)
    await linking.log_attempt(session, resident.id, account.id, method, True)
    # Committed before the resident is told so: a failure after this point cannot leave
    # "linked" said but not stored.
    await session.commit()
    log.info("resident %s linked account %s (%s)", resident.id, account.id, method)


async def pick(session: AsyncSession, resident: Resident, account: Account) -> Proof:
    """The resident chose an account: linked at once by phone, or what proof comes next."""
    if await linking.is_linked(session, resident.id, account.id):
        return Proof(Outcome.ALREADY_LINKED)
    if phone_matches(account, resident.phone):
        await _link(session, resident, account, linking.METHOD_PHONE)
        return Proof(Outcome.LINKED_BY_PHONE)
    if not await linking.recent_totals(session, account.id):
        return Proof(Outcome.NO_RECEIPTS)
    return await _limits_check(session, resident) or Proof(Outcome.ASK_TOTAL)


# Accounts offered right after registration: a family's accounts, not a registry's worth.
MAX_PHONE_OFFERS = 10


async def phone_offers(session: AsyncSession, resident: Resident) -> list[Account]:
    """The accounts whose phone on record is the resident's verified phone and that are not linked
    yet: offered for linking in one tap each (the verified phone is the proof)."""
    if not resident.phone or resident.phone_verified_at is None:
        return []
    return await linking.accounts_with_phone(session, resident.phone, resident.id, MAX_PHONE_OFFERS)


async def link_by_phone(
    session: AsyncSession, resident: Resident, account_id: int
) -> tuple[Proof, Account] | None:
    """Link an offered account; None when the account is not one the resident's verified phone
    proves (a forged id, a closed account, a phone changed since the offer)."""
    account = await linking.get_account(session, account_id)
    if account is None or resident.phone_verified_at is None:
        return None
    if not phone_matches(account, resident.phone):
        return None
    return await pick(session, resident, account), account


async def prove_total(
    session: AsyncSession,
    resident: Resident,
    account: Account,
    typed: TypedTotal,
    *,
    captcha_passed: bool,
) -> Proof:
    if await linking.is_linked(session, resident.id, account.id):
        return Proof(Outcome.ALREADY_LINKED)
    check = await _limits_check(session, resident)
    if check is not None and (check.outcome is Outcome.BLOCKED or not captcha_passed):
        return check
    if await total_matches(session, account, typed):
        await _link(session, resident, account, linking.METHOD_TOTAL)
        return Proof(Outcome.LINKED)
    return await _failed(session, resident, account, linking.METHOD_TOTAL)


async def solve_captcha(
    session: AsyncSession, resident: Resident, account: Account, answer: str, typed: str
) -> Proof:
    check = await _limits_check(session, resident)
    if check is not None and check.outcome is Outcome.BLOCKED:
        return check
    if captcha.matches(answer, typed):
        return Proof(Outcome.CAPTCHA_PASSED)
    return await _failed(session, resident, account, linking.METHOD_CAPTCHA)


async def _failed(
    session: AsyncSession, resident: Resident, account: Account, method: str
) -> Proof:
    """Count a failed proof (committed) and say what comes next: a try, a captcha, the wait."""
    await linking.log_attempt(session, resident.id, account.id, method, False)
    await session.commit()
    log.info("resident %s failed a proof (%s)", resident.id, method)
    check = await _limits_check(session, resident)
    if check is None:
        return Proof(Outcome.RETRY, failed=True)
    return Proof(check.outcome, failed=True, blocked_until=check.blocked_until)
