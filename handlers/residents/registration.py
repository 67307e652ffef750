"""/start and registration: agreement, personal-data consent, phone, optional e-mail.

Nothing about a person is stored before both the agreement and the consent are accepted: the
answers wait in the dialogue state (which a decline clears) and `services.registration` stores the
person with the verified phone. The phone and e-mail steps are shared with the profile
(`handlers.residents.steps`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass

from aiogram import F, Router
from aiogram.filters import CommandObject, CommandStart, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message, ReplyKeyboardRemove
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from handlers.residents import household, steps
from handlers.ui import StepInput, drop_buttons, say
from keyboards import registration as kb
from keyboards.accounts import phone_offer, start_button
from keyboards.menu import main_menu
from keyboards.registration import EmailAction, RegAction, RegStep
from services import linking, registration
from services.phones import display_phone
from services.verification import mail_enabled
from storage.models import Resident, utcnow
from texts import fmt
from texts.ru import accounts as ta
from texts.ru import registration as t


class Registration(StatesGroup):
    agreement = State()
    consent = State()
    phone = State()
    email = State()
    code = State()


@dataclass(frozen=True)
class Answers:
    """The dialogue data before the person is stored: when each answer was given (ISO UTC)."""

    agreed_at: str = ""
    consent_at: str = ""

    @classmethod
    async def load(cls, state: FSMContext) -> Answers:
        data = await state.get_data()
        return cls(str(data.get("agreed_at") or ""), str(data.get("consent_at") or ""))


async def on_start(
    message: Message, command: CommandObject, state: FSMContext, session: AsyncSession,
    resident: Resident | None,
) -> None:  # fmt: skip
    if message.chat.type != "private":
        return
    await state.clear()
    if await household.invite_link(message, state, session, resident, command.args):
        return  # a registered resident opened an invite link: answered
    if resident is not None and resident.is_registered:
        await message.answer(t.WELCOME_BACK, reply_markup=main_menu())
        return
    await state.set_state(Registration.agreement)
    await message.answer(t.GREETING, reply_markup=ReplyKeyboardRemove())
    await message.answer(t.AGREEMENT_ASK, reply_markup=kb.agreement())


# --- agreement and consent ------------------------------------------------------------------------


async def on_read_agreement(callback: CallbackQuery) -> None:
    await callback.answer()
    await say(callback, t.AGREEMENT, kb.agreement(with_read=False))


def _operator_line(name: str, address: str) -> str:
    return f"{fmt.esc(name)}, {fmt.esc(address)}" if address else fmt.esc(name)


async def _operators(session: AsyncSession) -> str:
    """Who processes the data (152-ФЗ art. 9): each organization's name and address."""
    named, more = await registration.operators(session)
    if not named:
        return t.OPERATOR_UNKNOWN
    if len(named) == 1 and not more:
        return t.OPERATOR_ONE.format(line=_operator_line(*named[0]))
    lines = [t.OPERATORS_TITLE]
    lines.extend(t.OPERATOR_ITEM.format(line=_operator_line(*item)) for item in named)
    if more:
        lines.append(t.OPERATORS_MORE.format(count=fmt.count(more, *t.ORGANIZATION_FORMS)))
    return "\n".join(lines)


async def on_agree(callback: CallbackQuery, state: FSMContext, session: AsyncSession) -> None:
    await callback.answer()
    await drop_buttons(callback)
    await state.update_data(**asdict(Answers(agreed_at=utcnow().isoformat())))
    await state.set_state(Registration.consent)
    await say(callback, t.CONSENT_ASK.format(operators=await _operators(session)), kb.consent())


async def on_read_consent(callback: CallbackQuery, session: AsyncSession) -> None:
    await callback.answer()
    text = t.CONSENT.format(operators=await _operators(session))
    await say(callback, text, kb.consent(with_read=False))


async def on_consent(callback: CallbackQuery, state: FSMContext) -> None:
    await callback.answer()
    await drop_buttons(callback)
    answers = await Answers.load(state)
    consented = Answers(answers.agreed_at, consent_at=utcnow().isoformat())
    await state.update_data(**asdict(consented))
    await state.set_state(Registration.phone)
    await say(callback, t.PHONE_ASK, kb.share_phone())


async def on_decline(
    callback: CallbackQuery, state: FSMContext, session: AsyncSession, resident: Resident | None
) -> None:
    await callback.answer()
    await drop_buttons(callback)
    await state.clear()
    await registration.decline(session, resident)
    await say(callback, t.DECLINED, ReplyKeyboardRemove())


async def on_agreement_other(message: Message) -> None:
    await message.answer(t.STEP_HINT_AGREEMENT, reply_markup=kb.agreement())


async def on_consent_other(message: Message) -> None:
    await message.answer(t.STEP_HINT_CONSENT, reply_markup=kb.consent())


# --- phone ----------------------------------------------------------------------------------------


async def on_phone(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    settings: Settings,
    resident: Resident | None,
) -> None:
    phone = await steps.verified_phone(message)
    if phone is None:
        return
    answers = await Answers.load(state)
    if not answers.agreed_at or not answers.consent_at or message.from_user is None:
        # A state without both answers cannot come from this dialogue: start again.
        await _restart(message, state)
        return
    emailing = mail_enabled(settings)
    person = await registration.record_phone(
        session, resident, telegram_id=message.from_user.id, chat_id=message.chat.id,
        agreed_at=dt.datetime.fromisoformat(answers.agreed_at),
        consent_at=dt.datetime.fromisoformat(answers.consent_at),
        phone=phone, complete=not emailing, name=message.from_user.full_name,
    )  # fmt: skip
    if emailing:
        await state.set_state(Registration.email)
    else:
        await state.clear()
    text = t.PHONE_OK.format(phone=display_phone(person.phone))
    await message.answer(text, reply_markup=ReplyKeyboardRemove())
    if emailing:
        await _ask_email(message)
    else:
        await message.answer(t.EMAIL_UNAVAILABLE)
        await _done(message, state, session, person)


# --- e-mail ---------------------------------------------------------------------------------------


async def _email_confirmed(message: Message, turn: steps.EmailTurn, address: str) -> None:
    await registration.complete_registration(turn.session, turn.resident)
    await message.answer(t.EMAIL_CONFIRMED.format(email=fmt.esc(address)))
    await _done(message, turn.state, turn.session, turn.resident)


EMAIL = steps.EmailFlow(
    Registration.email, Registration.code, skippable=True, ask=t.EMAIL_ASK,
    confirmed=_email_confirmed,
)  # fmt: skip


async def on_skip(callback: CallbackQuery, turn: steps.EmailTurn) -> None:
    await callback.answer()
    if not isinstance(callback.message, Message):
        return
    await drop_buttons(callback)
    await turn.state.clear()
    await registration.skip_email(turn.session, turn.resident)
    await _done(callback.message, turn.state, turn.session, turn.resident)


async def on_lost(message: Message, state: FSMContext) -> None:
    """A step of the e-mail whose person is gone (deleted meanwhile): start again."""
    await _restart(message, state)


async def _ask_email(message: Message) -> None:
    await message.answer(EMAIL.ask, reply_markup=EMAIL.ask_markup())


async def _restart(message: Message, state: FSMContext) -> None:
    await state.set_state(Registration.agreement)
    await message.answer(t.AGREEMENT_ASK, reply_markup=kb.agreement())


async def _done(
    message: Message, state: FSMContext, session: AsyncSession, resident: Resident
) -> None:
    """The menu; then the invite the newcomer came with, else linking: in one tap each for the
    accounts the verified phone proves."""
    await message.answer(t.DONE, reply_markup=main_menu())
    if await household.apply_pending(message, state, session):
        return  # the invite the newcomer came with linked an account
    offers = await linking.phone_offers(session, resident)
    if offers:
        await message.answer(ta.PHONE_OFFER, reply_markup=phone_offer(offers))
        return
    await message.answer(t.OFFER_LINK, reply_markup=start_button(t.BTN_LINK_FIRST))


def _pressed(action: RegAction):
    return RegStep.filter(F.action == action)


def router() -> Router:
    r = Router(name="registration")
    r.message.register(on_start, CommandStart())
    agreement, consent = StateFilter(Registration.agreement), StateFilter(Registration.consent)
    r.callback_query.register(on_read_agreement, _pressed(RegAction.READ_AGREEMENT), agreement)
    r.callback_query.register(on_agree, _pressed(RegAction.AGREE), agreement)
    r.callback_query.register(on_decline, _pressed(RegAction.DECLINE), agreement)
    r.callback_query.register(on_read_consent, _pressed(RegAction.READ_CONSENT), consent)
    r.callback_query.register(on_consent, _pressed(RegAction.CONSENT), consent)
    r.callback_query.register(on_decline, _pressed(RegAction.NO_CONSENT), consent)
    r.message.register(on_agreement_other, agreement, StepInput())
    r.message.register(on_consent_other, consent, StepInput())
    r.message.register(on_phone, StateFilter(Registration.phone), StepInput())
    r.callback_query.register(on_skip, steps.pressed(EmailAction.SKIP), steps.InEmailStep(EMAIL))
    steps.register_email_step(r, EMAIL)
    r.message.register(on_lost, StateFilter(Registration.email, Registration.code), StepInput())
    return r
