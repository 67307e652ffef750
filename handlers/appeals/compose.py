"""Writing an appeal: account → topic → text → photos → confirm → sent (and posted)."""

from __future__ import annotations

from dataclasses import asdict

from aiogram import Bot, F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from handlers.appeals.albums import Album, albums
from handlers.appeals.unlinked import UnlinkedForm
from handlers.filters import TextIs
from handlers.posting import TelegramOperatorsChat
from handlers.ui import HasPhoto, StepInput, command_of, edit_or_send
from keyboards import appeals as kb
from keyboards.accounts import no_accounts
from keyboards.appeals import StepAction
from keyboards.callbacks import NewAppeal
from services import appeals as service
from services.appeals import Draft, Refusal, Status, TextProblem, Topic
from storage.models import Account, Organization, Resident
from texts import fmt
from texts.ru import appeals as t
from texts.ru import common as tc


class AppealForm(StatesGroup):
    account = State()
    topic = State()
    text = State()
    photos = State()
    confirm = State()


def register(r: Router) -> None:
    r.message.register(on_menu, TextIs(tc.BTN_APPEALS))
    r.message.register(on_menu, Command("appeals"))
    step = kb.AppealStep.filter
    r.callback_query.register(on_new, step(F.action == StepAction.NEW))
    r.callback_query.register(on_cancel, step(F.action == StepAction.CANCEL))
    r.callback_query.register(
        on_photos_done, StateFilter(AppealForm.photos), step(F.action == StepAction.DONE)
    )
    r.callback_query.register(
        on_send, StateFilter(AppealForm.confirm), step(F.action == StepAction.SEND)
    )
    r.callback_query.register(on_stale_step, step())
    r.callback_query.register(on_new_for_account, NewAppeal.filter())
    r.callback_query.register(
        on_account, StateFilter(AppealForm.account), kb.AppealAccount.filter()
    )
    r.callback_query.register(on_topic, StateFilter(AppealForm.topic), kb.AppealTopic.filter())
    r.message.register(on_text, StateFilter(AppealForm.text), StepInput())
    r.message.register(on_photo, StateFilter(AppealForm.photos), HasPhoto())
    r.message.register(hint_account, StateFilter(AppealForm.account), StepInput())
    r.message.register(hint_topic, StateFilter(AppealForm.topic), StepInput())
    r.message.register(hint_photos, StateFilter(AppealForm.photos), StepInput())
    r.message.register(hint_confirm, StateFilter(AppealForm.confirm), StepInput())


async def draft_of(state: FSMContext) -> Draft:
    data = await state.get_data()
    return Draft(**{k: v for k, v in data.items() if k in Draft.__annotations__})


def text_problem(text: str) -> str | None:
    problem = service.check_text(text)
    if problem is TextProblem.EMPTY:
        return t.TEXT_EMPTY
    if problem is TextProblem.TOO_LONG:
        return t.TEXT_TOO_LONG.format(length=len(text), limit=service.MAX_TEXT)
    return None


def largest_photo(message: Message) -> str | None:
    return message.photo[-1].file_id if message.photo else None


# --- starting: which account, which topic --------------------------------------------------------


async def ask_topic(
    event: Message | CallbackQuery, state: FSMContext, session: AsyncSession,
    resident: Resident, account: Account,
) -> None:  # fmt: skip
    await state.set_state(AppealForm.topic)
    await state.set_data(asdict(Draft(account_id=account.id, number=account.number)))
    text = t.CHOOSE_TOPIC.format(number=fmt.esc(account.number))
    markup = kb.choose_topic(await service.has_appeals(session, resident.id))
    await edit_or_send(event, text, markup)


async def start(
    event: Message | CallbackQuery, state: FSMContext, session: AsyncSession, resident: Resident
) -> None:
    accounts = await service.accounts_of(session, resident.id)
    if not accounts:
        await state.clear()
        await edit_or_send(event, f"{tc.NO_ACCOUNTS}\n\n{t.NO_ACCOUNT_HINT}", no_accounts())
        return
    if len(accounts) == 1:
        await ask_topic(event, state, session, resident, accounts[0])
        return
    await state.set_state(AppealForm.account)
    await state.set_data({})
    markup = kb.choose_account(accounts, await service.has_appeals(session, resident.id))
    await edit_or_send(event, t.CHOOSE_ACCOUNT, markup)


async def on_menu(
    message: Message, state: FSMContext, session: AsyncSession, resident: Resident
) -> None:
    await start(message, state, session, resident)


async def on_new(
    callback: CallbackQuery, state: FSMContext, session: AsyncSession, resident: Resident
) -> None:
    await callback.answer()
    if callback.message is not None:
        await start(callback.message, state, session, resident)  # type: ignore[arg-type]


async def on_new_for_account(
    callback: CallbackQuery, account: Account, state: FSMContext, session: AsyncSession,
    resident: Resident,
) -> None:  # fmt: skip
    """«Новое обращение» on the account card or a list about one account (authorized by access)."""
    await callback.answer()
    if callback.message is not None:
        await ask_topic(callback.message, state, session, resident, account)  # type: ignore[arg-type]


async def on_account(
    callback: CallbackQuery, account: Account, state: FSMContext, session: AsyncSession,
    resident: Resident,
) -> None:  # fmt: skip
    await callback.answer()
    await ask_topic(callback, state, session, resident, account)


def emergency_call(org: Organization | None) -> str:
    """Whom to call right now: the dispatch phone, else the office's, else 104/112."""
    name = fmt.esc(org.name) if org is not None else ""
    if org is not None and org.emergency_phone:
        return t.EMERGENCY_CALL.format(org=name, phone=fmt.esc(org.emergency_phone))
    if org is not None and org.phone:
        return t.EMERGENCY_CALL_OFFICE.format(org=name, phone=fmt.esc(org.phone))
    return t.EMERGENCY_CALL_NONE


async def on_topic(
    callback: CallbackQuery, callback_data: kb.AppealTopic, state: FSMContext,
    session: AsyncSession, resident: Resident,
) -> None:  # fmt: skip
    """The text step; an emergency first shows the phone to call at once."""
    await state.update_data(topic=callback_data.topic, photos=[])
    await state.set_state(AppealForm.text)
    text = t.ASK_TEXT.format(topic=t.TOPICS[callback_data.topic], limit=service.MAX_TEXT)
    if callback_data.topic == Topic.EMERGENCY:
        draft = await draft_of(state)
        org = await service.emergency_contacts(session, resident.id, draft.account_id)
        text = f"{emergency_call(org)}\n\n{t.EMERGENCY_THEN_WRITE}\n\n{text}"
    await edit_or_send(callback, text, kb.text_step())
    await callback.answer()


async def on_cancel(callback: CallbackQuery, state: FSMContext) -> None:
    current = await state.get_state()
    if current in AppealForm or current in UnlinkedForm:
        await state.clear()
    await edit_or_send(callback, t.NOT_SENT, None)
    await callback.answer()


async def on_stale_step(callback: CallbackQuery) -> None:
    await callback.answer(tc.STALE_BUTTON, show_alert=True)


# --- the text and the photos ------------------------------------------------------------------------


async def add_photo(message: Message, state: FSMContext, **values: str) -> tuple[int, bool]:
    """Add the message's photo (if any) and `values` to the draft: (photos now, did not fit)."""
    draft = await draft_of(state)
    photo = largest_photo(message)
    full = photo is not None and len(draft.photos) >= service.MAX_PHOTOS
    if photo is not None and not full:
        draft.photos.append(photo)
    await state.update_data(photos=draft.photos, **values)
    return len(draft.photos), full


def photos_answer(count: int, *, started: bool, full: bool) -> str:
    limit = service.MAX_PHOTOS
    if full:
        return t.PHOTOS_FULL.format(limit=limit)
    if started:  # the text came: the photos step begins
        note = (t.PHOTO_ADDED.format(n=count, limit=limit) + "\n") if count else ""
        return note + t.ASK_PHOTOS.format(limit=limit)
    return t.PHOTO_ADDED.format(n=count, limit=limit)


async def answer_album(bot: Bot, chat_id: int, state: FSMContext, album: Album) -> None:
    """The one answer to an album, once all its parts are stored (see `albums`)."""
    current = await state.get_state()
    if current == AppealForm.text.state:  # photos without the text: still awaited
        await bot.send_message(chat_id, t.HINT_TEXT)
    elif current == AppealForm.photos.state:
        count = len((await draft_of(state)).photos)
        text = photos_answer(count, started=album.started_photos, full=album.full)
        await bot.send_message(chat_id, text, reply_markup=kb.photos_step(count))


async def after_photo(
    message: Message, bot: Bot, state: FSMContext, count: int, *, started: bool, full: bool
) -> None:
    """Answer a single photo now; an album's part only once the album is whole."""
    group = message.media_group_id
    if group is None:
        text = photos_answer(count, started=started, full=full)
        await message.answer(text, reply_markup=kb.photos_step(count))
        return
    chat_id = message.chat.id

    async def answer(album: Album) -> None:
        await answer_album(bot, chat_id, state, album)

    albums.part(chat_id, group, answer, started_photos=started, full=full)


async def on_text(message: Message, bot: Bot, state: FSMContext) -> None:
    text = message.text or message.caption
    if text is None or command_of(message.text) is not None:
        if message.photo and message.media_group_id is not None:
            # an album's photo without the caption: kept, the text awaited (one answer per album)
            count, full = await add_photo(message, state)
            await after_photo(message, bot, state, count, started=False, full=full)
            return
        await message.answer(t.HINT_TEXT)
        return
    problem = text_problem(text)
    if problem:
        await message.answer(problem)
        return
    count, full = await add_photo(message, state, text=text)
    await state.set_state(AppealForm.photos)
    await after_photo(message, bot, state, count, started=True, full=full)


async def on_photo(message: Message, bot: Bot, state: FSMContext) -> None:
    count, full = await add_photo(message, state)
    await after_photo(message, bot, state, count, started=False, full=full)


# --- confirming and sending -------------------------------------------------------------------------


async def on_photos_done(callback: CallbackQuery, state: FSMContext) -> None:
    draft = await draft_of(state)
    await state.set_state(AppealForm.confirm)
    photos = (
        fmt.count(len(draft.photos), "фотография", "фотографии", "фотографий")
        if draft.photos
        else t.PHOTOS_NONE
    )
    text = t.CONFIRM.format(
        number=fmt.esc(draft.number),
        topic=t.TOPICS.get(draft.topic, ""),
        photos=photos,
        text=fmt.esc(draft.text),
    )
    await edit_or_send(callback, text, kb.confirm())
    await callback.answer()


async def on_send(
    callback: CallbackQuery, state: FSMContext, session: AsyncSession, resident: Resident,
    bot: Bot, settings: Settings,
) -> None:  # fmt: skip
    """Store the appeal, tell the resident, post it. A double tap's second update finds the
    dialogue over (one chat's updates are handled one at a time) and gets the stale answer."""
    draft = await draft_of(state)
    await state.clear()
    appeal = await service.create(session, resident.id, draft)
    if isinstance(appeal, Refusal):
        refused = (
            tc.ACCOUNT_NOT_AVAILABLE if appeal is Refusal.ACCOUNT_NOT_AVAILABLE else tc.STALE_BUTTON
        )
        await callback.answer(refused, show_alert=True)
        return
    sent = t.SENT.format(id=appeal.id, status=t.STATUSES[Status.NEW])
    if appeal.answer_due is not None:
        sent += "\n" + t.answer_by(appeal.answer_due)
    await edit_or_send(callback, sent, kb.answer_received(appeal.id))
    await callback.answer()
    await service.post(session, TelegramOperatorsChat(bot, settings.operators_chat_id), appeal.id)


# --- every state says what it expects ----------------------------------------------------------------


async def hint_account(message: Message) -> None:
    await message.answer(t.HINT_ACCOUNT)


async def hint_topic(message: Message) -> None:
    await message.answer(t.HINT_TOPIC)


async def hint_photos(message: Message, state: FSMContext) -> None:
    photos = (await draft_of(state)).photos
    await message.answer(t.HINT_PHOTOS, reply_markup=kb.photos_step(len(photos)))


async def hint_confirm(message: Message) -> None:
    await message.answer(t.HINT_CONFIRM)
