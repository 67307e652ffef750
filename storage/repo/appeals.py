"""Appeals (обращения) and their threads; the operators' chat look-ups.

Repositories never commit: the caller owns the transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from enum import StrEnum

from sqlalchemy import ColumnElement, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload, selectinload

from storage.models import (
    Account,
    AccountLink,
    Apartment,
    Appeal,
    AppealMessage,
    utcnow,
)
from storage.types import is_valid_id


class Topic(StrEnum):
    CHARGES = "charges"
    READINGS = "readings"
    QUALITY = "quality"
    EMERGENCY = "emergency"
    OTHER = "other"


class Status(StrEnum):
    """An appeal's life: new -> in_work (taken, or the resident wrote again) -> answered -> closed."""

    NEW = "new"
    IN_WORK = "in_work"
    ANSWERED = "answered"
    CLOSED = "closed"


class Author(StrEnum):
    RESIDENT = "resident"
    OPERATOR = "operator"


TOPICS = frozenset(Topic)  # membership of a plain string (`in Topic` needs Python 3.12)
STATUSES = frozenset(Status)


_ACCOUNT_DETAILS = (
    joinedload(Appeal.account).joinedload(Account.organization),
    joinedload(Appeal.account).joinedload(Account.apartment).joinedload(Apartment.house),
    joinedload(Appeal.organization),
)


async def create(
    session: AsyncSession,
    *,
    resident_id: int,
    account_id: int | None,
    topic: str,
    text: str,
    photo_file_ids: Sequence[str] = (),
    organization_id: int | None = None,
    address: str = "",
) -> Appeal:
    """An appeal about an account, or (no account: «Не нашли свой счёт?») to an organization
    about the address the resident described."""
    if topic not in TOPICS:
        raise ValueError(f"unknown topic {topic!r}")
    now = utcnow()
    appeal = Appeal(
        resident_id=resident_id,
        account_id=account_id,
        organization_id=organization_id,
        address=address,
        topic=topic,
        status=Status.NEW,
        created_at=now,
        updated_at=now,
        post_attempts=0,
    )
    session.add(appeal)
    await session.flush()
    session.add(
        AppealMessage(
            appeal_id=appeal.id,
            author=Author.RESIDENT,
            text=text,
            photo_file_ids=list(photo_file_ids),
            created_at=now,
        )
    )
    await session.flush()
    return appeal


async def get_with_details(session: AsyncSession, appeal_id: int) -> Appeal | None:
    """The appeal with its account, address, organization, resident and thread (no lazy loads).
    An id no row can have (typed or forged: see `is_valid_id`) is None without a query."""
    if not is_valid_id(appeal_id):
        return None
    return await session.scalar(
        select(Appeal)
        .where(Appeal.id == appeal_id)
        .options(*_ACCOUNT_DETAILS, selectinload(Appeal.messages), joinedload(Appeal.resident))
        .execution_options(populate_existing=True)
    )


async def get_for_resident(
    session: AsyncSession, resident_id: int, appeal_id: int
) -> Appeal | None:
    """The resident's own appeal about an account they still have linked (or about none), else
    None.

    Callback data can name any appeal: this is the authorization check for the resident's side.
    """
    if not is_valid_id(appeal_id):
        return None
    return await session.scalar(
        select(Appeal)
        .where(
            Appeal.id == appeal_id,
            Appeal.resident_id == resident_id,
            _still_theirs(resident_id),
        )
        .options(*_ACCOUNT_DETAILS, selectinload(Appeal.messages))
        .execution_options(populate_existing=True)
    )


def _still_theirs(resident_id: int) -> ColumnElement[bool]:
    """Only accounts still linked: an unlinked account's correspondence is no longer theirs to
    see. An appeal about no account stays its author's."""
    linked = select(AccountLink.account_id).where(AccountLink.resident_id == resident_id)
    return or_(Appeal.account_id.is_(None), Appeal.account_id.in_(linked))


async def list_for_resident(
    session: AsyncSession,
    resident_id: int,
    account_id: int = 0,
    *,
    offset: int = 0,
    limit: int = 5,
) -> tuple[list[Appeal], int]:
    """A page of the resident's appeals (newest first) and the total; `account_id` 0 = all."""
    conditions = [Appeal.resident_id == resident_id]
    if account_id:
        conditions.append(Appeal.account_id == account_id)
    conditions.append(_still_theirs(resident_id))
    total = await session.scalar(select(func.count(Appeal.id)).where(*conditions)) or 0
    rows = await session.scalars(
        select(Appeal)
        .where(*conditions)
        .options(joinedload(Appeal.account))
        .order_by(Appeal.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return list(rows), total


async def find_by_operators_message(session: AsyncSession, message_id: int) -> Appeal | None:
    """The appeal whose post (or any of whose messages) in the operators' chat has this id."""
    appeal_id = await session.scalar(
        select(Appeal.id).where(Appeal.operators_message_id == message_id).limit(1)
    )
    if appeal_id is None:
        appeal_id = await session.scalar(
            select(AppealMessage.appeal_id)
            .where(AppealMessage.operators_message_id == message_id)
            .limit(1)
        )
    return None if appeal_id is None else await get_with_details(session, appeal_id)


async def add_message(
    session: AsyncSession,
    appeal: Appeal,
    *,
    author: Author,
    text: str,
    photo_file_ids: Sequence[str] = (),
    operator_id: int | None = None,
    operators_message_id: int | None = None,
    delivered: bool = True,
) -> AppealMessage:
    now = utcnow()
    item = AppealMessage(
        appeal_id=appeal.id,
        author=author,
        text=text,
        photo_file_ids=list(photo_file_ids),
        operator_id=operator_id,
        operators_message_id=operators_message_id,
        delivered=delivered,
        created_at=now,
    )
    session.add(item)
    appeal.updated_at = now
    await session.flush()
    return item


async def set_status(session: AsyncSession, appeal: Appeal, status: Status) -> None:
    if status not in STATUSES:
        raise ValueError(f"unknown status {status!r}")
    appeal.status = status
    appeal.updated_at = utcnow()
    await session.flush()


async def mark_posted(session: AsyncSession, appeal: Appeal, message_id: int) -> None:
    """The appeal's post is in the operators' chat; its first message is that post."""
    appeal.operators_message_id = message_id
    appeal.posted_at = utcnow()
    await session.execute(
        update(AppealMessage)
        .where(
            AppealMessage.appeal_id == appeal.id,
            AppealMessage.id
            == select(func.min(AppealMessage.id))
            .where(AppealMessage.appeal_id == appeal.id)
            .scalar_subquery(),
        )
        .values(operators_message_id=message_id)
    )
    await session.flush()


async def record_post_failure(session: AsyncSession, appeal: Appeal) -> None:
    appeal.post_attempts = (appeal.post_attempts or 0) + 1
    appeal.updated_at = utcnow()
    await session.flush()


def retry_delay(attempts: int, base: float = 30.0, cap: float = 3600.0) -> dt.timedelta:
    """Backoff between posting attempts: 30 s, 1 min, 2 min, ... at most an hour."""
    if attempts <= 0:
        return dt.timedelta(0)
    return dt.timedelta(seconds=min(cap, base * 2 ** (attempts - 1)))


async def due_for_posting(
    session: AsyncSession, now: dt.datetime | None = None, limit: int = 50
) -> list[Appeal]:
    """Unposted appeals whose backoff has passed (the last attempt is `updated_at`)."""
    now = now or utcnow()
    candidates = await session.execute(
        select(Appeal.id, Appeal.post_attempts, Appeal.updated_at)
        .where(Appeal.operators_message_id.is_(None), Appeal.status != Status.CLOSED)
        .order_by(Appeal.id)
    )
    due = [
        row.id for row in candidates.all() if row.updated_at + retry_delay(row.post_attempts) <= now
    ][:limit]
    appeals = []
    for appeal_id in due:
        appeal = await get_with_details(session, appeal_id)
        if appeal is not None:
            appeals.append(appeal)
    return appeals


async def unposted_resident_messages(session: AsyncSession, limit: int = 50) -> list[AppealMessage]:
    """Residents' later messages of posted appeals that have not reached the operators' chat."""
    rows = await session.scalars(
        select(AppealMessage)
        .join(Appeal, Appeal.id == AppealMessage.appeal_id)
        .where(
            AppealMessage.author == Author.RESIDENT,
            AppealMessage.operators_message_id.is_(None),
            Appeal.operators_message_id.is_not(None),
        )
        .order_by(AppealMessage.id)
        .limit(limit)
    )
    return list(rows)


async def list_all(
    session: AsyncSession, *, status: str | None = None, unposted: bool = False, limit: int = 100
) -> list[Appeal]:
    """For the operators' command line: newest first."""
    query = select(Appeal).options(joinedload(Appeal.account)).order_by(Appeal.id.desc())
    if status:
        query = query.where(Appeal.status == status)
    if unposted:
        query = query.where(Appeal.operators_message_id.is_(None))
    return list(await session.scalars(query.limit(limit)))


async def counts_by_status(session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(
        select(Appeal.status, func.count(Appeal.id)).group_by(Appeal.status)
    )
    counts = dict.fromkeys(Status, 0)
    counts.update({status: n for status, n in rows.all()})
    return counts


async def count_unposted(session: AsyncSession) -> int:
    return (
        await session.scalar(
            select(func.count(Appeal.id)).where(
                Appeal.operators_message_id.is_(None), Appeal.status != Status.CLOSED
            )
        )
        or 0
    )


_OPEN = (Status.NEW, Status.IN_WORK)  # waiting for an answer


async def open_appeals(
    session: AsyncSession, *, due_by: dt.date | None = None, limit: int | None = None
) -> list[Appeal]:
    """Appeals waiting for an answer, the earliest answer day first (`due_by`: only those due
    by that day), with their organization for its time zone."""
    query = (
        select(Appeal)
        .options(*_ACCOUNT_DETAILS)
        .where(Appeal.status.in_(_OPEN))
        .order_by(Appeal.answer_due.is_(None), Appeal.answer_due, Appeal.id)
    )
    if due_by is not None:
        query = query.where(Appeal.answer_due <= due_by)
    if limit is not None:
        query = query.limit(limit)
    return list((await session.scalars(query)).unique())


async def count_open(session: AsyncSession) -> int:
    return await session.scalar(select(func.count(Appeal.id)).where(Appeal.status.in_(_OPEN))) or 0
