"""«Не нашли свой счёт?»: an appeal to an organization without a linked account. From every
linking step and every "no linked account" screen: organization (unless the step knew it) →
the address as the resident describes it → the text → sent (and posted to the operators)."""

from __future__ import annotations

from aiogram import Bot, Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from handlers.posting import TelegramOperatorsChat
from handlers.ui import StepInput, edit_or_send
from keyboards import appeals as kb
from keyboards.accounts import paged
from keyboards.callbacks import NotFound
from services import appeals as service
from services import linking
from services.appeals import Refusal, TextProblem, Unlinked
from storage.models import Resident
from texts import fmt
from texts.ru import appeals as t
from texts.ru import common as tc


class UnlinkedForm(StatesGroup):
    address = State()
    text = State()


def register(r: Router) -> None:
    r.callback_query.register(on_not_found, NotFound.filter())
    r.message.register(on_address, StateFilter(UnlinkedForm.address), StepInput())
    r.message.register(on_text, StateFilter(UnlinkedForm.text), StepInput())


async def on_not_found(
    callback: CallbackQuery, callback_data: NotFound, state: FSMContext, session: AsyncSession
) -> None:
    """Leaves whatever dialogue was on (linking), then asks for the organization or the address."""
    if callback_data.org_id == 0:
        found = await linking.organizations(session, callback_data.page)
        if len(found.items) != 1 or found.pages > 1:
            await callback.answer()
            await state.clear()
            items = [(org.name, NotFound(org_id=org.id)) for org in found.items]
            markup = paged(items, page=found.page, pages=found.pages, page_data=NotFound)
            text = t.UNLINKED_CHOOSE_ORG if found.items else t.UNLINKED_NO_ORGS
            await edit_or_send(callback, text, markup)
            return
        org = found.items[0]  # one organization: nothing to choose
    else:
        org = await service.organization(session, callback_data.org_id)
        if org is None:
            await callback.answer(tc.STALE_BUTTON, show_alert=True)
            return
    await callback.answer()
    await state.clear()
    await state.set_state(UnlinkedForm.address)
    await state.set_data({"org_id": org.id, "org": org.name})
    text = t.UNLINKED_ASK_ADDRESS.format(org=fmt.esc(org.name))
    await edit_or_send(callback, text, kb.text_step())


async def on_address(message: Message, state: FSMContext) -> None:
    address = (message.text or "").strip()
    problem = service.check_address(address) if message.text else TextProblem.EMPTY
    if problem is TextProblem.TOO_LONG:
        await message.answer(t.UNLINKED_ADDRESS_TOO_LONG.format(limit=service.MAX_ADDRESS))
        return
    if problem is not None:
        await message.answer(t.UNLINKED_ADDRESS_HINT)
        return
    await state.update_data(address=address)
    await state.set_state(UnlinkedForm.text)
    text = t.UNLINKED_ASK_TEXT.format(address=fmt.esc(address), limit=service.MAX_TEXT)
    await message.answer(text, reply_markup=kb.text_step())


async def on_text(
    message: Message, state: FSMContext, session: AsyncSession, resident: Resident, bot: Bot,
    settings: Settings,
) -> None:  # fmt: skip
    text = message.text or ""
    problem = service.check_text(text) if message.text else TextProblem.EMPTY
    if problem is TextProblem.TOO_LONG:
        await message.answer(t.TEXT_TOO_LONG.format(length=len(text), limit=service.MAX_TEXT))
        return
    if problem is not None:
        await message.answer(t.HINT_TEXT)
        return
    data = await state.get_data()
    await state.clear()
    draft = Unlinked(org_id=int(data.get("org_id") or 0), address=str(data.get("address") or ""))
    appeal = await service.create_unlinked(session, resident.id, draft, text)
    if isinstance(appeal, Refusal):
        await message.answer(tc.STALE_BUTTON)
        return
    org = fmt.esc(data.get("org") or "")
    sent = t.UNLINKED_SENT.format(id=appeal.id, org=org)
    if appeal.answer_due is not None:
        sent += "\n" + t.answer_by(appeal.answer_due)
    await message.answer(sent, reply_markup=kb.answer_received(appeal.id))
    await service.post(session, TelegramOperatorsChat(bot, settings.operators_chat_id), appeal.id)
