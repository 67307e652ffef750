"""Residents' appeals and their answers: writing one, posting it to the operators' chat, the
statuses, later messages, closing; the sweep that retries failed posts.

Telegram stays outside: posting goes through an `OperatorsChat` (the handlers' and the job's
Telegram side implements it), delivering to a resident is the caller's; this module decides what
is stored and commits it. Every appeal id from a client (typed, or in callback data) is checked
with `is_valid_id` before any query (in `storage.repo.appeals`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.models import Account, Appeal, AppealMessage, Organization, utcnow
from storage.repo import appeals as repo
from storage.repo import residents as residents_repo
from storage.repo.accounts import get_linked_account, linked_accounts
from storage.repo.appeals import Author, Status, Topic
from storage.repo.linking import get_organization

__all__ = ["Author", "Status", "Topic"]

MAX_PHOTOS = 10
MAX_TEXT = 3500  # the post to operators adds a header; Telegram allows 4096 characters
MAX_ANSWER = 3500
LIST_PAGE_SIZE = 5


class TextProblem(StrEnum):
    EMPTY = "empty"
    TOO_LONG = "too_long"


def check_text(text: str, limit: int = MAX_TEXT) -> TextProblem | None:
    if not text.strip():
        return TextProblem.EMPTY
    if len(text) > limit:
        return TextProblem.TOO_LONG
    return None


class Refusal(StrEnum):
    """Why a resident's request changed nothing."""

    ACCOUNT_NOT_AVAILABLE = "account_not_available"
    INVALID = "invalid"
    NOT_AVAILABLE = "not_available"
    CLOSED = "closed"


class OperatorsChat(Protocol):
    """Where appeals are posted. Each method returns the posted message's id, None when the post
    failed (the sweep tries again)."""

    async def post_appeal(self, appeal: Appeal) -> int | None: ...

    async def post_message(self, appeal: Appeal, message: AppealMessage) -> int | None: ...

    async def pin(self, appeal: Appeal) -> bool:
        """Pin the appeal's post (an emergency): whether it is pinned now."""
        ...

    async def unpin(self, appeal: Appeal) -> None: ...


@dataclass
class Draft:
    """A new appeal as the dialogue collects it (stored as the dialogue's data)."""

    account_id: int
    number: str
    topic: str = ""
    text: str = ""
    photos: list[str] = field(default_factory=list)


# --- when to expect an answer ------------------------------------------------------------------------

DEFAULT_ANSWER_DAYS = 2


def add_working_days(start: dt.date, days: int) -> dt.date:
    """The day `days` working days after `start` (Saturdays and Sundays are not counted)."""
    day = start
    while days > 0:
        day += dt.timedelta(days=1)
        if day.weekday() < 5:
            days -= 1
    return day


def local_today(timezone: str | None, now: dt.datetime | None = None) -> dt.date:
    """The organization's date now (`now`: naive UTC, as stored)."""
    try:
        zone = ZoneInfo(timezone or "Europe/Moscow")
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("Europe/Moscow")
    moment = (now or utcnow()).replace(tzinfo=dt.UTC)
    return moment.astimezone(zone).date()


def answer_due(org: Organization | None, created_at: dt.datetime) -> dt.date:
    """The day the organization answers an appeal written at `created_at` by: its answer time
    (default 2 working days) counted from that day in its own time zone."""
    days = (org.answer_days if org is not None else 0) or DEFAULT_ANSWER_DAYS
    return add_working_days(local_today(org.timezone if org else None, created_at), days)


def is_overdue(appeal: Appeal, org: Organization | None, now: dt.datetime | None = None) -> bool:
    """Still waiting for an answer (new or in work) after its answer day."""
    if appeal.answer_due is None or appeal.status not in (Status.NEW, Status.IN_WORK):
        return False
    return appeal.answer_due < local_today(org.timezone if org else None, now)


# --- the resident's side ----------------------------------------------------------------------------


async def create(session: AsyncSession, resident_id: int, draft: Draft) -> Appeal | Refusal:
    """Store a confirmed draft as a new appeal and commit it: whatever happens to the post, the
    appeal is not lost. The account is authorized again (it may have been unlinked meanwhile)."""
    account = await get_linked_account(session, resident_id, draft.account_id)
    if account is None:
        return Refusal.ACCOUNT_NOT_AVAILABLE
    if draft.topic not in repo.TOPICS or check_text(draft.text):
        return Refusal.INVALID
    appeal = await repo.create(
        session,
        resident_id=resident_id,
        account_id=account.id,
        organization_id=account.organization_id,
        topic=draft.topic,
        text=draft.text,
        photo_file_ids=[p for p in draft.photos if isinstance(p, str)][:MAX_PHOTOS],
    )
    appeal.answer_due = answer_due(account.organization, appeal.created_at)
    await session.commit()
    return appeal


async def emergency_contacts(
    session: AsyncSession, resident_id: int, account_id: int
) -> Organization | None:
    """The organization to call about an emergency on this (linked) account."""
    account = await get_linked_account(session, resident_id, account_id)
    return account.organization if account is not None else None


MAX_ADDRESS = 300


@dataclass
class Unlinked:
    """An appeal from a resident without a linked account («Не нашли свой счёт?»): to the chosen
    organization, about the address the resident describes."""

    org_id: int
    address: str = ""


def check_address(text: str) -> TextProblem | None:
    """An address needs words or numbers (an emoji alone is not one)."""
    if not any(ch.isalnum() for ch in text):
        return TextProblem.EMPTY
    return check_text(text, MAX_ADDRESS)


async def organization(session: AsyncSession, organization_id: int) -> Organization | None:
    """The organization an appeal without an account goes to (None for an id that names none)."""
    return await get_organization(session, organization_id)


async def create_unlinked(
    session: AsyncSession, resident_id: int, draft: Unlinked, text: str
) -> Appeal | Refusal:
    """Store an appeal without an account (topic «Другое») and commit it."""
    org = await organization(session, draft.org_id)
    if org is None or check_address(draft.address) or check_text(text):
        return Refusal.INVALID
    appeal = await repo.create(
        session,
        resident_id=resident_id,
        account_id=None,
        organization_id=org.id,
        address=draft.address.strip(),
        topic=Topic.OTHER,
        text=text,
    )
    appeal.answer_due = answer_due(org, appeal.created_at)
    await session.commit()
    return appeal


async def accounts_of(session: AsyncSession, resident_id: int) -> list[Account]:
    """The accounts a resident can write about (their linked ones)."""
    return await linked_accounts(session, resident_id)


async def has_appeals(session: AsyncSession, resident_id: int) -> bool:
    _, total = await repo.list_for_resident(session, resident_id, limit=1)
    return total > 0


@dataclass(frozen=True)
class ListPage:
    items: list[Appeal]
    total: int
    page: int  # clamped to the existing pages
    pages: int


async def list_page(
    session: AsyncSession, resident_id: int, account_id: int, page: int
) -> ListPage:
    """A page of the resident's appeals (all, or about one linked account), newest first. The
    page comes from callback data: clamped to the existing pages before it reaches a query."""
    items, total = await repo.list_for_resident(
        session, resident_id, account_id, offset=0, limit=LIST_PAGE_SIZE
    )
    pages = max(1, -(-total // LIST_PAGE_SIZE))
    page = min(max(page, 0), pages - 1)
    if page:
        items, total = await repo.list_for_resident(
            session, resident_id, account_id, offset=page * LIST_PAGE_SIZE, limit=LIST_PAGE_SIZE
        )
    return ListPage(items, total, page, pages)


async def for_resident(session: AsyncSession, resident_id: int, appeal_id: int) -> Appeal | None:
    """The resident's own appeal about an account still linked (the authorization check)."""
    return await repo.get_for_resident(session, resident_id, appeal_id)


async def open_for_resident(
    session: AsyncSession, resident_id: int, appeal_id: int
) -> Appeal | Refusal:
    appeal = await repo.get_for_resident(session, resident_id, appeal_id)
    if appeal is None:
        return Refusal.NOT_AVAILABLE
    if appeal.status == Status.CLOSED:
        return Refusal.CLOSED
    return appeal


async def add_resident_message(
    session: AsyncSession, resident_id: int, appeal_id: int, text: str, photos: Sequence[str]
) -> tuple[Appeal, AppealMessage] | Refusal:
    """A resident's later message in an open appeal (an answered one is back in work); committed
    before it is posted, so the sweep posts it if that post fails."""
    appeal = await open_for_resident(session, resident_id, appeal_id)
    if isinstance(appeal, Refusal):
        return appeal
    item = await repo.add_message(
        session, appeal, author=Author.RESIDENT, text=text, photo_file_ids=list(photos)
    )
    if appeal.status == Status.ANSWERED:
        await repo.set_status(session, appeal, Status.IN_WORK)
    await session.commit()
    return appeal, item


async def close_by_resident(session: AsyncSession, appeal: Appeal) -> None:
    await repo.set_status(session, appeal, Status.CLOSED)
    await session.commit()


# --- posting to the operators' chat ------------------------------------------------------------------


async def post(session: AsyncSession, chat: OperatorsChat, appeal_id: int) -> bool:
    """Post a stored appeal. On failure it stays unposted with one more attempt counted; the sweep
    tries again with backoff."""
    appeal = await repo.get_with_details(session, appeal_id)
    if appeal is None:
        return False
    return await _post(session, chat, appeal)


async def _post(session: AsyncSession, chat: OperatorsChat, appeal: Appeal) -> bool:
    message_id = await chat.post_appeal(appeal)
    if message_id is None:
        await repo.record_post_failure(session, appeal)
    else:
        await repo.mark_posted(session, appeal, message_id)
        if appeal.topic == Topic.EMERGENCY and appeal.status == Status.NEW:
            appeal.pinned = await chat.pin(appeal)
    await session.commit()
    return message_id is not None


async def release_pin(session: AsyncSession, chat: OperatorsChat, appeal: Appeal) -> None:
    """An emergency stays pinned in the operators' chat until it leaves "new" (an operator took
    it, answered it, or it was closed): then it is unpinned."""
    if not appeal.pinned or appeal.status == Status.NEW:
        return
    await chat.unpin(appeal)
    appeal.pinned = False
    await session.commit()


async def post_message(
    session: AsyncSession, chat: OperatorsChat, appeal: Appeal, message: AppealMessage
) -> bool:
    """A resident's later message, as a reply to the appeal's post. An appeal not posted yet
    carries it along: the sweep posts such messages once the appeal is posted."""
    if appeal.operators_message_id is None:
        return False
    message_id = await chat.post_message(appeal, message)
    if message_id is None:
        return False
    message.operators_message_id = message_id
    await session.commit()
    return True


async def retry_unposted(
    session_factory: async_sessionmaker[AsyncSession], chat: OperatorsChat
) -> int:
    """The sweep: post appeals whose post failed (after their backoff), then residents' later
    messages that could not follow them. Returns how many posts were made."""
    posted = 0
    async with session_factory() as session:
        for appeal in await repo.due_for_posting(session):
            posted += await _post(session, chat, appeal)
        for message in await repo.unposted_resident_messages(session):
            appeal = await repo.get_with_details(session, message.appeal_id)
            if appeal is not None:
                posted += await post_message(session, chat, appeal, message)
    return posted


# --- the operators' side ---------------------------------------------------------------------------


async def find(session: AsyncSession, appeal_id: int) -> Appeal | None:
    """An appeal by the id an operator typed or a button carries (None for an id no row has)."""
    return await repo.get_with_details(session, appeal_id)


async def find_by_post(session: AsyncSession, message_id: int) -> Appeal | None:
    """The appeal whose post, or one of whose messages, in the operators' chat has this id."""
    return await repo.find_by_operators_message(session, message_id)


async def take(session: AsyncSession, appeal: Appeal) -> bool:
    """An operator takes a new appeal in work; False when it was not new (nothing changes)."""
    if appeal.status != Status.NEW:
        return False
    await repo.set_status(session, appeal, Status.IN_WORK)
    await session.commit()
    return True


async def close(session: AsyncSession, appeal: Appeal) -> None:
    await repo.set_status(session, appeal, Status.CLOSED)
    await session.commit()


def organization_of(appeal: Appeal) -> Organization | None:
    return appeal.account.organization if appeal.account is not None else appeal.organization


async def overdue(session: AsyncSession, now: dt.datetime | None = None) -> list[Appeal]:
    """Appeals still waiting for an answer after their answer day (each organization's date)."""
    # no organization's date is more than a day ahead of UTC: later answer days are not overdue
    latest = (now or utcnow()).date()
    candidates = await repo.open_appeals(session, due_by=latest)
    return [a for a in candidates if is_overdue(a, organization_of(a), now)]


@dataclass(frozen=True)
class OpenList:
    """The operators' /appeals: what waits for an answer, overdue first."""

    overdue: list[Appeal]
    waiting: list[Appeal]  # not overdue (at most `limit` in all are listed)
    total: int  # waiting for an answer, overdue included


async def open_for_operators(
    session: AsyncSession, now: dt.datetime | None = None, limit: int = 30
) -> OpenList:
    late = await overdue(session, now)
    late_ids = {a.id for a in late}
    waiting = [
        a for a in await repo.open_appeals(session, limit=limit + len(late)) if a.id not in late_ids
    ]
    total = await repo.count_open(session)
    return OpenList(late[:limit], waiting[: max(0, limit - len(late))], total)


@dataclass(frozen=True)
class Answer:
    text: str
    photos: list[str]
    operator_id: int
    operators_message_id: int


class AnswerProblem(StrEnum):
    CLOSED = "closed"
    EMPTY = "empty"
    TOO_LONG = "too_long"


def check_answer(appeal: Appeal, answer: Answer) -> AnswerProblem | None:
    if appeal.status == Status.CLOSED:
        return AnswerProblem.CLOSED
    if not answer.text.strip() and not answer.photos:
        return AnswerProblem.EMPTY
    if len(answer.text) > MAX_ANSWER:
        return AnswerProblem.TOO_LONG
    return None


async def record_answer(session: AsyncSession, appeal: Appeal, answer: Answer) -> AppealMessage:
    """Store an operator's answer and set "answered" (committed before it is delivered); the
    delivery's outcome is `mark_delivered`'s."""
    item = await repo.add_message(
        session,
        appeal,
        author=Author.OPERATOR,
        text=answer.text,
        photo_file_ids=answer.photos,
        operator_id=answer.operator_id,
        operators_message_id=answer.operators_message_id,
    )
    await repo.set_status(session, appeal, Status.ANSWERED)
    await session.commit()
    return item


async def mark_delivered(session: AsyncSession, item: AppealMessage, delivered: bool) -> None:
    item.delivered = delivered
    await session.commit()


async def resident_blocked(session: AsyncSession, resident_id: int) -> None:
    """The resident blocked the bot: no more deliveries are tried until they write again."""
    await residents_repo.mark_unreachable(session, resident_id)
    await session.commit()
