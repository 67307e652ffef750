"""The phone and e-mail steps as the resident sees them, shared by registration and the profile.

Not a feature (no router of its own): both dialogues call these to ask and to answer, and
`services.verification` decides. The e-mail step's handlers are registered on each dialogue's
router with that dialogue's `EmailFlow` (its states, wording, and what a confirmed address does).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import Any

from aiogram import F, Router
from aiogram.filters import Filter
from aiogram.filters.callback_data import CallbackQueryFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message, TelegramObject
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from handlers.ui import PlainText, StepInput, say
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


# --- the e-mail step -----------------------------------------------------------------------------


@dataclass(frozen=True)
class EmailFlow:
    """A dialogue's e-mail step: its two states, whether the address may be skipped (registration),
    how it asks for an address, and what it does with a confirmed one (the message that confirmed
    it, the turn, the address; the step's state is cleared by then)."""

    email: State
    code: State
    skippable: bool
    ask: str
    confirmed: Callable[[Message, EmailTurn, str], Awaitable[None]]

    def ask_markup(self) -> InlineKeyboardMarkup | None:
        return kb.email_ask(skippable=self.skippable)

    def invalid(self) -> str:
        return t.EMAIL_INVALID if self.skippable else t.EMAIL_INVALID_PROFILE


@dataclass(frozen=True)
class PendingEmail:
    """The dialogue data of the code step: where the code went."""

    email: str = ""


@dataclass(frozen=True)
class EmailTurn:
    """One update in a dialogue's e-mail step: the step's flow and what the update came with."""

    flow: EmailFlow
    state: FSMContext
    session: AsyncSession
    settings: Settings
    resident: Resident

    async def send_code(self, message: Message, typed: str) -> None:
        """Send a code to the address typed and move to the code step."""
        sent = await verification.send_code(self.session, self.settings, self.resident, typed)
        ask = self.flow.ask_markup()
        match sent.outcome:
            case CodeSent.SENT:
                await self.state.set_state(self.flow.code)
                await self.state.update_data(**asdict(PendingEmail(sent.address)))
                text = t.EMAIL_SENT.format(email=fmt.esc(sent.address))
                await message.answer(text, reply_markup=self.code_markup())
            case CodeSent.INVALID:
                await message.answer(self.flow.invalid(), reply_markup=ask)
            case CodeSent.TAKEN:
                await message.answer(t.EMAIL_TAKEN, reply_markup=ask)
            case CodeSent.TOO_MANY:
                time = fmt.local_time(sent.retry_at, self.settings.default_timezone)  # type: ignore[arg-type]
                await message.answer(t.EMAIL_TOO_MANY_CODES.format(time=time), reply_markup=ask)
            case CodeSent.FAILED:
                await message.answer(t.EMAIL_SEND_FAILED, reply_markup=ask)

    def code_markup(self) -> InlineKeyboardMarkup:
        return kb.email_code(skippable=self.flow.skippable)


class InEmailStep(Filter):
    """In one of `flow`'s states (both, unless named) with the person stored: the handler gets
    the `turn`. A registration whose person is gone is the dialogue's own affair."""

    def __init__(self, flow: EmailFlow, *only: State) -> None:
        self.flow = flow
        self.states = frozenset(step.state for step in only or (flow.email, flow.code))

    async def __call__(self, event: TelegramObject, **data: Any) -> bool | dict[str, Any]:
        resident = data.get("resident")
        if data.get("raw_state") not in self.states or resident is None:
            return False
        turn = EmailTurn(self.flow, data["state"], data["session"], data["settings"], resident)
        return {"turn": turn}


def pressed(action: EmailAction) -> CallbackQueryFilter:
    """The filter of one button of the e-mail step."""
    return EmailStep.filter(F.action == action)


def register_email_step(r: Router, flow: EmailFlow) -> None:
    """The e-mail step's handlers on a dialogue's router."""
    r.message.register(on_email, InEmailStep(flow, flow.email), StepInput(), PlainText())
    r.message.register(on_email_other, InEmailStep(flow, flow.email), StepInput())
    r.message.register(on_code, InEmailStep(flow, flow.code), StepInput())
    r.callback_query.register(on_resend, pressed(EmailAction.RESEND), InEmailStep(flow))
    r.callback_query.register(on_other_address, pressed(EmailAction.OTHER), InEmailStep(flow))


async def on_email(message: Message, turn: EmailTurn) -> None:
    await turn.send_code(message, message.text or "")


async def on_email_other(message: Message, turn: EmailTurn) -> None:
    await message.answer(turn.flow.invalid(), reply_markup=turn.flow.ask_markup())


async def on_resend(callback: CallbackQuery, turn: EmailTurn) -> None:
    await callback.answer()
    pending = PendingEmail(email=str((await turn.state.get_data()).get("email", "")))
    if pending.email and isinstance(callback.message, Message):
        await turn.send_code(callback.message, pending.email)


async def on_other_address(callback: CallbackQuery, turn: EmailTurn) -> None:
    await callback.answer()
    await turn.state.set_state(turn.flow.email)
    await say(callback, turn.flow.ask, turn.flow.ask_markup())


_CODE_REPLIES = {
    CodeCheck.NOT_A_CODE: t.CODE_HINT,
    CodeCheck.EXPIRED: t.CODE_EXPIRED,
    CodeCheck.TOO_MANY: t.CODE_TOO_MANY,
}


async def on_code(message: Message, turn: EmailTurn) -> None:
    """A confirmed address goes back to the dialogue; anything else is answered here. An address
    typed instead of a code is taken as a new address."""
    typed = message.text or ""
    result = await verification.check_code(turn.session, turn.settings, turn.resident, typed)
    if result.outcome is CodeCheck.CONFIRMED:
        await turn.state.clear()
        await turn.flow.confirmed(message, turn, result.address)
    elif result.outcome is CodeCheck.AN_ADDRESS:
        await turn.send_code(message, typed)
    elif result.outcome in (CodeCheck.TAKEN, CodeCheck.NO_CODE):
        await turn.state.set_state(turn.flow.email)
        text = t.EMAIL_TAKEN if result.outcome is CodeCheck.TAKEN else t.CODE_NO_CODE
        await message.answer(text, reply_markup=turn.flow.ask_markup())
    else:
        await message.answer(_code_reply(result), reply_markup=turn.code_markup())


def _code_reply(result: CheckResult) -> str:
    if result.outcome is CodeCheck.WRONG:
        left = fmt.plural(result.attempts_left, *t.CODE_ATTEMPTS_LEFT)
        return t.CODE_WRONG.format(left=left.format(n=result.attempts_left))
    return _CODE_REPLIES[result.outcome]
