"""The resident's correspondence: the list of appeals, each thread (paged), a message added to an
open appeal, closing one. Appeal ids from buttons are authorized by `services.appeals` (the
resident's own appeal about an account still linked; an id no row can have is simply not there)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

from aiogram import Bot, F, Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from handlers.appeals.compose import AppealForm, largest_photo, text_problem
from handlers.posting import TelegramOperatorsChat
from handlers.ui import StepInput, command_of, edit_or_send
from keyboards import appeals as kb
from keyboards.appeals import ThreadAction
from keyboards.callbacks import AppealsHistory
from services import appeals as service
from services.appeals import Author, Refusal
from storage.models import Account, Appeal, AppealMessage, Resident
from texts import fmt
from texts.ru import appeals as t
from texts.ru import operators as to

THREAD_PAGE_BUDGET = 3000  # characters of messages per thread page (Telegram's limit is 4096)


class AppealReply(StatesGroup):
    text = State()


@dataclass
class ReplyDraft:
    """The dialogue's data while a message to an open appeal is awaited."""

    appeal_id: int = 0


def register(r: Router) -> None:
    r.callback_query.register(on_list, AppealsHistory.filter())
    r.callback_query.register(on_view, kb.AppealView.filter())
    action = kb.AppealAction.filter
    r.callback_query.register(on_add, action(F.action == ThreadAction.ADD))
    r.callback_query.register(on_close, action(F.action == ThreadAction.CLOSE))
    r.callback_query.register(on_close_yes, action(F.action == ThreadAction.CLOSE_YES))
    r.message.register(on_reply_text, StateFilter(AppealReply.text), StepInput())


# --- rendering a thread ---------------------------------------------------------------------------


def _entry(message: AppealMessage, timezone: str | None) -> str:
    when = t.when(message.created_at, timezone)
    head = t.THREAD_YOU if message.author == Author.RESIDENT else t.THREAD_OPERATOR
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
    account = appeal.account
    organization = account.organization if account else appeal.organization
    timezone = organization.timezone if organization else None
    header = t.THREAD_HEADER.format(
        id=appeal.id,
        topic=t.TOPICS.get(appeal.topic, appeal.topic),
        number=fmt.esc(account.number)
        if account
        else t.NO_ACCOUNT_ADDRESS.format(address=fmt.esc(appeal.address)),
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


# --- the list and a thread ------------------------------------------------------------------------


async def on_list(
    callback: CallbackQuery, callback_data: AppealsHistory, account: Account | None,
    state: FSMContext, session: AsyncSession, resident: Resident,
) -> None:  # fmt: skip
    """All the resident's appeals, or those about one account (authorized and injected)."""
    if await state.get_state() in AppealForm or await state.get_state() in AppealReply:
        await state.clear()
    account_id = account.id if account is not None else 0
    found = await service.list_page(session, resident.id, account_id, callback_data.page)
    await callback.answer()
    if callback.message is None:
        return
    if not found.total:
        text, markup = t.NO_APPEALS, kb.no_appeals(account_id)
    else:
        scope = t.LIST_SCOPE_ACCOUNT.format(number=fmt.esc(account.number)) if account else ""
        text = t.LIST_HEADER.format(scope=scope, page=found.page + 1, pages=found.pages)
        markup = kb.appeals_list(found.items, account_id, found.page, found.pages)
    if callback_data.page > 0 or (callback.message.text or "").startswith(t.OWN_MESSAGES):
        await edit_or_send(callback, text, markup)
    else:  # opened from another feature's message (the card): keep that message
        await callback.message.answer(text, reply_markup=markup)  # type: ignore[union-attr]


async def on_view(
    callback: CallbackQuery, callback_data: kb.AppealView, session: AsyncSession,
    resident: Resident,
) -> None:  # fmt: skip
    appeal = await service.for_resident(session, resident.id, callback_data.appeal_id)
    if appeal is None:
        await callback.answer(t.APPEAL_NOT_AVAILABLE, show_alert=True)
        return
    text, page, pages = render_thread(appeal, callback_data.page)
    await callback.answer()
    markup = kb.thread(appeal, page, pages)
    if callback_data.fresh and callback.message is not None:
        await callback.message.answer(text, reply_markup=markup)  # type: ignore[union-attr]
    else:
        await edit_or_send(callback, text, markup)


# --- adding a message, closing ------------------------------------------------------------------------


async def open_appeal(
    callback: CallbackQuery, callback_data: kb.AppealAction, session: AsyncSession,
    resident: Resident,
) -> Appeal | None:  # fmt: skip
    """The resident's open appeal the button names; otherwise the resident is told why not."""
    appeal = await service.open_for_resident(session, resident.id, callback_data.appeal_id)
    if appeal is Refusal.CLOSED:
        await callback.answer(t.ALREADY_CLOSED, show_alert=True)
    elif isinstance(appeal, Refusal):
        await callback.answer(t.APPEAL_NOT_AVAILABLE, show_alert=True)
    return None if isinstance(appeal, Refusal) else appeal


async def on_add(
    callback: CallbackQuery, callback_data: kb.AppealAction, state: FSMContext,
    session: AsyncSession, resident: Resident,
) -> None:  # fmt: skip
    appeal = await open_appeal(callback, callback_data, session, resident)
    if appeal is None:
        return
    await state.set_state(AppealReply.text)
    await state.set_data(asdict(ReplyDraft(appeal_id=appeal.id)))
    await callback.answer()
    if callback.message is not None:
        await callback.message.answer(  # type: ignore[union-attr]
            t.ADD_MESSAGE.format(id=appeal.id), reply_markup=kb.text_step()
        )


async def on_close(
    callback: CallbackQuery, callback_data: kb.AppealAction, session: AsyncSession,
    resident: Resident,
) -> None:  # fmt: skip
    appeal = await open_appeal(callback, callback_data, session, resident)
    if appeal is not None:
        await edit_or_send(
            callback, t.CLOSE_CONFIRM.format(id=appeal.id), kb.close_confirm(appeal.id)
        )
        await callback.answer()


async def on_close_yes(
    callback: CallbackQuery, callback_data: kb.AppealAction, session: AsyncSession,
    resident: Resident, bot: Bot, settings: Settings,
) -> None:  # fmt: skip
    appeal = await open_appeal(callback, callback_data, session, resident)
    if appeal is None:
        return
    await service.close_by_resident(session, appeal)
    text, page, pages = render_thread(appeal, 0)
    closed = t.CLOSED.format(id=appeal.id) + "\n\n" + text
    await edit_or_send(callback, closed, kb.thread(appeal, page, pages))
    await callback.answer()
    chat = TelegramOperatorsChat(bot, settings.operators_chat_id)
    await chat.update_buttons(appeal)
    await service.release_pin(session, chat, appeal)
    if appeal.operators_message_id is not None:  # operators never saw it otherwise
        await chat.notify(appeal, to.RESIDENT_CLOSED.format(id=appeal.id))


async def on_reply_text(
    message: Message, state: FSMContext, session: AsyncSession, resident: Resident, bot: Bot,
    settings: Settings,
) -> None:  # fmt: skip
    appeal_id = ReplyDraft(**await state.get_data()).appeal_id
    text = message.text or message.caption
    if text is None or command_of(message.text) is not None:
        await message.answer(t.HINT_REPLY.format(id=appeal_id))
        return
    problem = text_problem(text)
    if problem:
        await message.answer(problem)
        return
    await state.clear()
    photo = largest_photo(message)
    added = await service.add_resident_message(
        session, resident.id, appeal_id, text, [photo] if photo else []
    )
    if isinstance(added, Refusal):
        await message.answer(
            t.ALREADY_CLOSED if added is Refusal.CLOSED else t.APPEAL_NOT_AVAILABLE
        )
        return
    appeal, item = added
    await message.answer(
        t.MESSAGE_ADDED.format(id=appeal.id), reply_markup=kb.answer_received(appeal.id)
    )
    chat = TelegramOperatorsChat(bot, settings.operators_chat_id)
    await service.post_message(session, chat, appeal, item)
