"""Administrators in a private chat: /stats, and /announce (organization → house or all → text →
preview → send, then a report when the paced run ends)."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from handlers.filters import PrivateChat
from handlers.operators import background
from handlers.operators.chat import on_stats  # the same figures as in the operators' chat
from handlers.operators.filters import IsAdmin
from handlers.ui import StepInput, command_of, edit_or_send
from keyboards import operators as kb
from keyboards.operators import AnnounceAction
from receipts import announce
from services import announcements
from services.announcements import Target, TextProblem
from storage.models import Organization
from texts import fmt
from texts.ru import common as tc
from texts.ru import operators as t

log = logging.getLogger(__name__)


class AnnounceForm(StatesGroup):
    scope = State()
    text = State()
    confirm = State()


@dataclass
class AnnounceDraft:
    """The dialogue's data: the chosen organization, house (0: all of it) and text."""

    organization_id: int = 0
    house_id: int = 0
    text: str = ""


async def draft_of(state: FSMContext) -> AnnounceDraft:
    data = await state.get_data()
    return AnnounceDraft(**{k: v for k, v in data.items() if k in AnnounceDraft.__annotations__})


def router() -> Router:
    r = Router(name="operators_admin")
    r.message.filter(PrivateChat(), IsAdmin())
    r.callback_query.filter(IsAdmin())
    r.message.register(on_stats, Command("stats"))
    r.message.register(on_announce, Command("announce"))
    scope, text, confirm = AnnounceForm.scope, AnnounceForm.text, AnnounceForm.confirm
    r.callback_query.register(on_org, StateFilter(scope), kb.AnnounceOrg.filter())
    r.callback_query.register(on_houses_page, StateFilter(scope), kb.AnnounceHousesPage.filter())
    r.callback_query.register(on_house, StateFilter(scope), kb.AnnounceHouse.filter())
    r.message.register(on_text, StateFilter(text), StepInput())
    cancel = kb.AnnounceStep.filter(F.action == AnnounceAction.CANCEL)
    r.callback_query.register(on_cancel, StateFilter(AnnounceForm), cancel)
    send = kb.AnnounceStep.filter(F.action == AnnounceAction.SEND)
    r.callback_query.register(on_send, StateFilter(confirm), send)
    r.message.register(on_house_search, StateFilter(scope), StepInput())
    r.message.register(hint_confirm, StateFilter(confirm), StepInput())
    return r


async def on_announce(message: Message, state: FSMContext, session: AsyncSession) -> None:
    orgs = await announcements.organizations(session)
    if not orgs:
        await message.answer(t.ANNOUNCE_NO_ORGS)
        return
    await state.set_state(AnnounceForm.scope)
    await state.set_data(asdict(AnnounceDraft()))
    await message.answer(t.ANNOUNCE_CHOOSE_ORG, reply_markup=kb.organizations(orgs))


async def show_houses(
    callback: CallbackQuery, session: AsyncSession, org: Organization, page: int
) -> None:
    houses = await announcements.houses(session, org.id, page)
    text = (
        t.ANNOUNCE_CHOOSE_SCOPE.format(org=fmt.esc(org.name))
        + "\n"
        + t.ANNOUNCE_CHOOSE_HOUSE.format(page=houses.page + 1, pages=houses.pages)
    )
    await edit_or_send(callback, text, kb.houses(houses.items, houses.page, houses.pages))


async def on_org(
    callback: CallbackQuery, callback_data: kb.AnnounceOrg, state: FSMContext, session: AsyncSession
) -> None:
    org = await announcements.organization(session, callback_data.organization_id)
    if org is None:
        await callback.answer(tc.STALE_BUTTON, show_alert=True)
        return
    await state.update_data(organization_id=org.id)
    await show_houses(callback, session, org, 0)
    await callback.answer()


async def on_houses_page(
    callback: CallbackQuery,
    callback_data: kb.AnnounceHousesPage,
    state: FSMContext,
    session: AsyncSession,
) -> None:
    org = await announcements.organization(session, (await draft_of(state)).organization_id)
    if org is None:
        await callback.answer(tc.STALE_BUTTON, show_alert=True)
        return
    await show_houses(callback, session, org, callback_data.page)
    await callback.answer()


def _scope_text(target: Target) -> str:
    if target.house is not None:
        return t.ANNOUNCE_SCOPE_HOUSE.format(address=fmt.esc(target.house.address))
    return t.ANNOUNCE_SCOPE_ORG.format(org=fmt.esc(target.organization.name))


async def on_house(
    callback: CallbackQuery,
    callback_data: kb.AnnounceHouse,
    state: FSMContext,
    session: AsyncSession,
) -> None:
    draft = await draft_of(state)
    target = await announcements.target(session, draft.organization_id, callback_data.house_id)
    if target is None:  # a forged or stale house (another organization's, or none)
        await callback.answer(tc.STALE_BUTTON, show_alert=True)
        return
    recipients = await announcements.count_recipients(session, target.scope)
    if not recipients:
        await callback.answer(t.ANNOUNCE_NO_RECIPIENTS, show_alert=True)
        return
    await state.update_data(house_id=callback_data.house_id)
    await state.set_state(AnnounceForm.text)
    text = t.ANNOUNCE_ASK_TEXT.format(
        scope=_scope_text(target),
        recipients=t.residents(recipients),
        limit=announcements.MAX_TEXT,
    )
    await edit_or_send(callback, text, kb.announce_cancel())
    await callback.answer()


async def on_text(message: Message, state: FSMContext, session: AsyncSession) -> None:
    text = message.text
    if not text or command_of(text) is not None:
        await message.answer(t.ANNOUNCE_HINT_TEXT)
        return
    if announcements.check_text(text) is TextProblem.TOO_LONG:
        limit = announcements.MAX_TEXT
        await message.answer(t.ANNOUNCE_TOO_LONG.format(length=len(text), limit=limit))
        return
    draft = await draft_of(state)
    target = await announcements.target(session, draft.organization_id, draft.house_id)
    if target is None:
        await state.clear()
        await message.answer(tc.STALE_BUTTON)
        return
    recipients = t.residents(await announcements.count_recipients(session, target.scope))
    await state.update_data(text=text)
    await state.set_state(AnnounceForm.confirm)
    await message.answer(t.ANNOUNCE_PREVIEW.format(recipients=recipients))
    await message.answer(announce.render(target.organization.name, text))
    await message.answer(
        t.ANNOUNCE_CONFIRM.format(scope=_scope_text(target), recipients=recipients),
        reply_markup=kb.announce_confirm(),
    )


async def on_cancel(callback: CallbackQuery, state: FSMContext) -> None:
    await state.clear()
    await edit_or_send(callback, t.ANNOUNCE_CANCELLED, None)
    await callback.answer()


async def on_send(
    callback: CallbackQuery,
    state: FSMContext,
    session: AsyncSession,
    bot: Bot,
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    draft = await draft_of(state)
    await state.clear()
    target = await announcements.target(session, draft.organization_id, draft.house_id)
    if target is None or announcements.check_text(draft.text) is not None:
        await callback.answer(tc.STALE_BUTTON, show_alert=True)
        return
    item = await announcements.create(
        session, target.scope, draft.text, created_by=callback.from_user.id
    )
    recipients = await announcements.count_recipients(session, target.scope)
    started = t.ANNOUNCE_STARTED.format(id=item.id, recipients=t.residents(recipients))
    await edit_or_send(callback, started, None)
    await callback.answer()
    admin_chat = callback.message.chat.id if callback.message else callback.from_user.id
    background.spawn(
        _run_and_report(bot, session_factory, settings, item.id, admin_chat), "announcement"
    )


async def on_house_search(message: Message, state: FSMContext, session: AsyncSession) -> None:
    """Typed text once an organization is chosen: its houses whose address contains it."""
    organization_id = (await draft_of(state)).organization_id
    query = (message.text or "").strip()
    if not organization_id or not query or command_of(query) is not None:
        await message.answer(t.ANNOUNCE_HINT_SCOPE)
        return
    found = await announcements.houses(session, organization_id, search=query)
    if not found.items:
        await message.answer(t.ANNOUNCE_HOUSE_NOT_FOUND)
        return
    await message.answer(
        t.ANNOUNCE_HOUSES_FOUND.format(n=len(found.items)),
        reply_markup=kb.houses(found.items, 0, 1),
    )


async def hint_confirm(message: Message) -> None:
    await message.answer(t.ANNOUNCE_HINT_CONFIRM)


# --- the run in the background ----------------------------------------------------------------------


async def announcements_finished() -> None:
    """Wait until every announcement started from the dialogue has been sent and reported."""
    await background.finished()


async def _run_and_report(
    bot: Bot,
    session_factory: async_sessionmaker[AsyncSession],
    settings: Settings,
    announcement_id: int,
    admin_chat: int,
) -> None:
    try:
        result = await announce.run(bot, session_factory, settings, announcement_id)
    except Exception:
        log.exception("announcement %s stopped", announcement_id)
        return
    report = t.ANNOUNCE_DONE.format(
        id=announcement_id, sent=result.sent, blocked=result.blocked, failed=result.failed
    )
    try:
        await bot.send_message(admin_chat, report)
    except TelegramAPIError:
        log.warning("announcement %s: could not report to the admin", announcement_id)
