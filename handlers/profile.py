"""The resident's profile: what is stored, subscriptions, e-mail and phone, unlinking, deletion.

Every account id in a callback is authorized through `get_linked_account`; a forged one gets a
refusal and changes nothing.
"""

from __future__ import annotations

import logging
from typing import Any

from aiogram import Router
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message, ReplyKeyboardRemove
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.access import authorized, registered_only
from handlers.filters import TextIs
from handlers.registration import check_code, resend_code, submit_email, verified_phone
from handlers.ui import PlainText, StepInput, drop_buttons, edit_or_send, say
from keyboards import profile as kb
from keyboards import registration as kb_reg
from keyboards.menu import MENU_BUTTONS, main_menu
from keyboards.profile import ProfileAction
from keyboards.registration import EmailStep
from receipts.mail import SettingsLike as Settings
from receipts.mail import mail_enabled
from services import profile as profile_service
from services.phones import display_phone
from storage.models import Resident, utcnow
from storage.repo import accounts as account_repo
from storage.repo import linking
from texts import fmt
from texts.ru import common as tc
from texts.ru import profile as t
from texts.ru import registration as tr

log = logging.getLogger(__name__)


class ProfileEdit(StatesGroup):
    email = State()
    code = State()
    phone = State()


async def profile_screen(
    session: AsyncSession, resident: Resident, settings: Settings
) -> tuple[str, Any]:
    accounts = await account_repo.linked_accounts(session, resident.id)
    lines = [t.TITLE, "", t.PHONE.format(phone=fmt.esc(display_phone(resident.phone)))]
    lines.append(t.EMAIL.format(email=fmt.esc(resident.email)) if resident.email else t.EMAIL_NONE)
    lines.append("")
    if accounts:
        lines.append(t.ACCOUNTS_TITLE)
        for account in accounts:
            lines.append(
                t.ACCOUNT_LINE.format(
                    number=fmt.esc(account.number),
                    address=fmt.esc(account.apartment.house.address),
                    apartment=fmt.esc(account.apartment.number),
                )
            )
    else:
        lines.append(t.ACCOUNTS_NONE)
    lines.append("")
    lines.append(t.PUSH_TELEGRAM.format(state=t.ON if resident.push_telegram else t.OFF))
    if resident.email:
        lines.append(t.PUSH_EMAIL.format(state=t.ON if resident.push_email else t.OFF))
    lines.append(t.REMINDERS.format(state=t.ON if resident.reminders else t.OFF))
    markup = kb.profile(
        push_telegram=resident.push_telegram,
        push_email=resident.push_email,
        reminders=resident.reminders,
        has_email=resident.email is not None,
        email_available=mail_enabled(settings),
        has_accounts=bool(accounts),
    )
    return "\n".join(lines), markup


def _account_label(account) -> str:
    return f"{account.number} — {account.apartment.house.address}, кв. {account.apartment.number}"


def router() -> Router:
    r = registered_only(Router(name="profile"))

    @r.message(StateFilter(ProfileEdit), TextIs(*MENU_BUTTONS))
    async def on_menu_in_dialogue(message: Message, state: FSMContext) -> None:
        await state.clear()
        raise SkipHandler

    @r.message(TextIs(tc.BTN_PROFILE))
    @r.message(Command("profile"))
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

    @r.callback_query(ProfileAction.filter())
    async def on_action(
        callback: CallbackQuery,
        callback_data: ProfileAction,
        state: FSMContext,
        session: AsyncSession,
        settings: Settings,
        resident: Resident,
    ) -> None:
        action = callback_data.action
        if action in ("unlink_ask", "unlink_do"):
            await _unlink(callback, callback_data, session, settings, resident)
            return
        match action:
            case "show":
                await callback.answer()
            case "tg":
                resident.push_telegram = not resident.push_telegram
                await callback.answer(t.SAVED)
            case "em":
                if resident.email is None:
                    await callback.answer(t.PUSH_EMAIL_NEEDS_EMAIL, show_alert=True)
                    return
                resident.push_email = not resident.push_email
                await callback.answer(t.SAVED)
            case "rem":
                resident.reminders = not resident.reminders
                await callback.answer(t.SAVED)
            case "email":
                if not mail_enabled(settings):
                    await callback.answer(t.EMAIL_UNAVAILABLE, show_alert=True)
                    return
                await callback.answer()
                await state.set_state(ProfileEdit.email)
                await say(callback, t.EMAIL_ASK)
                return
            case "phone":
                await callback.answer()
                await state.set_state(ProfileEdit.phone)
                await say(callback, t.PHONE_ASK, kb_reg.share_phone())
                return
            case "unlink":
                accounts = await account_repo.linked_accounts(session, resident.id)
                if not accounts:
                    await callback.answer(tc.NO_ACCOUNTS, show_alert=True)
                    return
                await callback.answer()
                choices = [(account.id, _account_label(account)) for account in accounts]
                await edit_or_send(callback, t.UNLINK_CHOOSE, kb.unlink_choice(choices))
                return
            case "delete":
                await callback.answer()
                await edit_or_send(callback, t.DELETE_CONFIRM, kb.delete_confirm())
                return
            case "delete_do":
                await callback.answer()
                await state.clear()
                await drop_buttons(callback)
                await profile_service.delete_registration(session, resident)
                await say(callback, t.DELETED, ReplyKeyboardRemove())
                return
            case _:
                await callback.answer(tc.STALE_BUTTON, show_alert=True)
                return
        await session.flush()
        text, markup = await profile_screen(session, resident, settings)
        await edit_or_send(callback, text, markup)

    # -- e-mail change -------------------------------------------------------------------------

    @r.message(StateFilter(ProfileEdit.email), StepInput(), PlainText())
    async def on_email(
        message: Message,
        state: FSMContext,
        session: AsyncSession,
        settings: Settings,
        resident: Resident,
    ) -> None:
        await submit_email(
            message, session, settings, state, resident,
            skippable=False, code_state=ProfileEdit.code,
        )  # fmt: skip

    @r.message(StateFilter(ProfileEdit.email), StepInput())
    async def on_email_other(message: Message) -> None:
        await message.answer(tr.EMAIL_INVALID_PROFILE)

    @r.message(StateFilter(ProfileEdit.code), StepInput())
    async def on_code(
        message: Message,
        state: FSMContext,
        session: AsyncSession,
        settings: Settings,
        resident: Resident,
    ) -> None:
        address = await check_code(
            message, session, settings, state, resident,
            skippable=False, email_state=ProfileEdit.email, code_state=ProfileEdit.code,
        )  # fmt: skip
        if address is None:
            return
        await session.commit()
        await state.clear()
        await message.answer(t.EMAIL_CHANGED.format(email=fmt.esc(address)))
        text, markup = await profile_screen(session, resident, settings)
        await message.answer(text, reply_markup=markup)

    @r.callback_query(EmailStep.filter(), StateFilter(ProfileEdit.email, ProfileEdit.code))
    async def on_email_button(
        callback: CallbackQuery,
        callback_data: EmailStep,
        state: FSMContext,
        session: AsyncSession,
        settings: Settings,
        resident: Resident,
    ) -> None:
        match callback_data.action:
            case "resend":
                await resend_code(
                    callback, session, settings, state, resident,
                    skippable=False, code_state=ProfileEdit.code,
                )  # fmt: skip
            case "other":
                await callback.answer()
                await state.set_state(ProfileEdit.email)
                await say(callback, t.EMAIL_ASK)
            case _:
                await callback.answer(tc.STALE_BUTTON, show_alert=True)

    # -- phone re-verification -------------------------------------------------------------------

    @r.message(StateFilter(ProfileEdit.phone), StepInput())
    async def on_phone(
        message: Message,
        state: FSMContext,
        session: AsyncSession,
        resident: Resident,
    ) -> None:
        phone, refusal = await verified_phone(message)
        if phone is None:
            await message.answer(refusal or tr.PHONE_HINT, reply_markup=kb_reg.share_phone())
            return
        await state.clear()
        resident.phone = phone
        resident.phone_verified_at = utcnow()
        await session.flush()
        await message.answer(
            t.PHONE_UPDATED.format(phone=fmt.esc(display_phone(phone))), reply_markup=main_menu()
        )

    return r


async def _unlink(
    callback: CallbackQuery,
    callback_data: ProfileAction,
    session: AsyncSession,
    settings: Settings,
    resident: Resident,
) -> None:
    account = await authorized(callback, session, resident, callback_data.account_id)
    if account is None:
        return
    await callback.answer()
    if callback_data.action == "unlink_ask":
        text = t.UNLINK_CONFIRM.format(
            number=fmt.esc(account.number),
            address=fmt.esc(account.apartment.house.address),
            apartment=fmt.esc(account.apartment.number),
        )
        await edit_or_send(callback, text, kb.unlink_confirm(account.id))
        return
    await linking.unlink(session, resident.id, account.id)
    log.info("resident %s unlinked account %s", resident.id, account.id)
    profile_text, markup = await profile_screen(session, resident, settings)
    await edit_or_send(
        callback, t.UNLINKED.format(number=fmt.esc(account.number)) + "\n\n" + profile_text, markup
    )
