"""The phone and e-mail steps as the resident sees them, shared by registration and the profile.

Not a feature (no router of its own): both dialogues call these to ask and to answer, and
`services.verification` decides. The step's states come from the calling dialogue.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from aiogram import F
from aiogram.filters.callback_data import CallbackQueryFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State
from aiogram.types import CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from keyboards import registration as kb
from keyboards.registration import EmailAction, EmailStep
from services import verification
from services.verification import CheckResult, CodeCheck, CodeSent, PhoneCheck, SharedContact
from storage.models import Resident
from texts import fmt
from texts.ru import registration as t

PHONE_REFUSALS = {
    PhoneCheck.NO_CONTACT: t.PHONE_HINT,
    PhoneCheck.TYPED: t.PHONE_TYPED,
    PhoneCheck.FORWARDED: t.PHONE_FORWARDED,
    PhoneCheck.FOREIGN: t.PHONE_FOREIGN,
    PhoneCheck.INVALID: t.PHONE_INVALID,
}


def shared_contact(message: Message) -> SharedContact:
    contact = message.contact
    return SharedContact(
        sender_id=message.from_user.id if message.from_user else None,
        text=message.text,
        phone=contact.phone_number if contact else None,
        contact_user_id=contact.user_id if contact else None,
        forwarded=message.forward_origin is not None,
    )


async def verified_phone(message: Message) -> str | None:
    """The sender's own phone (E.164), or None after telling them why it does not count and
    offering the button again."""
    phone, check = verification.verify_phone(shared_contact(message))
    if phone is None:
        await message.answer(PHONE_REFUSALS[check], reply_markup=kb.share_phone())
    return phone


# --- the e-mail code ----------------------------------------------------------------------------


def pressed(action: EmailAction) -> CallbackQueryFilter:
    """The filter of one button of the e-mail step."""
    return EmailStep.filter(F.action == action)


@dataclass(frozen=True)
class PendingEmail:
    """The dialogue data of the code step: where the code went."""

    email: str = ""


async def submit_email(
    message: Message,
    session: AsyncSession,
    settings: Settings,
    state: FSMContext,
    resident: Resident,
    *,
    code_state: State,
    skippable: bool,
    typed: str | None = None,
) -> None:
    """Send a code to the address typed (or `typed`, on a resend) and move to `code_state`."""
    sent = await verification.send_code(session, settings, resident, typed or message.text or "")
    ask = kb.email_ask(skippable=skippable)
    match sent.outcome:
        case CodeSent.SENT:
            await state.set_state(code_state)
            await state.update_data(**asdict(PendingEmail(sent.address)))
            text = t.EMAIL_SENT.format(email=fmt.esc(sent.address))
            await message.answer(text, reply_markup=kb.email_code(skippable=skippable))
        case CodeSent.INVALID:
            text = t.EMAIL_INVALID if skippable else t.EMAIL_INVALID_PROFILE
            await message.answer(text, reply_markup=ask)
        case CodeSent.TAKEN:
            await message.answer(t.EMAIL_TAKEN, reply_markup=ask)
        case CodeSent.TOO_MANY:
            time = fmt.local_time(sent.retry_at, settings.default_timezone)  # type: ignore[arg-type]
            await message.answer(t.EMAIL_TOO_MANY_CODES.format(time=time), reply_markup=ask)
        case CodeSent.FAILED:
            await message.answer(t.EMAIL_SEND_FAILED, reply_markup=ask)


async def resend_code(
    callback: CallbackQuery,
    session: AsyncSession,
    settings: Settings,
    state: FSMContext,
    resident: Resident,
    *,
    code_state: State,
    skippable: bool,
) -> None:
    await callback.answer()
    pending = PendingEmail(email=str((await state.get_data()).get("email", "")))
    if not pending.email or not isinstance(callback.message, Message):
        return
    await submit_email(
        callback.message, session, settings, state, resident,
        code_state=code_state, skippable=skippable, typed=pending.email,
    )  # fmt: skip


_CODE_REPLIES = {
    CodeCheck.NOT_A_CODE: t.CODE_HINT,
    CodeCheck.EXPIRED: t.CODE_EXPIRED,
    CodeCheck.TOO_MANY: t.CODE_TOO_MANY,
}


async def check_code(
    message: Message,
    session: AsyncSession,
    settings: Settings,
    state: FSMContext,
    resident: Resident,
    *,
    email_state: State,
    code_state: State,
    skippable: bool,
) -> str | None:
    """The confirmed address, or None after telling the resident what went wrong. An address
    typed instead of a code is taken as a new address."""
    result = await verification.check_code(session, settings, resident, message.text or "")
    if result.outcome is CodeCheck.CONFIRMED:
        return result.address
    if result.outcome is CodeCheck.AN_ADDRESS:
        await submit_email(
            message, session, settings, state, resident,
            code_state=code_state, skippable=skippable,
        )  # fmt: skip
        return None
    if result.outcome in (CodeCheck.TAKEN, CodeCheck.NO_CODE):
        await state.set_state(email_state)
        text = t.EMAIL_TAKEN if result.outcome is CodeCheck.TAKEN else t.CODE_NO_CODE
        await message.answer(text, reply_markup=kb.email_ask(skippable=skippable))
        return None
    await message.answer(_code_reply(result), reply_markup=kb.email_code(skippable=skippable))
    return None


def _code_reply(result: CheckResult) -> str:
    if result.outcome is CodeCheck.WRONG:
        left = fmt.plural(result.attempts_left, *t.CODE_ATTEMPTS_LEFT)
        return t.CODE_WRONG.format(left=left.format(n=result.attempts_left))
    return _CODE_REPLIES[result.outcome]
