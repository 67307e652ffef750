"""Verifying what a resident tells about themselves: the phone (a shared contact) and the e-mail
address (a code sent over SMTP).

The phone counts only from the sender's own contact, shared by the button and not forwarded: a
typed number or someone else's contact proves nothing. An e-mail address becomes the resident's
only when the code mailed to it comes back; codes are stored hashed, expire, and both wrong tries
and resends are limited (`storage.repo.email`). Every function that changes data commits.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from receipts.mail import MailError, send_mail
from receipts.mail import mail_enabled as mail_enabled  # the handlers' question, answered here
from services.phones import normalize_phone
from storage.models import Resident
from storage.repo import email as emails
from texts.ru import registration as t

log = logging.getLogger(__name__)


# --- the phone ------------------------------------------------------------------------------------


class PhoneCheck(StrEnum):
    OK = "ok"
    NO_CONTACT = "no_contact"  # anything but a contact
    TYPED = "typed"  # a number typed by hand
    FORWARDED = "forwarded"
    FOREIGN = "foreign"  # someone else's contact
    INVALID = "invalid"  # not a phone number


@dataclass(frozen=True)
class SharedContact:
    """What a message carries that matters for the phone step (filled in by the handler)."""

    sender_id: int | None
    text: str | None = None
    phone: str | None = None  # the contact's number, if a contact was shared
    contact_user_id: int | None = None
    forwarded: bool = False


def verify_phone(shared: SharedContact) -> tuple[str | None, PhoneCheck]:
    """(E.164 phone, OK) for the sender's own, non-forwarded contact; else (None, the refusal)."""
    if shared.phone is None:
        text = shared.text or ""
        typed = sum(ch.isdigit() for ch in text) >= 5 and not text.startswith("/")
        return None, PhoneCheck.TYPED if typed else PhoneCheck.NO_CONTACT
    if shared.forwarded:
        return None, PhoneCheck.FORWARDED
    if shared.sender_id is None or shared.contact_user_id != shared.sender_id:
        return None, PhoneCheck.FOREIGN
    phone = normalize_phone(shared.phone)
    if phone is None:
        return None, PhoneCheck.INVALID
    return phone, PhoneCheck.OK


# --- the e-mail code ----------------------------------------------------------------------------


class CodeSent(StrEnum):
    SENT = "sent"
    INVALID = "invalid"  # not an address
    TAKEN = "taken"  # confirmed by another registration
    TOO_MANY = "too_many"  # resends exhausted for now (see `SendResult.retry_at`)
    FAILED = "failed"  # the mail server did not take it


@dataclass(frozen=True)
class SendResult:
    outcome: CodeSent
    address: str = ""
    retry_at: dt.datetime | None = None  # naive UTC, for TOO_MANY


def _secret(settings: Settings) -> bytes:
    token = settings.bot_token.get_secret_value() if settings.bot_token else ""
    return f"email-code:{token}".encode()


async def send_code(
    session: AsyncSession, settings: Settings, resident: Resident, typed: str
) -> SendResult:
    """Mail a new code to the address typed (normalized first); store it hashed and commit."""
    address = emails.normalize(typed)
    if address is None:
        return SendResult(CodeSent.INVALID)
    if await emails.taken_by_other(session, address, resident.id):
        return SendResult(CodeSent.TAKEN, address)
    retry_at = await emails.next_code_at(session, resident.id)
    if retry_at is not None:
        return SendResult(CodeSent.TOO_MANY, address, retry_at)
    code = emails.new_code()
    try:
        await send_mail(settings, address, t.MAIL_SUBJECT, t.MAIL_TEXT.format(code=code))
    except MailError:
        return SendResult(CodeSent.FAILED, address)
    await emails.issue(session, resident.id, address, code, _secret(settings))
    await session.commit()
    log.info("resident %s was sent an e-mail code", resident.id)
    return SendResult(CodeSent.SENT, address)


class CodeCheck(StrEnum):
    CONFIRMED = "confirmed"
    NOT_A_CODE = "not_a_code"  # not six digits: a hint
    AN_ADDRESS = "an_address"  # an address typed instead of a code: send a code there
    WRONG = "wrong"
    EXPIRED = "expired"
    TOO_MANY = "too_many"
    TAKEN = "taken"  # confirmed by someone else meanwhile: ask for another address
    NO_CODE = "no_code"  # nothing pending: ask for the address again


@dataclass(frozen=True)
class CheckResult:
    outcome: CodeCheck
    address: str = ""
    attempts_left: int = 0


_VERDICTS = {
    emails.Outcome.CONFIRMED: CodeCheck.CONFIRMED,
    emails.Outcome.WRONG: CodeCheck.WRONG,
    emails.Outcome.EXPIRED: CodeCheck.EXPIRED,
    emails.Outcome.TOO_MANY: CodeCheck.TOO_MANY,
    emails.Outcome.TAKEN: CodeCheck.TAKEN,
    emails.Outcome.NO_CODE: CodeCheck.NO_CODE,
}


async def check_code(
    session: AsyncSession, settings: Settings, resident: Resident, typed: str
) -> CheckResult:
    """Check a typed code against the newest one sent; a confirmed address becomes the
    resident's (and, if it is their first, receipts go there too). Commits what changed."""
    cleaned = "".join(typed.split())
    if "@" in cleaned and not typed.startswith("/"):
        return CheckResult(CodeCheck.AN_ADDRESS)
    if len(cleaned) != 6 or not cleaned.isdigit():
        return CheckResult(CodeCheck.NOT_A_CODE)
    had_email = resident.email is not None
    verdict = await emails.confirm(session, resident, cleaned, _secret(settings))
    if verdict.outcome is emails.Outcome.CONFIRMED and not had_email:
        resident.push_email = True  # they gave the address to get receipts by mail
    await session.commit()
    return CheckResult(_VERDICTS[verdict.outcome], verdict.email, verdict.attempts_left)


async def forget_pending(session: AsyncSession, resident: Resident) -> None:
    """Drop unconfirmed addresses (the resident skipped the step): they are personal data."""
    await emails.drop_pending(session, resident.id)
    await session.commit()
