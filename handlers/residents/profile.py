"""The resident's profile: what is stored, subscriptions, e-mail and phone, unlinking, deletion.

An account named by a button comes authorized by the account gate (`handlers.access`): a forged
or unlinked id is refused there and the handler never runs.
"""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message, ReplyKeyboardRemove
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from handlers.access import registered_only
from handlers.filters import TextIs
from handlers.residents import steps
from handlers.ui import StepInput, drop_buttons, edit_or_send, leave_dialogue, say
from keyboards import profile as kb
from keyboards import registration as kb_reg
from keyboards.household import household_button
from keyboards.menu import MENU_BUTTONS, main_menu
from keyboards.profile import Act, ProfileAction
from services import profile
from services.phones import display_phone
from services.profile import Switch
from services.verification import mail_enabled
from storage.models import Account, Resident
from texts import fmt
from texts.ru import common as tc
from texts.ru import profile as t


class ProfileEdit(StatesGroup):
    email = State()
    code = State()
    phone = State()


SWITCHES = {
    Act.PUSH_TELEGRAM: Switch.PUSH_TELEGRAM,
    Act.PUSH_EMAIL: Switch.PUSH_EMAIL,
    Act.REMINDERS: Switch.REMINDERS,
    Act.NOTIFY_PAYMENTS: Switch.NOTIFY_PAYMENTS,
    Act.NOTIFY_PAY_BY: Switch.NOTIFY_PAY_BY,
    Act.NOTIFY_VERIFICATION: Switch.NOTIFY_VERIFICATION,
}


def _state(on: bool) -> str:
    return t.ON if on else t.OFF


async def profile_screen(
    session: AsyncSession, resident: Resident, settings: Settings
) -> tuple[str, InlineKeyboardMarkup]:
    accounts = await profile.linked_accounts(session, resident)
    lines = [t.TITLE, "", t.PHONE.format(phone=fmt.esc(display_phone(resident.phone)))]
    lines.append(t.EMAIL.format(email=fmt.esc(resident.email)) if resident.email else t.EMAIL_NONE)
    lines.append("")
    lines.append(t.ACCOUNTS_TITLE if accounts else t.ACCOUNTS_NONE)
    for account in accounts:
        address = fmt.address(account.apartment.house.address, account.apartment.number)
        lines.append(
            t.ACCOUNT_LINE.format(number=fmt.esc(account.number), address=fmt.esc(address))
        )
    lines.append("")
    lines.append(t.PUSH_TELEGRAM.format(state=_state(resident.push_telegram)))
    if resident.email:
        lines.append(t.PUSH_EMAIL.format(state=_state(resident.push_email)))
    lines.append(t.REMINDERS.format(state=_state(resident.reminders)))
    lines.append(t.NOTIFY_PAYMENTS.format(state=_state(resident.notify_payments)))
    lines.append(t.NOTIFY_PAY_BY.format(state=_state(resident.notify_pay_by)))
    lines.append(t.NOTIFY_VERIFICATION.format(state=_state(resident.notify_verification)))
    markup = kb.profile(
        push_telegram=resident.push_telegram,
        push_email=resident.push_email,
        reminders=resident.reminders,
        has_email=resident.email is not None,
        email_available=mail_enabled(settings),
        has_accounts=bool(accounts),
        notify_payments=resident.notify_payments,
        notify_pay_by=resident.notify_pay_by,
        notify_verification=resident.notify_verification,
    )
    if accounts:  # «Семья и доступ», above «Удалить регистрацию»
        markup.inline_keyboard.insert(len(markup.inline_keyboard) - 1, household_button())
    return "\n".join(lines), markup


async def on_profile(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    settings: Settings,
    resident: Resident,
) -> None:
    await state.clear()
    text, markup = await profile_screen(session, resident, settings)
    await message.answer(text, reply_markup=markup)


async def on_show(
    callback: CallbackQuery, session: AsyncSession, settings: Settings, resident: Resident
) -> None:
    await callback.answer()
    text, markup = await profile_screen(session, resident, settings)
    await edit_or_send(callback, text, markup)


async def on_switch(
    callback: CallbackQuery,
    callback_data: ProfileAction,
    session: AsyncSession,
    settings: Settings,
    resident: Resident,
) -> None:
    if not await profile.toggle(session, resident, SWITCHES[callback_data.action]):
        await callback.answer(t.PUSH_EMAIL_NEEDS_EMAIL, show_alert=True)
        return
    await callback.answer(t.SAVED)
    text, markup = await profile_screen(session, resident, settings)
    await edit_or_send(callback, text, markup)


# --- unlinking and deleting -----------------------------------------------------------------------


async def on_unlink_list(
    callback: CallbackQuery, session: AsyncSession, resident: Resident
) -> None:
    accounts = await profile.linked_accounts(session, resident)
    if not accounts:
        await callback.answer(tc.NO_ACCOUNTS, show_alert=True)
        return
    await callback.answer()
    choices = [
        (a.id, fmt.account_label(a.number, a.apartment.house.address, a.apartment.number))
        for a in accounts
    ]
    await edit_or_send(callback, t.UNLINK_CHOOSE, kb.unlink_choice(choices))


async def on_unlink_ask(callback: CallbackQuery, account: Account | None) -> None:
    if account is None:  # the "no account" id 0: nothing to unlink
        await callback.answer(tc.ACCOUNT_NOT_AVAILABLE, show_alert=True)
        return
    await callback.answer()
    address = fmt.address(account.apartment.house.address, account.apartment.number)
    text = t.UNLINK_CONFIRM.format(number=fmt.esc(account.number), address=fmt.esc(address))
    await edit_or_send(callback, text, kb.unlink_confirm(account.id))


async def on_unlink_do(
    callback: CallbackQuery,
    session: AsyncSession,
    settings: Settings,
    resident: Resident,
    account: Account | None,
) -> None:
    if account is None:
        await callback.answer(tc.ACCOUNT_NOT_AVAILABLE, show_alert=True)
        return
    await callback.answer()
    await profile.unlink(session, resident, account)
    text, markup = await profile_screen(session, resident, settings)
    unlinked = t.UNLINKED.format(number=fmt.esc(account.number))
    await edit_or_send(callback, f"{unlinked}\n\n{text}", markup)


async def on_delete(callback: CallbackQuery) -> None:
    await callback.answer()
    await edit_or_send(callback, t.DELETE_CONFIRM, kb.delete_confirm())


async def on_delete_do(
    callback: CallbackQuery, state: FSMContext, session: AsyncSession, resident: Resident
) -> None:
    await callback.answer()
    await state.clear()
    await drop_buttons(callback)
    await profile.delete_registration(session, resident)
    await say(callback, t.DELETED, ReplyKeyboardRemove())


# --- the phone, verified again --------------------------------------------------------------------


async def on_change_phone(callback: CallbackQuery, state: FSMContext) -> None:
    await callback.answer()
    await state.set_state(ProfileEdit.phone)
    await say(callback, t.PHONE_ASK, kb_reg.share_phone())


async def on_phone(
    message: Message, state: FSMContext, session: AsyncSession, resident: Resident
) -> None:
    phone = await steps.verified_phone(message)
    if phone is None:
        return
    await state.clear()
    await profile.change_phone(session, resident, phone)
    text = t.PHONE_UPDATED.format(phone=fmt.esc(display_phone(phone)))
    await message.answer(text, reply_markup=main_menu())


# --- the e-mail, changed ----------------------------------------------------------------------


async def on_change_email(callback: CallbackQuery, state: FSMContext, settings: Settings) -> None:
    if not mail_enabled(settings):
        await callback.answer(t.EMAIL_UNAVAILABLE, show_alert=True)
        return
    await callback.answer()
    await state.set_state(EMAIL.email)
    await say(callback, EMAIL.ask, EMAIL.ask_markup())


async def _email_confirmed(message: Message, turn: steps.EmailTurn, address: str) -> None:
    await message.answer(t.EMAIL_CHANGED.format(email=fmt.esc(address)))
    text, markup = await profile_screen(turn.session, turn.resident, turn.settings)
    await message.answer(text, reply_markup=markup)


EMAIL = steps.EmailFlow(
    ProfileEdit.email, ProfileEdit.code, skippable=False, ask=t.EMAIL_ASK,
    confirmed=_email_confirmed,
)  # fmt: skip


def _pressed(*actions: Act):
    return ProfileAction.filter(F.action.in_(actions))


def router() -> Router:
    r = registered_only(Router(name="profile"))
    r.message.register(leave_dialogue, StateFilter(ProfileEdit), TextIs(*MENU_BUTTONS))
    r.message.register(on_profile, TextIs(tc.BTN_PROFILE))
    r.message.register(on_profile, Command("profile"))
    r.callback_query.register(on_show, _pressed(Act.SHOW))
    r.callback_query.register(on_switch, _pressed(*SWITCHES))
    r.callback_query.register(on_change_email, _pressed(Act.EMAIL))
    r.callback_query.register(on_change_phone, _pressed(Act.PHONE))
    r.callback_query.register(on_unlink_list, _pressed(Act.UNLINK))
    r.callback_query.register(on_unlink_ask, _pressed(Act.UNLINK_ASK))
    r.callback_query.register(on_unlink_do, _pressed(Act.UNLINK_DO))
    r.callback_query.register(on_delete, _pressed(Act.DELETE))
    r.callback_query.register(on_delete_do, _pressed(Act.DELETE_DO))
    steps.register_email_step(r, EMAIL)
    r.message.register(on_phone, StateFilter(ProfileEdit.phone), StepInput())
    return r
