"""Residents' appeals: write one (account → topic → text → photos → confirm), see the list and
each thread, add a message to an open appeal, close it.

Every appeal id and account id from callback data is authorized: `get_linked_account` for
accounts, `appeals.get_for_resident` (own appeal, account still linked) for appeals.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from aiogram import Bot, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command, Filter, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.access import authorized, registered_only
from handlers.filters import TextIs
from handlers.operators import (
    notify_operators,
    post_appeal,
    post_resident_message,
    update_post_buttons,
)
from keyboards import appeals as kb
from keyboards.callbacks import AppealsHistory, NewAppeal
from storage.models import Appeal, AppealMessage, Resident
from storage.repo import appeals as repo
from storage.repo.accounts import get_linked_account, linked_accounts
from texts import fmt
from texts.ru import appeals as t
from texts.ru import common as tc
from texts.ru import operators as to

log = logging.getLogger(__name__)

LIST_PAGE_SIZE = 5
# How long the photos of an album are awaited before the bot answers once for all of them.
ALBUM_SETTLE_SECONDS = 0.8
THREAD_PAGE_BUDGET = 3000  # characters of messages per thread page (Telegram's limit is 4096)


class AppealForm(StatesGroup):
    account = State()
    topic = State()
    text = State()
    photos = State()
    confirm = State()


class AppealReply(StatesGroup):
    text = State()


class NotCommand(Filter):
    """Commands are never taken as input (/cancel and the others go to their handlers)."""

    async def __call__(self, message: Message) -> bool:
        return not (message.text or "").startswith("/")


class HasPhoto(Filter):
    async def __call__(self, message: Message) -> bool:
        return bool(message.photo)


async def in_my_dialogue(state: FSMContext) -> bool:
    current = await state.get_state()
    return current is not None and current.split(":")[0] in ("AppealForm", "AppealReply")


def _largest_photo(message: Message) -> str | None:
    return message.photo[-1].file_id if message.photo else None


async def _show(callback: CallbackQuery, text: str, markup: InlineKeyboardMarkup | None) -> None:
    """Replace the message the button was on (or send anew when it cannot be edited)."""
    message = callback.message
    if message is None:
        return
    try:
        await message.edit_text(text, reply_markup=markup)  # type: ignore[union-attr]
    except TelegramAPIError:
        await message.answer(text, reply_markup=markup)  # type: ignore[union-attr]


# --- thread rendering -------------------------------------------------------------------------------


def _entry(message: AppealMessage, timezone: str | None) -> str:
    when = t.when(message.created_at, timezone)
    head = t.THREAD_YOU if message.author == "resident" else t.THREAD_OPERATOR
    parts = [head.format(when=when)]
    if message.text:
        parts.append(fmt.esc(message.text))
    if message.photo_file_ids:
        parts.append(t.THREAD_PHOTOS.format(n=len(message.photo_file_ids)))
    return "\n".join(parts)


def thread_pages(
    messages: Sequence[AppealMessage], budget: int = THREAD_PAGE_BUDGET
) -> list[list[AppealMessage]]:
    """Pages of a thread, page 0 the newest; each page's raw text stays within `budget`."""
    pages: list[list[AppealMessage]] = []
    current: list[AppealMessage] = []
    used = 0
    for message in reversed(messages):
        size = len(message.text or "") + 60
        if current and used + size > budget:
            pages.append(current)
            current, used = [], 0
        current.insert(0, message)
        used += size
    if current or not pages:
        pages.append(current)
    return pages


def render_thread(appeal: Appeal, page: int) -> tuple[str, int, int]:
    pages = thread_pages(appeal.messages)
    page = min(max(page, 0), len(pages) - 1)
    timezone = appeal.account.organization.timezone if appeal.account.organization else None
    header = t.THREAD_HEADER.format(
        id=appeal.id,
        topic=t.TOPICS.get(appeal.topic, appeal.topic),
        number=fmt.esc(appeal.account.number),
        status=t.STATUSES.get(appeal.status, appeal.status),
    )
    shown = pages[page]
    lines = [header]
    if len(pages) > 1:
        index = {m.id: i for i, m in enumerate(appeal.messages, 1)}
        lines.append(
            t.THREAD_PAGE.format(
                first=index[shown[0].id], last=index[shown[-1].id], total=len(appeal.messages)
            )
        )
    body = "\n\n".join(_entry(m, timezone) for m in shown)
    return "\n".join(lines) + "\n\n" + body, page, len(pages)


# --- the router ------------------------------------------------------------------------------------


def router() -> Router:
    r = registered_only(Router(name="appeals"))
    dialogue_locks: dict[int, asyncio.Lock] = {}
    album_latest: dict[tuple[int, str], int] = {}  # (chat, media group) -> newest message id

    async def has_appeals(session: AsyncSession, resident: Resident) -> bool:
        _, total = await repo.list_for_resident(session, resident.id, limit=1)
        return total > 0

    async def ask_topic(
        target: Message, state: FSMContext, session: AsyncSession, resident: Resident,
        account_id: int, number: str, *, edit: bool = False,
    ) -> None:  # fmt: skip
        await state.set_state(AppealForm.topic)
        await state.set_data({"account_id": account_id, "number": number})
        text = t.CHOOSE_TOPIC.format(number=fmt.esc(number))
        markup = kb.choose_topic(await has_appeals(session, resident))
        if edit:
            try:
                await target.edit_text(text, reply_markup=markup)
                return
            except TelegramAPIError:
                pass
        await target.answer(text, reply_markup=markup)

    async def start(
        message: Message, state: FSMContext, session: AsyncSession, resident: Resident
    ) -> None:
        accounts = await linked_accounts(session, resident.id)
        if not accounts:
            await state.clear()
            await message.answer(tc.NO_ACCOUNTS)
            return
        if len(accounts) == 1:
            await ask_topic(message, state, session, resident, accounts[0].id, accounts[0].number)
            return
        await state.set_state(AppealForm.account)
        await state.set_data({})
        await message.answer(
            t.CHOOSE_ACCOUNT,
            reply_markup=kb.choose_account(accounts, await has_appeals(session, resident)),
        )

    @r.message(TextIs(tc.BTN_APPEALS))
    @r.message(Command("appeals"))
    async def on_menu(
        message: Message, state: FSMContext, session: AsyncSession, resident: Resident
    ) -> None:
        await start(message, state, session, resident)

    @r.callback_query(kb.AppealStep.filter())
    async def on_step(
        callback: CallbackQuery,
        callback_data: kb.AppealStep,
        state: FSMContext,
        session: AsyncSession,
        resident: Resident,
        bot: Bot,
        settings: Any,
    ) -> None:
        action = callback_data.action
        current = await state.get_state()
        if action == "new":
            await callback.answer()
            if callback.message is not None:
                await start(callback.message, state, session, resident)  # type: ignore[arg-type]
            return
        if action == "cancel":
            if await in_my_dialogue(state):
                await state.clear()
            await _show(callback, t.NOT_SENT, None)
            await callback.answer()
            return
        if action == "done" and current == AppealForm.photos.state:
            await show_confirm(callback, state)
            await callback.answer()
            return
        if action == "send" and current == AppealForm.confirm.state:
            await send_appeal(callback, state, session, resident, bot, settings)
            return
        await callback.answer(tc.STALE_BUTTON, show_alert=True)

    @r.callback_query(NewAppeal.filter())
    async def on_new_for_account(
        callback: CallbackQuery,
        callback_data: NewAppeal,
        state: FSMContext,
        session: AsyncSession,
        resident: Resident,
    ) -> None:
        account = await authorized(callback, session, resident, callback_data.account_id)
        if account is None:
            return
        await callback.answer()
        if callback.message is not None:
            await ask_topic(callback.message, state, session, resident, account.id, account.number)  # type: ignore[arg-type]

    @r.callback_query(StateFilter(AppealForm.account), kb.AppealAccount.filter())
    async def on_account(
        callback: CallbackQuery,
        callback_data: kb.AppealAccount,
        state: FSMContext,
        session: AsyncSession,
        resident: Resident,
    ) -> None:
        account = await authorized(callback, session, resident, callback_data.account_id)
        if account is None:
            return
        await callback.answer()
        if callback.message is not None:
            await ask_topic(
                callback.message, state, session, resident, account.id, account.number, edit=True
            )  # type: ignore[arg-type]

    @r.callback_query(StateFilter(AppealForm.topic), kb.AppealTopic.filter())
    async def on_topic(
        callback: CallbackQuery, callback_data: kb.AppealTopic, state: FSMContext
    ) -> None:
        if callback_data.topic not in t.TOPICS:
            await callback.answer(tc.STALE_BUTTON, show_alert=True)
            return
        await state.update_data(topic=callback_data.topic, photos=[])
        await state.set_state(AppealForm.text)
        await _show(
            callback,
            t.ASK_TEXT.format(topic=t.TOPICS[callback_data.topic], limit=t.MAX_TEXT),
            kb.text_step(),
        )
        await callback.answer()

    def valid_text(text: str) -> str | None:
        if not text.strip():
            return t.TEXT_EMPTY
        if len(text) > t.MAX_TEXT:
            return t.TEXT_TOO_LONG.format(length=len(text), limit=t.MAX_TEXT)
        return None

    def lock_for_chat(chat_id: int) -> asyncio.Lock:
        # Updates of one chat are handled concurrently (an album's photos, a double tap): one
        # lock per chat keeps each read-modify-write of the dialogue's data whole.
        if len(dialogue_locks) > 10_000:
            for key in [k for k, lock in dialogue_locks.items() if not lock.locked()]:
                del dialogue_locks[key]
        return dialogue_locks.setdefault(chat_id, asyncio.Lock())

    def lock_for(message: Message) -> asyncio.Lock:
        return lock_for_chat(message.chat.id)

    async def add_photo(message: Message, state: FSMContext, **values: Any) -> tuple[int, bool]:
        """Add the message's photo (if any) and `values` to the dialogue: (photos now, full)."""
        async with lock_for(message):
            data = await state.get_data()
            photos = list(data.get("photos", []))
            photo = _largest_photo(message)
            full = photo is not None and len(photos) >= t.MAX_PHOTOS
            if photo is not None and not full:
                photos.append(photo)
            await state.update_data(photos=photos, **values)
            return len(photos), full

    async def album_settled(message: Message) -> bool:
        """For an album, answer once: only the handler of its latest photo, after a short wait
        for the rest, says how many there are now (one message per photo would hit Telegram's
        per-chat limit)."""
        group = message.media_group_id
        if group is None:
            return True
        key = (message.chat.id, group)
        album_latest[key] = max(album_latest.get(key, 0), message.message_id)
        await asyncio.sleep(ALBUM_SETTLE_SECONDS)
        if album_latest.get(key) != message.message_id:
            return False
        album_latest.pop(key, None)
        return True

    @r.message(StateFilter(AppealForm.text), NotCommand())
    async def on_text(message: Message, state: FSMContext) -> None:
        text = message.text or message.caption
        if text is None:
            if message.photo:  # an album's photo without the caption: kept, the text awaited
                await add_photo(message, state)
                if message.media_group_id is not None:
                    return
            await message.answer(t.HINT_TEXT)
            return
        problem = valid_text(text)
        if problem:
            await message.answer(problem)
            return
        count, _ = await add_photo(message, state, text=text)
        await state.set_state(AppealForm.photos)
        if not await album_settled(message):
            return
        count = len((await state.get_data()).get("photos", []))
        note = (t.PHOTO_ADDED.format(n=count, limit=t.MAX_PHOTOS) + "\n") if count else ""
        await message.answer(
            note + t.ASK_PHOTOS.format(limit=t.MAX_PHOTOS), reply_markup=kb.photos_step(count)
        )

    @r.message(StateFilter(AppealForm.photos), HasPhoto())
    async def on_photo(message: Message, state: FSMContext) -> None:
        count, full = await add_photo(message, state)
        if not await album_settled(message):
            return
        count = len((await state.get_data()).get("photos", []))
        if full:
            await message.answer(
                t.PHOTOS_FULL.format(limit=t.MAX_PHOTOS), reply_markup=kb.photos_step(count)
            )
            return
        await message.answer(
            t.PHOTO_ADDED.format(n=count, limit=t.MAX_PHOTOS), reply_markup=kb.photos_step(count)
        )

    async def show_confirm(callback: CallbackQuery, state: FSMContext) -> None:
        data = await state.get_data()
        photos = data.get("photos", [])
        await state.set_state(AppealForm.confirm)
        text = t.CONFIRM.format(
            number=fmt.esc(data.get("number", "")),
            topic=t.TOPICS.get(data.get("topic", ""), ""),
            photos=fmt.count(len(photos), "фотография", "фотографии", "фотографий")
            if photos
            else t.PHOTOS_NONE,
            text=fmt.esc(data.get("text", "")),
        )
        await _show(callback, text, kb.confirm())

    async def send_appeal(
        callback: CallbackQuery,
        state: FSMContext,
        session: AsyncSession,
        resident: Resident,
        bot: Bot,
        settings: Any,
    ) -> None:
        # A double tap on "Отправить" delivers two updates handled at once: only one may send.
        async with lock_for_chat(
            callback.message.chat.id if callback.message else resident.chat_id
        ):
            if await state.get_state() != AppealForm.confirm.state:
                await callback.answer(tc.STALE_BUTTON, show_alert=True)
                return
            data = await state.get_data()
            await state.clear()
        account = await get_linked_account(session, resident.id, int(data.get("account_id", 0)))
        topic = data.get("topic", "")
        text = data.get("text", "")
        if account is None or topic not in t.TOPICS or valid_text(text):
            await callback.answer(
                tc.ACCOUNT_NOT_AVAILABLE if account is None else tc.STALE_BUTTON, show_alert=True
            )
            return
        appeal = await repo.create(
            session,
            resident_id=resident.id,
            account_id=account.id,
            topic=topic,
            text=text,
            photo_file_ids=[p for p in data.get("photos", []) if isinstance(p, str)][
                : t.MAX_PHOTOS
            ],
        )
        # Stored first: whatever happens to the post below, the appeal is not lost.
        await session.commit()
        await _show(
            callback,
            t.SENT.format(id=appeal.id, status=t.STATUSES["new"]),
            kb.answer_received(appeal.id),
        )
        await callback.answer()
        loaded = await repo.get_with_details(session, appeal.id)
        if loaded is not None:
            await post_appeal(bot, settings.operators_chat_id, session, loaded)

    # -- the list and the threads -------------------------------------------------------------

    @r.callback_query(AppealsHistory.filter())
    async def on_list(
        callback: CallbackQuery,
        callback_data: AppealsHistory,
        state: FSMContext,
        session: AsyncSession,
        resident: Resident,
    ) -> None:
        account_id = callback_data.account_id
        scope = ""
        if account_id:
            account = await authorized(callback, session, resident, account_id)
            if account is None:
                return
            scope = t.LIST_SCOPE_ACCOUNT.format(number=fmt.esc(account.number))
        if await in_my_dialogue(state):
            await state.clear()
        page = max(callback_data.page, 0)
        items, total = await repo.list_for_resident(
            session, resident.id, account_id, offset=page * LIST_PAGE_SIZE, limit=LIST_PAGE_SIZE
        )
        pages = max(1, -(-total // LIST_PAGE_SIZE))
        if page >= pages:
            page = pages - 1
            items, total = await repo.list_for_resident(
                session, resident.id, account_id, offset=page * LIST_PAGE_SIZE, limit=LIST_PAGE_SIZE
            )
        await callback.answer()
        if callback.message is None:
            return
        if not total:
            text, markup = t.NO_APPEALS, kb.no_appeals(account_id)
        else:
            text = t.LIST_HEADER.format(scope=scope, page=page + 1, pages=pages)
            markup = kb.appeals_list(items, account_id, page, pages)
        if callback_data.page > 0 or (callback.message.text or "").startswith(t.OWN_MESSAGES):
            await _show(callback, text, markup)
        else:  # opened from another feature's message (the card): keep that message
            await callback.message.answer(text, reply_markup=markup)  # type: ignore[union-attr]

    @r.callback_query(kb.AppealView.filter())
    async def on_view(
        callback: CallbackQuery,
        callback_data: kb.AppealView,
        session: AsyncSession,
        resident: Resident,
    ) -> None:
        appeal = await repo.get_for_resident(session, resident.id, callback_data.appeal_id)
        if appeal is None:
            await callback.answer(t.APPEAL_NOT_AVAILABLE, show_alert=True)
            return
        text, page, pages = render_thread(appeal, callback_data.page)
        await callback.answer()
        markup = kb.thread(appeal, page, pages)
        if callback_data.fresh and callback.message is not None:
            await callback.message.answer(text, reply_markup=markup)  # type: ignore[union-attr]
        else:
            await _show(callback, text, markup)

    @r.callback_query(kb.AppealAction.filter())
    async def on_action(
        callback: CallbackQuery,
        callback_data: kb.AppealAction,
        state: FSMContext,
        session: AsyncSession,
        resident: Resident,
        bot: Bot,
        settings: Any,
    ) -> None:
        appeal = await repo.get_for_resident(session, resident.id, callback_data.appeal_id)
        if appeal is None:
            await callback.answer(t.APPEAL_NOT_AVAILABLE, show_alert=True)
            return
        if appeal.status == "closed":
            await callback.answer(t.ALREADY_CLOSED, show_alert=True)
            return
        action = callback_data.action
        if action == "add":
            await state.set_state(AppealReply.text)
            await state.set_data({"appeal_id": appeal.id})
            await callback.answer()
            if callback.message is not None:
                await callback.message.answer(
                    t.ADD_MESSAGE.format(id=appeal.id), reply_markup=kb.text_step()
                )  # type: ignore[union-attr]
        elif action == "close":
            await _show(callback, t.CLOSE_CONFIRM.format(id=appeal.id), kb.close_confirm(appeal.id))
            await callback.answer()
        elif action == "close_yes":
            await repo.set_status(session, appeal, "closed")
            await session.commit()
            text, page, pages = render_thread(appeal, 0)
            await _show(
                callback,
                t.CLOSED.format(id=appeal.id) + "\n\n" + text,
                kb.thread(appeal, page, pages),
            )
            await callback.answer()
            await update_post_buttons(bot, settings.operators_chat_id, appeal)
            if appeal.operators_message_id is not None:  # operators never saw it otherwise
                await notify_operators(
                    bot, settings.operators_chat_id, appeal, to.RESIDENT_CLOSED.format(id=appeal.id)
                )
        else:
            await callback.answer(tc.STALE_BUTTON, show_alert=True)

    @r.message(StateFilter(AppealReply.text), NotCommand())
    async def on_reply_text(
        message: Message,
        state: FSMContext,
        session: AsyncSession,
        resident: Resident,
        bot: Bot,
        settings: Any,
    ) -> None:
        data = await state.get_data()
        text = message.text or message.caption
        if text is None:
            await message.answer(t.HINT_REPLY.format(id=data.get("appeal_id", "")))
            return
        problem = valid_text(text)
        if problem:
            await message.answer(problem)
            return
        appeal = await repo.get_for_resident(session, resident.id, int(data.get("appeal_id", 0)))
        await state.clear()
        if appeal is None or appeal.status == "closed":
            await message.answer(t.ALREADY_CLOSED if appeal else t.APPEAL_NOT_AVAILABLE)
            return
        photo = _largest_photo(message)
        item = await repo.add_message(
            session, appeal, author="resident", text=text, photo_file_ids=[photo] if photo else []
        )
        if appeal.status == "answered":
            await repo.set_status(session, appeal, "in_work")
        await session.commit()  # stored before the post: the sweep posts it if this one fails
        await message.answer(
            t.MESSAGE_ADDED.format(id=appeal.id), reply_markup=kb.answer_received(appeal.id)
        )
        await post_resident_message(bot, settings.operators_chat_id, session, appeal, item)

    # -- fallbacks: every state says what it expects ------------------------------------------

    @r.message(StateFilter(AppealForm.account), NotCommand())
    async def hint_account(message: Message) -> None:
        await message.answer(t.HINT_ACCOUNT)

    @r.message(StateFilter(AppealForm.topic), NotCommand())
    async def hint_topic(message: Message) -> None:
        await message.answer(t.HINT_TOPIC)

    @r.message(StateFilter(AppealForm.photos), NotCommand())
    async def hint_photos(message: Message, state: FSMContext) -> None:
        photos = (await state.get_data()).get("photos", [])
        await message.answer(t.HINT_PHOTOS, reply_markup=kb.photos_step(len(photos)))

    @r.message(StateFilter(AppealForm.confirm), NotCommand())
    async def hint_confirm(message: Message) -> None:
        await message.answer(t.HINT_CONFIRM)

    @r.message(StateFilter(AppealForm.text, AppealReply.text))
    async def hint_command_as_text(message: Message, state: FSMContext) -> None:
        """An unknown command typed where text is expected: not taken as the appeal's text."""
        if await state.get_state() == AppealReply.text.state:
            data = await state.get_data()
            await message.answer(t.HINT_REPLY.format(id=data.get("appeal_id", "")))
        else:
            await message.answer(t.HINT_TEXT)

    return r
