"""/start and registration: agreement, personal-data consent, phone, optional e-mail.

Nothing about a person is stored before both the agreement and the consent are accepted: the
`Resident` row is created when the phone is verified, and the earlier answers wait in the
dialogue state (which a decline clears). The e-mail step (and its code check) is shared with the
profile through `ask_email`, `submit_email`, `resend_code`, `check_code`.
"""

from __future__ import annotations

import datetime as dt
import logging

from aiogram import Router
from aiogram.filters import CommandStart, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message, ReplyKeyboardRemove
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.ui import PlainText, StepInput, drop_buttons, say
from keyboards import registration as kb
from keyboards.accounts import start_button
from keyboards.menu import main_menu
from keyboards.registration import EmailStep, RegStep
from receipts.mail import MailError, mail_enabled, send_mail
from receipts.mail import SettingsLike as Settings
from services.phones import display_phone, normalize_phone
from storage.models import Resident, utcnow
from storage.repo import email as emails
from storage.repo import residents
from texts import fmt
from texts.fmt import local_time
from texts.ru import registration as t

log = logging.getLogger(__name__)


class Registration(StatesGroup):
    agreement = State()
    consent = State()
    phone = State()
    email = State()
    code = State()


def _secret(settings: Settings) -> bytes:
    token = settings.bot_token.get_secret_value() if settings.bot_token else ""  # type: ignore[attr-defined]
    return f"email-code:{token}".encode()


# --- the phone, shared with the profile's re-verification ---------------------------------------


async def verified_phone(message: Message) -> tuple[str | None, str | None]:
    """(E.164 phone, None) for the sender's own shared contact, else (None, the refusal)."""
    contact = message.contact
    if contact is None:
        text = message.text or ""
        typed = sum(ch.isdigit() for ch in text) >= 5 and not text.startswith("/")
        return None, t.PHONE_TYPED if typed else t.PHONE_HINT
    if message.forward_origin is not None:
        return None, t.PHONE_FORWARDED
    if message.from_user is None or contact.user_id != message.from_user.id:
        return None, t.PHONE_FOREIGN
    phone = normalize_phone(contact.phone_number)
    if phone is None:
        return None, t.PHONE_INVALID
    return phone, None


# --- the e-mail step, shared with the profile ---------------------------------------------------


async def ask_email(message: Message, *, skippable: bool) -> None:
    await message.answer(t.EMAIL_ASK, reply_markup=kb.email_ask(skippable=skippable))


async def _send_code(
    message: Message,
    session: AsyncSession,
    settings: Settings,
    state: FSMContext,
    resident: Resident,
    address: str,
    *,
    skippable: bool,
    code_state: State,
) -> bool:
    if await emails.taken_by_other(session, address, resident.id):
        await message.answer(t.EMAIL_TAKEN, reply_markup=kb.email_ask(skippable=skippable))
        return False
    wait = await emails.next_code_at(session, resident.id)
    if wait is not None:
        await message.answer(
            t.EMAIL_TOO_MANY_CODES.format(time=local_time(wait, settings.default_timezone)),
            reply_markup=kb.email_ask(skippable=skippable),
        )
        return False
    code = emails.new_code()
    try:
        await send_mail(settings, address, t.MAIL_SUBJECT, t.MAIL_TEXT.format(code=code))
    except MailError:
        await message.answer(t.EMAIL_SEND_FAILED, reply_markup=kb.email_ask(skippable=skippable))
        return False
    # Dialogue state first: it lives on its own connection, the update's transaction comes after.
    await state.set_state(code_state)
    await state.update_data(email=address)
    await emails.issue(session, resident.id, address, code, _secret(settings))
    await message.answer(
        t.EMAIL_SENT.format(email=fmt.esc(address)),
        reply_markup=kb.email_code(skippable=skippable),
    )
    return True


async def submit_email(
    message: Message,
    session: AsyncSession,
    settings: Settings,
    state: FSMContext,
    resident: Resident,
    *,
    skippable: bool,
    code_state: State,
) -> None:
    address = emails.normalize(message.text or "")
    if address is None:
        await message.answer(
            t.EMAIL_INVALID if skippable else t.EMAIL_INVALID_PROFILE,
            reply_markup=kb.email_ask(skippable=skippable),
        )
        return
    await _send_code(
        message, session, settings, state, resident, address,
        skippable=skippable, code_state=code_state,
    )  # fmt: skip


async def resend_code(
    callback: CallbackQuery,
    session: AsyncSession,
    settings: Settings,
    state: FSMContext,
    resident: Resident,
    *,
    skippable: bool,
    code_state: State,
) -> None:
    await callback.answer()
    address = (await state.get_data()).get("email")
    if not isinstance(address, str) or not isinstance(callback.message, Message):
        return
    await _send_code(
        callback.message, session, settings, state, resident, address,
        skippable=skippable, code_state=code_state,
    )  # fmt: skip


async def check_code(
    message: Message,
    session: AsyncSession,
    settings: Settings,
    state: FSMContext,
    resident: Resident,
    *,
    skippable: bool,
    email_state: State,
    code_state: State,
) -> str | None:
    """The confirmed address, or None after telling the resident what went wrong. An address
    typed instead of a code is taken as a new address."""
    typed = "".join((message.text or "").split())
    keyboard = kb.email_code(skippable=skippable)
    if "@" in typed and message.text and not message.text.startswith("/"):
        await submit_email(
            message, session, settings, state, resident, skippable=skippable, code_state=code_state
        )
        return None
    if len(typed) != 6 or not typed.isdigit():
        await message.answer(t.CODE_HINT, reply_markup=keyboard)
        return None
    had_email = resident.email is not None
    verdict = await emails.confirm(session, resident, typed, _secret(settings))
    match verdict.outcome:
        case emails.Outcome.CONFIRMED:
            if not had_email:
                resident.push_email = True  # they gave the address to get receipts by mail
            return verdict.email
        case emails.Outcome.WRONG:
            left = fmt.plural(verdict.attempts_left, *t.CODE_ATTEMPTS_LEFT)
            await message.answer(
                t.CODE_WRONG.format(left=left.format(n=verdict.attempts_left)),
                reply_markup=keyboard,
            )
        case emails.Outcome.EXPIRED:
            await message.answer(t.CODE_EXPIRED, reply_markup=keyboard)
        case emails.Outcome.TOO_MANY:
            await message.answer(t.CODE_TOO_MANY, reply_markup=keyboard)
        case emails.Outcome.TAKEN:
            await session.commit()
            await state.set_state(email_state)
            await message.answer(t.EMAIL_TAKEN, reply_markup=kb.email_ask(skippable=skippable))
        case emails.Outcome.NO_CODE:
            await session.commit()
            await state.set_state(email_state)
            await message.answer(t.CODE_NO_CODE, reply_markup=kb.email_ask(skippable=skippable))
    return None


# --- the router -----------------------------------------------------------------------------------


def router() -> Router:
    r = Router(name="registration")

    @r.message(CommandStart())
    async def on_start(message: Message, state: FSMContext, resident: Resident | None) -> None:
        if message.chat.type != "private":
            return
        await state.clear()
        if resident is not None and resident.is_registered:
            await message.answer(t.WELCOME_BACK, reply_markup=main_menu())
            return
        await state.set_state(Registration.agreement)
        await message.answer(t.GREETING, reply_markup=ReplyKeyboardRemove())
        await message.answer(t.AGREEMENT_ASK, reply_markup=kb.agreement())

    # -- agreement and consent --------------------------------------------------------------------

    @r.callback_query(RegStep.filter(), StateFilter(Registration.agreement))
    async def on_agreement(
        callback: CallbackQuery,
        callback_data: RegStep,
        state: FSMContext,
        session: AsyncSession,
        resident: Resident | None,
    ) -> None:
        await callback.answer()
        match callback_data.action:
            case "read_agreement":
                await say(callback, t.AGREEMENT, kb.agreement(with_read=False))
            case "agree":
                await drop_buttons(callback)
                await state.update_data(agreed_at=utcnow().isoformat())
                await state.set_state(Registration.consent)
                await say(callback, t.CONSENT_ASK, kb.consent())
            case "decline":
                await drop_buttons(callback)
                await _decline(callback, state, session, resident)

    @r.callback_query(RegStep.filter(), StateFilter(Registration.consent))
    async def on_consent(
        callback: CallbackQuery,
        callback_data: RegStep,
        state: FSMContext,
        session: AsyncSession,
        resident: Resident | None,
    ) -> None:
        await callback.answer()
        match callback_data.action:
            case "read_consent":
                await say(callback, t.CONSENT, kb.consent(with_read=False))
            case "consent":
                await drop_buttons(callback)
                await state.update_data(consent_at=utcnow().isoformat())
                await state.set_state(Registration.phone)
                await say(callback, t.PHONE_ASK, kb.share_phone())
            case "no_consent":
                await drop_buttons(callback)
                await _decline(callback, state, session, resident)

    @r.message(StateFilter(Registration.agreement), StepInput())
    async def on_agreement_other(message: Message) -> None:
        await message.answer(t.STEP_HINT_AGREEMENT, reply_markup=kb.agreement())

    @r.message(StateFilter(Registration.consent), StepInput())
    async def on_consent_other(message: Message) -> None:
        await message.answer(t.STEP_HINT_CONSENT, reply_markup=kb.consent())

    # -- phone ------------------------------------------------------------------------------------

    @r.message(StateFilter(Registration.phone), StepInput())
    async def on_phone(
        message: Message,
        state: FSMContext,
        session: AsyncSession,
        settings: Settings,
        resident: Resident | None,
    ) -> None:
        phone, refusal = await verified_phone(message)
        if phone is None:
            await message.answer(refusal or t.PHONE_HINT, reply_markup=kb.share_phone())
            return
        data = await state.get_data()
        if not data.get("agreed_at") or not data.get("consent_at"):
            # A state without both answers cannot come from this dialogue: start again.
            await state.set_state(Registration.agreement)
            await message.answer(t.AGREEMENT_ASK, reply_markup=kb.agreement())
            return
        emailing = mail_enabled(settings)
        if emailing:
            await state.set_state(Registration.email)
        else:
            await state.clear()
        person = resident or await residents.get_or_create(
            session, message.from_user.id, message.chat.id
        )
        now = utcnow()
        person.chat_id = message.chat.id
        person.agreed_at = dt.datetime.fromisoformat(data["agreed_at"])
        person.consent_at = dt.datetime.fromisoformat(data["consent_at"])
        person.phone = phone
        person.phone_verified_at = now
        await session.flush()
        await message.answer(
            t.PHONE_OK.format(phone=display_phone(phone)), reply_markup=ReplyKeyboardRemove()
        )
        if emailing:
            await ask_email(message, skippable=True)
        else:
            await message.answer(t.EMAIL_UNAVAILABLE)
            await _finish(message, session, person)

    # -- e-mail -----------------------------------------------------------------------------------

    @r.message(StateFilter(Registration.email), StepInput(), PlainText())
    async def on_email(
        message: Message,
        state: FSMContext,
        session: AsyncSession,
        settings: Settings,
        resident: Resident | None,
    ) -> None:
        if resident is None:
            await _restart(message, state)
            return
        await submit_email(
            message, session, settings, state, resident,
            skippable=True, code_state=Registration.code,
        )  # fmt: skip

    @r.message(StateFilter(Registration.email), StepInput())
    async def on_email_other(message: Message) -> None:
        await message.answer(t.EMAIL_INVALID, reply_markup=kb.email_ask(skippable=True))

    @r.message(StateFilter(Registration.code), StepInput())
    async def on_code(
        message: Message,
        state: FSMContext,
        session: AsyncSession,
        settings: Settings,
        resident: Resident | None,
    ) -> None:
        if resident is None:
            await _restart(message, state)
            return
        address = await check_code(
            message, session, settings, state, resident,
            skippable=True, email_state=Registration.email, code_state=Registration.code,
        )  # fmt: skip
        if address is None:
            return
        await session.commit()
        await state.clear()
        await message.answer(t.EMAIL_CONFIRMED.format(email=fmt.esc(address)))
        await _finish(message, session, resident)

    @r.callback_query(EmailStep.filter(), StateFilter(Registration.email, Registration.code))
    async def on_email_button(
        callback: CallbackQuery,
        callback_data: EmailStep,
        state: FSMContext,
        session: AsyncSession,
        settings: Settings,
        resident: Resident | None,
    ) -> None:
        if resident is None or not isinstance(callback.message, Message):
            await callback.answer()
            return
        match callback_data.action:
            case "skip":
                await callback.answer()
                await drop_buttons(callback)
                await state.clear()
                await emails.drop_pending(session, resident.id)
                await _finish(callback.message, session, resident)
            case "resend":
                await resend_code(
                    callback, session, settings, state, resident,
                    skippable=True, code_state=Registration.code,
                )  # fmt: skip
            case "other":
                await callback.answer()
                await state.set_state(Registration.email)
                await ask_email(callback.message, skippable=True)
            case _:
                await callback.answer()

    return r


async def _decline(
    callback: CallbackQuery, state: FSMContext, session: AsyncSession, resident: Resident | None
) -> None:
    await state.clear()
    if resident is not None and not resident.is_registered:
        # An earlier, unfinished registration: a declined consent leaves nothing behind.
        await residents.erase(session, resident)
    await say(callback, t.DECLINED, ReplyKeyboardRemove())


async def _restart(message: Message, state: FSMContext) -> None:
    await state.set_state(Registration.agreement)
    await message.answer(t.AGREEMENT_ASK, reply_markup=kb.agreement())


async def _finish(message: Message, session: AsyncSession, resident: Resident) -> None:
    resident.registered_at = utcnow()
    await session.flush()
    log.info("resident %s registered", resident.id)
    await message.answer(t.DONE, reply_markup=main_menu())
    await message.answer(t.OFFER_LINK, reply_markup=start_button(t.BTN_LINK_FIRST))
