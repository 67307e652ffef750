"""The operators' side: the operators' chat (appeal posts, answers, take/close), and the
administrators' /stats and /announce in a private chat.

This router is FIRST in the dispatcher, so every handler here is fenced by a chat filter: group
updates only from `settings.operators_chat_id`, private ones only from `settings.admin_ids`.
Residents' updates never match and flow on to the features.

The functions that post to the operators' chat (`post_appeal`, `post_resident_message`) and the
scheduler hook that retries failed posts (`schedule`) live here too: the appeals feature and the
scheduler call them.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Sequence
from typing import Any

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramAPIError, TelegramForbiddenError
from aiogram.filters import Command, CommandObject, Filter, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import (
    CallbackQuery,
    InputMediaPhoto,
    Message,
    ReplyParameters,
)
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.filters import PrivateChat
from keyboards import appeals as kb_appeals
from keyboards import operators as kb
from receipts import announce
from storage.models import Appeal, AppealMessage, House, Organization
from storage.repo import appeals as repo
from storage.repo import residents as residents_repo
from storage.repo import stats as stats_repo
from texts import fmt
from texts.ru import appeals as ta
from texts.ru import common as tc
from texts.ru import operators as t

log = logging.getLogger(__name__)

MEMBER_STATUSES = frozenset({"creator", "administrator", "member"})
MEMBERSHIP_TTL = 60.0  # seconds a getChatMember answer is trusted
MAX_ANSWER = 3500
RETRY_INTERVAL = 60  # seconds between sweeps for unposted appeals
RESUME_INTERVAL = 120  # seconds between looks for unfinished announcements
HOUSES_PER_PAGE = 8


# --- posting to the operators' chat -------------------------------------------------------------


def _address(appeal: Appeal) -> str:
    apartment = appeal.account.apartment
    return f"{apartment.house.address}, кв. {apartment.number}"


def _timezone(appeal: Appeal) -> str | None:
    return appeal.account.organization.timezone if appeal.account.organization else None


def render_post(appeal: Appeal) -> str:
    """The appeal's post for operators. Every stored value is escaped: HTML in a text stays text."""
    first = appeal.messages[0]
    resident = appeal.resident
    text = t.POST.format(
        id=appeal.id,
        topic=fmt.esc(ta.TOPICS.get(appeal.topic, appeal.topic)),
        number=fmt.esc(appeal.account.number),
        organization=fmt.esc(appeal.account.organization.name),
        address=fmt.esc(_address(appeal)),
        holder=fmt.esc(appeal.account.holder_name or t.NO_VALUE),
        phone=fmt.esc(resident.phone or t.NO_VALUE) if resident else t.RESIDENT_DELETED,
        when=ta.when(appeal.created_at, _timezone(appeal)),
        text=fmt.esc(first.text),
    )
    if first.photo_file_ids:
        text += t.POST_PHOTOS.format(n=len(first.photo_file_ids))
    return text + t.POST_HINT


async def _send_photos(
    bot: Bot, chat_id: int, appeal_id: int, file_ids: Sequence[str], reply_to: int | None
) -> None:
    """Photos under a post (an album for several). Best effort: the text is already there and
    the file ids stay stored with the thread."""
    if not file_ids:
        return
    reply = (
        ReplyParameters(message_id=reply_to, allow_sending_without_reply=True) if reply_to else None
    )
    try:
        if len(file_ids) == 1:
            await bot.send_photo(
                chat_id,
                file_ids[0],
                caption=t.PHOTO_CAPTION.format(id=appeal_id),
                reply_parameters=reply,
            )
        else:
            media = [
                InputMediaPhoto(
                    media=file_id, caption=t.PHOTO_CAPTION.format(id=appeal_id) if i == 0 else None
                )
                for i, file_id in enumerate(file_ids[:10])
            ]
            await bot.send_media_group(chat_id, media, reply_parameters=reply)
    except TelegramAPIError as error:
        log.warning("appeal %s: photos not posted: %s", appeal_id, type(error).__name__)


async def post_appeal(
    bot: Bot, operators_chat_id: int | None, session: AsyncSession, appeal: Appeal
) -> bool:
    """Post a new appeal to the operators' chat. On failure the appeal stays unposted with one
    more attempt counted; the scheduler's sweep tries again with backoff."""
    if operators_chat_id is None:
        return False
    try:
        sent = await bot.send_message(
            operators_chat_id,
            render_post(appeal),
            reply_markup=kb.appeal_post(appeal.id, appeal.status),
        )
    except TelegramAPIError as error:
        log.warning(
            "appeal %s: post to the operators' chat failed: %s", appeal.id, type(error).__name__
        )
        await repo.record_post_failure(session, appeal)
        return False
    await repo.mark_posted(session, appeal, sent.message_id)
    await _send_photos(
        bot, operators_chat_id, appeal.id, appeal.messages[0].photo_file_ids, sent.message_id
    )
    return True


async def post_resident_message(
    bot: Bot,
    operators_chat_id: int | None,
    session: AsyncSession,
    appeal: Appeal,
    message: AppealMessage,
) -> bool:
    """A resident's later message, as a reply to the appeal's post. An appeal not posted yet
    carries it along when the sweep posts it (the sweep posts such messages afterwards)."""
    if operators_chat_id is None or appeal.operators_message_id is None:
        return False
    text = t.RESIDENT_MESSAGE.format(
        id=appeal.id,
        when=ta.when(message.created_at, _timezone(appeal)),
        text=fmt.esc(message.text),
    )
    if message.photo_file_ids:
        text += t.POST_PHOTOS.format(n=len(message.photo_file_ids))
    try:
        sent = await bot.send_message(
            operators_chat_id,
            text,
            reply_parameters=ReplyParameters(
                message_id=appeal.operators_message_id, allow_sending_without_reply=True
            ),
        )
    except TelegramAPIError as error:
        log.warning("appeal %s: message not posted: %s", appeal.id, type(error).__name__)
        return False
    message.operators_message_id = sent.message_id
    await session.flush()
    await _send_photos(bot, operators_chat_id, appeal.id, message.photo_file_ids, sent.message_id)
    return True


async def update_post_buttons(bot: Bot, operators_chat_id: int | None, appeal: Appeal) -> None:
    if operators_chat_id is None or appeal.operators_message_id is None:
        return
    try:
        await bot.edit_message_reply_markup(
            chat_id=operators_chat_id,
            message_id=appeal.operators_message_id,
            reply_markup=kb.appeal_post(appeal.id, appeal.status),
        )
    except TelegramAPIError as error:  # "message is not modified", a deleted post: not fatal
        log.debug("appeal %s: buttons not updated: %s", appeal.id, type(error).__name__)


async def notify_operators(
    bot: Bot, operators_chat_id: int | None, appeal: Appeal, text: str
) -> None:
    if operators_chat_id is None:
        return
    reply = (
        ReplyParameters(message_id=appeal.operators_message_id, allow_sending_without_reply=True)
        if appeal.operators_message_id
        else None
    )
    try:
        await bot.send_message(operators_chat_id, text, reply_parameters=reply)
    except TelegramAPIError as error:
        log.warning("appeal %s: note to operators failed: %s", appeal.id, type(error).__name__)


async def retry_unposted(
    bot: Bot, operators_chat_id: int | None, session_factory: async_sessionmaker[AsyncSession]
) -> int:
    """The sweep: post appeals whose post failed (with backoff), then residents' later messages
    that could not follow them. Returns how many posts were made."""
    if operators_chat_id is None:
        return 0
    posted = 0
    async with session_factory() as session:
        for appeal in await repo.due_for_posting(session):
            posted += await post_appeal(bot, operators_chat_id, session, appeal)
            await session.commit()
        for message in await repo.unposted_resident_messages(session):
            appeal = await repo.get_with_details(session, message.appeal_id)
            if appeal is not None:
                posted += await post_resident_message(
                    bot, operators_chat_id, session, appeal, message
                )
                await session.commit()
    return posted


def schedule(scheduler: Any, context: Any) -> None:
    """Scheduler hook (bot/scheduler.py JOB_PROVIDERS): the sweep for unposted appeals, and
    announcements a stopped process left unfinished."""
    settings = context.settings

    async def sweep() -> int:
        return await retry_unposted(
            context.bot, settings.operators_chat_id, context.session_factory
        )

    # One process at a time sweeps (a database lease), so two bot processes never double-post.
    scheduler.add_job(
        context.once("appeals-retry-unposted", sweep),
        "interval",
        seconds=RETRY_INTERVAL,
        id="appeals_retry_unposted",
        max_instances=1,
        coalesce=True,
        replace_existing=True,
    )
    # Announcements a stopped process left unfinished: each holds its own lease while it is being
    # sent, so a live run elsewhere is skipped and a dead one is taken over once its lease expires.
    scheduler.add_job(
        announce.resume_unfinished,
        "interval",
        seconds=RESUME_INTERVAL,
        next_run_time=dt.datetime.now(dt.UTC) + dt.timedelta(seconds=5),
        args=(context.bot, context.session_factory, settings),
        id="announcements_resume",
        max_instances=1,
        coalesce=True,
        replace_existing=True,
    )


# --- delivering an operator's answer --------------------------------------------------------------


async def deliver_to_resident(
    bot: Bot, session: AsyncSession, appeal: Appeal, text: str, markup: Any = None
) -> str:
    """Send a message to the appeal's resident: "sent", "blocked", "failed" or "no_resident"."""
    resident = appeal.resident
    if resident is None:
        return "no_resident"
    try:
        await bot.send_message(resident.chat_id, text, reply_markup=markup)
    except TelegramForbiddenError:
        await residents_repo.mark_unreachable(session, resident.id)
        log.info("appeal %s: the resident blocked the bot", appeal.id)
        return "blocked"
    except TelegramAPIError as error:
        log.warning(
            "appeal %s: delivery to the resident failed: %s", appeal.id, type(error).__name__
        )
        return "failed"
    return "sent"


async def answer_appeal(
    bot: Bot,
    session: AsyncSession,
    appeal: Appeal,
    *,
    text: str,
    photo_file_ids: Sequence[str],
    operator_id: int,
    operators_message_id: int,
) -> str:
    """Store an operator's answer, set "answered", deliver it. Returns the delivery outcome."""
    item = await repo.add_message(
        session,
        appeal,
        author="operator",
        text=text,
        photo_file_ids=photo_file_ids,
        operator_id=operator_id,
        operators_message_id=operators_message_id,
    )
    await repo.set_status(session, appeal, "answered")
    message = ta.OPERATOR_ANSWER.format(
        id=appeal.id, topic=ta.TOPICS.get(appeal.topic, appeal.topic), text=fmt.esc(text)
    )
    outcome = await deliver_to_resident(
        bot, session, appeal, message, kb_appeals.answer_received(appeal.id)
    )
    if outcome == "sent" and photo_file_ids and appeal.resident is not None:
        await _send_photos(bot, appeal.resident.chat_id, appeal.id, photo_file_ids, None)
    item.delivered = outcome == "sent"
    await session.flush()
    return outcome


ANSWER_OUTCOMES = {
    "sent": t.ANSWER_SENT,
    "blocked": t.ANSWER_BLOCKED,
    "failed": t.ANSWER_FAILED,
    "no_resident": t.ANSWER_NO_RESIDENT,
}


# --- who may act --------------------------------------------------------------------------------


class OperatorCheck:
    """Members of the operators' chat (getChatMember, cached briefly) and admin ids."""

    def __init__(self, ttl: float = MEMBERSHIP_TTL) -> None:
        self.ttl = ttl
        self._cache: dict[tuple[int, int], tuple[bool, float]] = {}

    async def is_operator(self, bot: Bot, settings: Any, user_id: int) -> bool:
        if user_id in settings.admin_ids:
            return True
        chat_id = settings.operators_chat_id
        if chat_id is None:
            return False
        now = time.monotonic()
        cached = self._cache.get((chat_id, user_id))
        if cached is not None and cached[1] > now:
            return cached[0]
        try:
            member = await bot.get_chat_member(chat_id, user_id)
        except TelegramAPIError as error:
            log.warning("getChatMember failed: %s", type(error).__name__)
            return False  # not cached: a transient failure should not lock an operator out
        status = getattr(member, "status", "")
        status = str(getattr(status, "value", status) or "")  # ChatMemberStatus is a str enum
        allowed = status in MEMBER_STATUSES or (
            status == "restricted" and bool(getattr(member, "is_member", False))
        )
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[(chat_id, user_id)] = (allowed, now + self.ttl)
        return allowed

    async def message_from_operator(self, message: Message, bot: Bot, settings: Any) -> bool:
        # An anonymous administrator posts on behalf of the chat itself.
        if message.sender_chat is not None:
            return message.sender_chat.id == settings.operators_chat_id
        if message.from_user is None or message.from_user.is_bot:
            return False
        return await self.is_operator(bot, settings, message.from_user.id)


class InOperatorsChat(Filter):
    async def __call__(self, event: Message | CallbackQuery, settings: Any) -> bool:
        chat_id = settings.operators_chat_id
        if chat_id is None:
            return False
        if isinstance(event, CallbackQuery):
            return event.message is not None and event.message.chat.id == chat_id
        return event.chat.id == chat_id


class IsReply(Filter):
    async def __call__(self, message: Message) -> bool:
        return message.reply_to_message is not None


class IsAdmin(Filter):
    async def __call__(self, event: Message | CallbackQuery, settings: Any) -> bool:
        return event.from_user is not None and event.from_user.id in settings.admin_ids


class NotCommand(Filter):
    async def __call__(self, message: Message) -> bool:
        return not (message.text or "").startswith("/")


def _operator_name(message_or_query: Message | CallbackQuery) -> str:
    user = message_or_query.from_user
    if isinstance(message_or_query, Message) and message_or_query.sender_chat is not None:
        return fmt.esc(message_or_query.sender_chat.title or "")
    return fmt.esc(user.full_name if user else "")


def _answer_content(message: Message) -> tuple[str, list[str]]:
    text = message.text or message.caption or ""
    photos = [message.photo[-1].file_id] if message.photo else []
    return text, photos


# --- the router -------------------------------------------------------------------------------------


class AnnounceForm(StatesGroup):
    scope = State()
    text = State()
    confirm = State()


def router() -> Router:
    root = Router(name="operators")
    root.include_routers(_chat_router(), _admin_router())
    return root


def _chat_router() -> Router:
    r = Router(name="operators_chat")
    r.message.filter(InOperatorsChat())
    r.callback_query.filter(InOperatorsChat())
    operators = OperatorCheck()

    async def answer(
        message: Message,
        bot: Bot,
        session: AsyncSession,
        settings: Any,
        appeal: Appeal,
        text: str,
        photos: list[str],
    ) -> None:
        reply_here = ReplyParameters(
            message_id=message.message_id, allow_sending_without_reply=True
        )
        if appeal.status == "closed":
            await message.answer(t.ANSWER_CLOSED.format(id=appeal.id), reply_parameters=reply_here)
            return
        if not text.strip() and not photos:
            await message.answer(t.ANSWER_EMPTY, reply_parameters=reply_here)
            return
        if len(text) > MAX_ANSWER:
            await message.answer(
                t.ANSWER_TOO_LONG.format(limit=MAX_ANSWER), reply_parameters=reply_here
            )
            return
        was_new = appeal.status == "new"
        outcome = await answer_appeal(
            bot,
            session,
            appeal,
            text=text,
            photo_file_ids=photos,
            operator_id=message.from_user.id if message.from_user else 0,
            operators_message_id=message.message_id,
        )
        if was_new:  # "Взять в работу" is no longer offered
            await update_post_buttons(bot, settings.operators_chat_id, appeal)
        await message.answer(
            ANSWER_OUTCOMES[outcome].format(id=appeal.id), reply_parameters=reply_here
        )

    @r.message(Command("reply"))
    async def on_reply_command(
        message: Message, command: CommandObject, bot: Bot, session: AsyncSession, settings: Any
    ) -> None:
        if not await operators.message_from_operator(message, bot, settings):
            return
        number, _, text = (command.args or "").strip().partition(" ")
        if not number.lstrip("№#").isdigit() or not text.strip():
            await message.answer(t.REPLY_USAGE)
            return
        appeal_id = int(number.lstrip("№#"))
        appeal = await repo.get_with_details(session, appeal_id) if appeal_id < 2**62 else None
        if appeal is None:
            await message.answer(t.APPEAL_NOT_FOUND.format(id=appeal_id))
            return
        await answer(message, bot, session, settings, appeal, text.strip(), [])

    @r.message(Command("stats"))
    async def on_stats_in_chat(
        message: Message, bot: Bot, session: AsyncSession, settings: Any
    ) -> None:
        if await operators.message_from_operator(message, bot, settings):
            await message.answer(await stats_text(session, settings))

    @r.message(IsReply())
    async def on_reply(message: Message, bot: Bot, session: AsyncSession, settings: Any) -> None:
        replied = message.reply_to_message
        assert replied is not None
        if (message.text or "").startswith("/"):
            return
        appeal = await repo.find_by_operators_message(session, replied.message_id)
        if appeal is None:
            return  # an ordinary conversation between operators
        if not await operators.message_from_operator(message, bot, settings):
            return
        text, photos = _answer_content(message)
        await answer(message, bot, session, settings, appeal, text, photos)

    @r.message()
    async def swallow(message: Message) -> None:
        """Operators talk among themselves here: no feature answers anything in this chat."""

    @r.callback_query(kb.OperatorAppeal.filter())
    async def on_button(
        callback: CallbackQuery,
        callback_data: kb.OperatorAppeal,
        bot: Bot,
        session: AsyncSession,
        settings: Any,
    ) -> None:
        if not await operators.is_operator(bot, settings, callback.from_user.id):
            await callback.answer(t.NOT_AN_OPERATOR, show_alert=True)
            return
        appeal = await repo.get_with_details(session, callback_data.appeal_id)
        if appeal is None:
            await callback.answer(
                t.APPEAL_NOT_FOUND.format(id=callback_data.appeal_id), show_alert=True
            )
            return
        if appeal.status == "closed":
            await callback.answer(t.ALERT_ALREADY_CLOSED.format(id=appeal.id), show_alert=True)
            await update_post_buttons(bot, settings.operators_chat_id, appeal)
            return
        topic = ta.TOPICS.get(appeal.topic, appeal.topic)
        if callback_data.action == "take":
            if appeal.status == "new":
                await repo.set_status(session, appeal, "in_work")
                await deliver_to_resident(
                    bot, session, appeal, ta.TAKEN_IN_WORK.format(id=appeal.id, topic=topic),
                    kb_appeals.answer_received(appeal.id),
                )  # fmt: skip
                await notify_operators(
                    bot, settings.operators_chat_id, appeal,
                    t.TAKEN.format(id=appeal.id, operator=_operator_name(callback)),
                )  # fmt: skip
            await callback.answer(t.ALERT_TAKEN.format(id=appeal.id))
        elif callback_data.action == "close":
            await repo.set_status(session, appeal, "closed")
            await deliver_to_resident(
                bot, session, appeal, ta.CLOSED_BY_OPERATOR.format(id=appeal.id, topic=topic),
                kb_appeals.answer_received(appeal.id, closed=True),
            )  # fmt: skip
            await notify_operators(
                bot, settings.operators_chat_id, appeal,
                t.CLOSED.format(id=appeal.id, operator=_operator_name(callback)),
            )  # fmt: skip
            await callback.answer(t.ALERT_CLOSED.format(id=appeal.id))
        else:
            await callback.answer(tc.STALE_BUTTON, show_alert=True)
            return
        await update_post_buttons(bot, settings.operators_chat_id, appeal)

    @r.callback_query()
    async def stale(callback: CallbackQuery) -> None:
        await callback.answer(tc.STALE_BUTTON, show_alert=True)

    return r


# --- administrators: /stats, /announce ---------------------------------------------------------------


async def stats_text(session: AsyncSession, settings: Any) -> str:
    figures = await stats_repo.collect(session, default_timezone=settings.default_timezone)
    return fmt.esc(t.stats(figures))


def _admin_router() -> Router:
    r = Router(name="operators_admin")
    r.message.filter(PrivateChat(), IsAdmin())
    r.callback_query.filter(IsAdmin())

    @r.message(Command("stats"))
    async def on_stats(message: Message, session: AsyncSession, settings: Any) -> None:
        await message.answer(await stats_text(session, settings))

    @r.message(Command("announce"))
    async def on_announce(message: Message, state: FSMContext, session: AsyncSession) -> None:
        orgs = list(await session.scalars(select(Organization).order_by(Organization.name)))
        if not orgs:
            await message.answer(t.ANNOUNCE_NO_ORGS)
            return
        await state.set_state(AnnounceForm.scope)
        await state.set_data({})
        await message.answer(t.ANNOUNCE_CHOOSE_ORG, reply_markup=kb.organizations(orgs))

    async def show_houses(
        callback: CallbackQuery, session: AsyncSession, org: Organization, page: int
    ) -> None:
        total = (
            await session.scalar(
                select(func.count(House.id)).where(House.organization_id == org.id)
            )
            or 0
        )
        pages = max(1, -(-total // HOUSES_PER_PAGE))
        page = min(max(page, 0), pages - 1)
        houses = list(
            await session.scalars(
                select(House)
                .where(House.organization_id == org.id)
                .order_by(House.address, House.id)
                .offset(page * HOUSES_PER_PAGE)
                .limit(HOUSES_PER_PAGE)
            )
        )
        text = (
            t.ANNOUNCE_CHOOSE_SCOPE.format(org=fmt.esc(org.name))
            + "\n"
            + t.ANNOUNCE_CHOOSE_HOUSE.format(page=page + 1, pages=pages)
        )
        await _show(callback, text, kb.houses(houses, page, pages))

    @r.callback_query(StateFilter(AnnounceForm.scope), kb.AnnounceOrg.filter())
    async def on_org(
        callback: CallbackQuery,
        callback_data: kb.AnnounceOrg,
        state: FSMContext,
        session: AsyncSession,
    ) -> None:
        org = await session.get(Organization, callback_data.organization_id)
        if org is None:
            await callback.answer(tc.STALE_BUTTON, show_alert=True)
            return
        await state.update_data(organization_id=org.id)
        await show_houses(callback, session, org, 0)
        await callback.answer()

    @r.callback_query(StateFilter(AnnounceForm.scope), kb.AnnounceHousesPage.filter())
    async def on_houses_page(
        callback: CallbackQuery,
        callback_data: kb.AnnounceHousesPage,
        state: FSMContext,
        session: AsyncSession,
    ) -> None:
        org = await session.get(Organization, (await state.get_data()).get("organization_id", 0))
        if org is None:
            await callback.answer(tc.STALE_BUTTON, show_alert=True)
            return
        await show_houses(callback, session, org, callback_data.page)
        await callback.answer()

    @r.callback_query(StateFilter(AnnounceForm.scope), kb.AnnounceHouse.filter())
    async def on_house(
        callback: CallbackQuery,
        callback_data: kb.AnnounceHouse,
        state: FSMContext,
        session: AsyncSession,
    ) -> None:
        org = await session.get(Organization, (await state.get_data()).get("organization_id", 0))
        house = await session.get(House, callback_data.house_id) if callback_data.house_id else None
        if org is None or (
            callback_data.house_id and (house is None or house.organization_id != org.id)
        ):
            await callback.answer(tc.STALE_BUTTON, show_alert=True)
            return
        scope = announce.Scope(
            organization_id=None if house else org.id, house_id=house.id if house else None
        )
        recipients = await announce.count_recipients(session, scope)
        if not recipients:
            await callback.answer(t.ANNOUNCE_NO_RECIPIENTS, show_alert=True)
            return
        await state.update_data(house_id=house.id if house else 0)
        await state.set_state(AnnounceForm.text)
        await _show(
            callback,
            t.ANNOUNCE_ASK_TEXT.format(
                scope=_scope_text(org, house),
                recipients=t.residents(recipients),
                limit=announce.MAX_TEXT,
            ),
            kb.announce_cancel(),
        )
        await callback.answer()

    @r.message(StateFilter(AnnounceForm.text), NotCommand())
    async def on_text(message: Message, state: FSMContext, session: AsyncSession) -> None:
        text = message.text
        if not text:
            await message.answer(t.ANNOUNCE_HINT_TEXT)
            return
        if len(text) > announce.MAX_TEXT:
            await message.answer(
                t.ANNOUNCE_TOO_LONG.format(length=len(text), limit=announce.MAX_TEXT)
            )
            return
        data = await state.get_data()
        org = await session.get(Organization, data.get("organization_id", 0))
        house = await session.get(House, data["house_id"]) if data.get("house_id") else None
        if org is None:
            await state.clear()
            await message.answer(tc.STALE_BUTTON)
            return
        scope = announce.Scope(
            organization_id=None if house else org.id, house_id=house.id if house else None
        )
        recipients = await announce.count_recipients(session, scope)
        await state.update_data(text=text)
        await state.set_state(AnnounceForm.confirm)
        await message.answer(t.ANNOUNCE_PREVIEW.format(recipients=t.residents(recipients)))
        await message.answer(announce.render(org.name, text))
        await message.answer(
            t.ANNOUNCE_CONFIRM.format(
                scope=_scope_text(org, house), recipients=t.residents(recipients)
            ),
            reply_markup=kb.announce_confirm(),
        )

    @r.callback_query(StateFilter(AnnounceForm), kb.AnnounceStep.filter(F.action == "cancel"))
    async def on_cancel(callback: CallbackQuery, state: FSMContext) -> None:
        await state.clear()
        await _show(callback, t.ANNOUNCE_CANCELLED, None)
        await callback.answer()

    @r.callback_query(StateFilter(AnnounceForm.confirm), kb.AnnounceStep.filter(F.action == "send"))
    async def on_send(
        callback: CallbackQuery,
        state: FSMContext,
        session: AsyncSession,
        bot: Bot,
        settings: Any,
        session_factory: async_sessionmaker[AsyncSession],
    ) -> None:
        data = await state.get_data()
        await state.clear()
        house_id = data.get("house_id") or None
        scope = announce.Scope(
            organization_id=None if house_id else data.get("organization_id"), house_id=house_id
        )
        item = await announce.create(
            session, scope, data.get("text", ""), created_by=callback.from_user.id
        )
        recipients = await announce.count_recipients(session, scope)
        await session.commit()  # the run below uses its own sessions and must see the row
        await _show(
            callback,
            t.ANNOUNCE_STARTED.format(id=item.id, recipients=t.residents(recipients)),
            None,
        )
        await callback.answer()
        admin_chat = callback.message.chat.id if callback.message else callback.from_user.id
        _spawn(_run_and_report(bot, session_factory, settings, item.id, admin_chat))

    @r.message(StateFilter(AnnounceForm.scope), NotCommand())
    async def on_house_search(message: Message, state: FSMContext, session: AsyncSession) -> None:
        """Typed text once an organization is chosen: houses whose address contains it."""
        organization_id = (await state.get_data()).get("organization_id")
        query = (message.text or "").strip().lower()
        if not organization_id or not query:
            await message.answer(t.ANNOUNCE_HINT_SCOPE)
            return
        pattern = "%" + query.replace("\\", "").replace("%", "").replace("_", "") + "%"
        houses = list(
            await session.scalars(
                select(House)
                .where(House.organization_id == organization_id, House.search_text.like(pattern))
                .order_by(House.address, House.id)
                .limit(HOUSES_PER_PAGE)
            )
        )
        if not houses:
            await message.answer(t.ANNOUNCE_HOUSE_NOT_FOUND)
            return
        await message.answer(
            t.ANNOUNCE_HOUSES_FOUND.format(n=len(houses)), reply_markup=kb.houses(houses, 0, 1)
        )

    @r.message(StateFilter(AnnounceForm.confirm), NotCommand())
    async def hint_confirm(message: Message) -> None:
        await message.answer(t.ANNOUNCE_HINT_CONFIRM)

    return r


def _scope_text(org: Organization, house: House | None) -> str:
    if house is not None:
        return t.ANNOUNCE_SCOPE_HOUSE.format(address=fmt.esc(house.address))
    return t.ANNOUNCE_SCOPE_ORG.format(org=fmt.esc(org.name))


async def _show(callback: CallbackQuery, text: str, markup: Any) -> None:
    message = callback.message
    if message is None:
        return
    try:
        await message.edit_text(text, reply_markup=markup)  # type: ignore[union-attr]
    except TelegramAPIError:
        await message.answer(text, reply_markup=markup)  # type: ignore[union-attr]


_tasks: set[asyncio.Task[Any]] = set()


def _spawn(coro: Any) -> asyncio.Task[Any]:
    """A background task kept referenced until it ends (asyncio holds only weak references)."""
    task = asyncio.create_task(coro)
    _tasks.add(task)
    task.add_done_callback(_tasks.discard)
    return task


async def _run_and_report(
    bot: Bot,
    session_factory: async_sessionmaker[AsyncSession],
    settings: Any,
    announcement_id: int,
    admin_chat: int,
) -> None:
    try:
        result = await announce.run(bot, session_factory, settings, announcement_id)
    except Exception:
        log.exception("announcement %s stopped", announcement_id)
        return
    try:
        await bot.send_message(
            admin_chat,
            t.ANNOUNCE_DONE.format(
                id=announcement_id, sent=result.sent, blocked=result.blocked, failed=result.failed
            ),
        )
    except TelegramAPIError:
        log.warning("announcement %s: could not report to the admin", announcement_id)
