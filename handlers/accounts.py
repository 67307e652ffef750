"""Linking a personal account: organization → house → apartment → account, then a proof.

The directory shows addresses, apartment and account numbers only — never a holder's name, phone
or money. Each step remembers the path taken (organization, house, apartment) in the dialogue
state, and a button naming something outside that path (a forged or stale callback) is refused
without changing anything. Proofs: the phone on record equals the resident's verified phone
(linked at once), or the "total to pay" of one of the account's last three receipts. Failed
proofs are counted across accounts (`storage.repo.linking.limits`): a captcha first, then a wait.
"""

from __future__ import annotations

import logging
from typing import Any

from aiogram import Router
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import BufferedInputFile, CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.access import registered_only
from handlers.filters import TextIs
from handlers.ui import PlainText, StepInput, edit_or_send, say
from keyboards import accounts as kb
from keyboards.accounts import (
    LinkAccounts,
    LinkApartments,
    LinkClearSearch,
    LinkHouses,
    LinkNewCaptcha,
    LinkOrgs,
    LinkPick,
    LinkStart,
)
from keyboards.menu import MENU_BUTTONS
from receipts.mail import SettingsLike as Settings
from receipts.pool import run_cpu
from services import captcha
from storage.models import Account, Resident
from storage.repo import linking
from texts import fmt
from texts.fmt import local_time
from texts.ru import accounts as t
from texts.ru import common as tc

log = logging.getLogger(__name__)

MAX_SEARCH = 100


class Linking(StatesGroup):
    org = State()
    house = State()
    apartment = State()
    account = State()
    proof = State()
    captcha = State()


def _page_note(page: linking.Page) -> str:
    return "\n\n" + t.PAGE.format(page=page.page + 1, pages=page.pages) if page.pages > 1 else ""


# --- the screens (each returns text and keyboard; callers edit or send) ---------------------------


async def orgs_screen(session: AsyncSession, page: int) -> tuple[str, Any]:
    found = await linking.organizations(session, page)
    if not found.items:
        return t.NO_ORGS, None
    items = [(org.name, LinkHouses(org_id=org.id)) for org in found.items]
    markup = kb.paged(items, page=found.page, pages=found.pages, page_data=LinkOrgs)
    return t.CHOOSE_ORG + _page_note(found), markup


async def houses_screen(
    session: AsyncSession, org_id: int, org_name: str, page: int, search: str
) -> tuple[str, Any]:
    found = await linking.houses(session, org_id, page, search)
    org, query = fmt.esc(org_name), fmt.esc(search)
    if found.items:
        text = (t.CHOOSE_HOUSE_FOUND if search else t.CHOOSE_HOUSE).format(org=org, query=query)
        text += _page_note(found)
    elif search:
        text = t.NO_HOUSES_FOUND.format(org=org, query=query)
    else:
        text = t.NO_HOUSES.format(org=org)
    items = [(house.address, LinkApartments(house_id=house.id)) for house in found.items]
    extra = [(t.BTN_CLEAR_SEARCH, LinkClearSearch(org_id=org_id))] if search else []
    markup = kb.paged(
        items, page=found.page, pages=found.pages, page_data=LinkHouses,
        page_fields={"org_id": org_id}, extra=extra, back=LinkOrgs(),
    )  # fmt: skip
    return text, markup


async def apartments_screen(
    session: AsyncSession, house_id: int, org_id: int, address: str, page: int, number: str
) -> tuple[str, Any]:
    found = await linking.apartments(session, house_id, page, number)
    address_html, query = fmt.esc(address), fmt.esc(number)
    if found.items:
        text = (t.CHOOSE_APARTMENT_FOUND if number else t.CHOOSE_APARTMENT).format(
            address=address_html, query=query
        ) + _page_note(found)
    elif number:
        text = t.NO_APARTMENTS_FOUND.format(address=address_html, query=query)
    else:
        text = t.NO_APARTMENTS.format(address=address_html)
    items = [
        (
            t.APARTMENT_BUTTON.format(number=apartment.number),
            LinkAccounts(apartment_id=apartment.id),
        )
        for apartment in found.items
    ]
    markup = kb.paged(
        items, page=found.page, pages=found.pages, page_data=LinkApartments,
        page_fields={"house_id": house_id}, back=LinkHouses(org_id=org_id),
    )  # fmt: skip
    return text, markup


# --- helpers -----------------------------------------------------------------------------------


async def _stale(callback: CallbackQuery) -> None:
    await callback.answer(t.STALE, show_alert=True)


def _proof_text(account: Account) -> str:
    apartment = account.apartment
    return t.PROOF_ASK.format(
        number=fmt.esc(account.number),
        address=fmt.esc(apartment.house.address),
        apartment=fmt.esc(apartment.number),
    )


async def _send_captcha(
    bot_target: Message | CallbackQuery, state: FSMContext, account: Account, intro: str
) -> None:
    answer = captcha.new_answer()
    await state.set_state(Linking.captcha)
    await state.update_data(account_id=account.id, captcha=answer, captcha_passed=False)
    picture = await run_cpu(captcha.render, answer)
    chat_id = bot_target.chat.id if isinstance(bot_target, Message) else bot_target.message.chat.id
    await bot_target.bot.send_photo(
        chat_id,
        BufferedInputFile(picture, filename="captcha.png"),
        caption=intro,
        reply_markup=kb.captcha(LinkAccounts(apartment_id=account.apartment_id)),
    )


async def _linked(target: Message, state: FSMContext, account: Account, text: str) -> None:
    await state.clear()
    await target.answer(
        text.format(number=fmt.esc(account.number)), reply_markup=kb.linked(account.id)
    )


async def _blocked_text(
    session: AsyncSession, settings: Settings, resident: Resident
) -> str | None:
    limits = await linking.limits(session, resident.id)
    if limits.blocked_until is None:
        return None
    return t.PROOF_BLOCKED.format(time=local_time(limits.blocked_until, settings.default_timezone))


async def _failed(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    settings: Settings,
    resident: Resident,
    account: Account,
    before: linking.Limits,
    text: str,
    *,
    method: str = linking.METHOD_TOTAL,
) -> None:
    """Count a failed proof and show what comes next: another try, a captcha, or the wait.
    The dialogue state is written first (its own connection), the attempt after it."""
    failures = before.failures + 1
    if failures >= linking.BLOCK_AFTER:
        await state.clear()
    elif failures >= linking.CAPTCHA_AFTER:
        await _send_captcha(message, state, account, text)
    else:
        await state.update_data(captcha_passed=False)
        back = LinkAccounts(apartment_id=account.apartment_id)
        await message.answer(text, reply_markup=kb.back_only(back))
    await linking.log_attempt(session, resident.id, account.id, method, False)
    log.info("resident %s failed a proof (%s)", resident.id, method)
    if failures >= linking.BLOCK_AFTER:
        blocked = await _blocked_text(session, settings, resident)
        await message.answer(f"{text}\n\n{blocked}" if blocked else text)


async def _start(target: Message, state: FSMContext, session: AsyncSession) -> None:
    await state.clear()
    await state.set_state(Linking.org)
    text, markup = await orgs_screen(session, 0)
    await target.answer(text, reply_markup=markup)


# --- the router -----------------------------------------------------------------------------------


def router() -> Router:
    r = registered_only(Router(name="accounts"), linked_accounts=False)

    @r.message(StateFilter(Linking), TextIs(*MENU_BUTTONS))
    async def on_menu_in_dialogue(message: Message, state: FSMContext) -> None:
        # A main-menu button leaves the linking dialogue; the button's own feature answers it.
        await state.clear()
        raise SkipHandler

    @r.message(Command("link"))
    async def on_link_command(message: Message, state: FSMContext, session: AsyncSession) -> None:
        await _start(message, state, session)

    @r.callback_query(LinkStart.filter())
    async def on_link_start(
        callback: CallbackQuery, state: FSMContext, session: AsyncSession
    ) -> None:
        await callback.answer()
        await state.clear()
        await state.set_state(Linking.org)
        text, markup = await orgs_screen(session, 0)
        await say(callback, text, markup)

    @r.callback_query(LinkOrgs.filter())
    async def on_orgs(
        callback: CallbackQuery, callback_data: LinkOrgs, state: FSMContext, session: AsyncSession
    ) -> None:
        await callback.answer()
        await state.set_state(Linking.org)
        await state.set_data({})
        text, markup = await orgs_screen(session, callback_data.page)
        await edit_or_send(callback, text, markup)

    @r.callback_query(LinkHouses.filter())
    async def on_houses(
        callback: CallbackQuery, callback_data: LinkHouses, state: FSMContext, session: AsyncSession
    ) -> None:
        org = await linking.get_organization(session, callback_data.org_id)
        if org is None:
            await _stale(callback)
            return
        await callback.answer()
        data = await state.get_data()
        search = data.get("search", "") if data.get("org_id") == org.id else ""
        await state.set_state(Linking.house)
        await state.set_data({"org_id": org.id, "search": search})
        text, markup = await houses_screen(session, org.id, org.name, callback_data.page, search)
        await edit_or_send(callback, text, markup)

    @r.callback_query(LinkClearSearch.filter(), StateFilter(Linking.house))
    async def on_clear_search(
        callback: CallbackQuery,
        callback_data: LinkClearSearch,
        state: FSMContext,
        session: AsyncSession,
    ) -> None:
        data = await state.get_data()
        org = await linking.get_organization(session, callback_data.org_id)
        if org is None or data.get("org_id") != org.id:
            await _stale(callback)
            return
        await callback.answer()
        await state.update_data(search="")
        text, markup = await houses_screen(session, org.id, org.name, 0, "")
        await edit_or_send(callback, text, markup)

    @r.message(StateFilter(Linking.house), StepInput(), PlainText())
    async def on_house_search(message: Message, state: FSMContext, session: AsyncSession) -> None:
        query = " ".join((message.text or "").split())
        data = await state.get_data()
        org = await linking.get_organization(session, data.get("org_id", 0))
        if org is None:
            await _start(message, state, session)
            return
        if not query or len(query) > MAX_SEARCH:
            await message.answer(t.HOUSE_HINT)
            return
        await state.update_data(search=query)
        text, markup = await houses_screen(session, org.id, org.name, 0, query)
        await message.answer(text, reply_markup=markup)

    @r.callback_query(LinkApartments.filter())
    async def on_apartments(
        callback: CallbackQuery,
        callback_data: LinkApartments,
        state: FSMContext,
        session: AsyncSession,
    ) -> None:
        data = await state.get_data()
        house = await linking.get_house(session, callback_data.house_id)
        if house is None or house.organization_id != data.get("org_id"):
            await _stale(callback)
            return
        await callback.answer()
        await state.set_state(Linking.apartment)
        await state.set_data(
            {
                "org_id": house.organization_id,
                "search": data.get("search", ""),
                "house_id": house.id,
            }
        )
        text, markup = await apartments_screen(
            session, house.id, house.organization_id, house.address, callback_data.page, ""
        )
        await edit_or_send(callback, text, markup)

    @r.message(StateFilter(Linking.apartment), StepInput(), PlainText())
    async def on_apartment_number(
        message: Message, state: FSMContext, session: AsyncSession
    ) -> None:
        number = "".join((message.text or "").split())
        data = await state.get_data()
        house = await linking.get_house(session, data.get("house_id", 0))
        if house is None:
            await _start(message, state, session)
            return
        if not number or len(number) > 16:
            await message.answer(t.APARTMENT_HINT)
            return
        text, markup = await apartments_screen(
            session, house.id, house.organization_id, house.address, 0, number
        )
        await message.answer(text, reply_markup=markup)

    @r.callback_query(LinkAccounts.filter())
    async def on_accounts(
        callback: CallbackQuery,
        callback_data: LinkAccounts,
        state: FSMContext,
        session: AsyncSession,
    ) -> None:
        data = await state.get_data()
        apartment = await linking.get_apartment(session, callback_data.apartment_id)
        if apartment is None or apartment.house_id != data.get("house_id"):
            await _stale(callback)
            return
        await callback.answer()
        await state.set_state(Linking.account)
        await state.set_data(
            {
                "org_id": data.get("org_id"),
                "search": data.get("search", ""),
                "house_id": apartment.house_id,
                "apartment_id": apartment.id,
            }
        )
        found = await linking.accounts(session, apartment.id, callback_data.page)
        items = [
            (t.ACCOUNT_BUTTON.format(number=account.number), LinkPick(account_id=account.id))
            for account in found.items
        ]
        markup = kb.paged(
            items, page=found.page, pages=found.pages, page_data=LinkAccounts,
            page_fields={"apartment_id": apartment.id},
            back=LinkApartments(house_id=apartment.house_id),
        )  # fmt: skip
        text = t.CHOOSE_ACCOUNT.format(
            address=fmt.esc(apartment.house.address), apartment=fmt.esc(apartment.number)
        )
        await edit_or_send(callback, text + _page_note(found), markup)

    @r.callback_query(LinkPick.filter())
    async def on_pick(
        callback: CallbackQuery,
        callback_data: LinkPick,
        state: FSMContext,
        session: AsyncSession,
        settings: Settings,
        resident: Resident,
    ) -> None:
        data = await state.get_data()
        account = await linking.get_account(session, callback_data.account_id)
        if account is None or account.apartment_id != data.get("apartment_id"):
            await _stale(callback)
            return
        await callback.answer()
        message = callback.message
        if not isinstance(message, Message):
            return
        if await linking.is_linked(session, resident.id, account.id):
            await _linked(message, state, account, t.ALREADY_LINKED)
            return
        if linking.phone_matches(account, resident.phone):
            await linking.link(session, resident.id, account.id, linking.METHOD_PHONE)
            await linking.log_attempt(session, resident.id, account.id, linking.METHOD_PHONE, True)
            # The link is stored before the resident is told so (dialogue state is outside the
            # transaction): a failure after this point cannot leave "linked" said but not saved.
            await session.commit()
            await state.clear()
            log.info("resident %s linked account %s by phone", resident.id, account.id)
            await message.answer(
                t.LINKED_BY_PHONE.format(number=fmt.esc(account.number)),
                reply_markup=kb.linked(account.id),
            )
            return
        back = LinkAccounts(apartment_id=account.apartment_id)
        if not await linking.recent_totals(session, account.id):
            await message.answer(t.PROOF_NO_RECEIPTS, reply_markup=kb.back_only(back))
            return
        blocked = await _blocked_text(session, settings, resident)
        if blocked:
            await message.answer(blocked, reply_markup=kb.back_only(back))
            return
        limits = await linking.limits(session, resident.id)
        if limits.needs_captcha:
            await message.answer(_proof_text(account))
            await _send_captcha(callback, state, account, t.CAPTCHA_ASK)
            return
        await state.set_state(Linking.proof)
        await state.update_data(account_id=account.id, captcha_passed=False)
        await message.answer(_proof_text(account), reply_markup=kb.back_only(back))

    @r.message(StateFilter(Linking.proof), StepInput(), PlainText())
    async def on_proof(
        message: Message,
        state: FSMContext,
        session: AsyncSession,
        settings: Settings,
        resident: Resident,
    ) -> None:
        typed = linking.parse_total(message.text or "")
        if typed is None:
            await message.answer(t.PROOF_HINT)
            return
        data = await state.get_data()
        account = await linking.get_account(session, data.get("account_id", 0))
        if account is None:
            await state.clear()
            await message.answer(t.STALE)
            return
        if await linking.is_linked(session, resident.id, account.id):
            await _linked(message, state, account, t.ALREADY_LINKED)
            return
        blocked = await _blocked_text(session, settings, resident)
        if blocked:
            await message.answer(blocked)
            return
        limits = await linking.limits(session, resident.id)
        if limits.needs_captcha and not data.get("captcha_passed"):
            await _send_captcha(message, state, account, t.CAPTCHA_ASK)
            return
        if await linking.total_matches(session, account.id, typed):
            await linking.link(session, resident.id, account.id, linking.METHOD_TOTAL)
            await linking.log_attempt(session, resident.id, account.id, linking.METHOD_TOTAL, True)
            await session.commit()  # stored before the resident is told (see above)
            await state.clear()
            log.info("resident %s linked account %s by receipt total", resident.id, account.id)
            await message.answer(
                t.LINKED.format(number=fmt.esc(account.number)), reply_markup=kb.linked(account.id)
            )
            return
        await _failed(message, state, session, settings, resident, account, limits, t.PROOF_WRONG)

    @r.message(StateFilter(Linking.captcha), StepInput(), PlainText())
    async def on_captcha(
        message: Message,
        state: FSMContext,
        session: AsyncSession,
        settings: Settings,
        resident: Resident,
    ) -> None:
        data = await state.get_data()
        account = await linking.get_account(session, data.get("account_id", 0))
        if account is None:
            await state.clear()
            await message.answer(t.STALE)
            return
        blocked = await _blocked_text(session, settings, resident)
        if blocked:
            await message.answer(blocked)
            return
        if captcha.matches(str(data.get("captcha", "")), message.text or ""):
            await state.set_state(Linking.proof)
            await state.update_data(captcha="", captcha_passed=True)
            await message.answer(
                t.CAPTCHA_OK,
                reply_markup=kb.back_only(LinkAccounts(apartment_id=account.apartment_id)),
            )
            return
        limits = await linking.limits(session, resident.id)
        await _failed(
            message, state, session, settings, resident, account, limits, t.CAPTCHA_AGAIN,
            method=linking.METHOD_CAPTCHA,
        )  # fmt: skip

    @r.callback_query(LinkNewCaptcha.filter(), StateFilter(Linking.captcha))
    async def on_new_captcha(
        callback: CallbackQuery, state: FSMContext, session: AsyncSession
    ) -> None:
        data = await state.get_data()
        account = await linking.get_account(session, data.get("account_id", 0))
        if account is None:
            await _stale(callback)
            return
        await callback.answer()
        await _send_captcha(callback, state, account, t.CAPTCHA_ASK)

    # -- anything else in a step: the step's hint ------------------------------------------------

    hints = {
        Linking.org: t.ORG_HINT,
        Linking.house: t.HOUSE_HINT,
        Linking.apartment: t.APARTMENT_HINT,
        Linking.account: t.ACCOUNT_HINT,
        Linking.proof: t.PROOF_HINT,
        Linking.captcha: t.CAPTCHA_HINT,
    }

    @r.message(StateFilter(Linking), StepInput())
    async def on_other(message: Message, state: FSMContext) -> None:
        current = await state.get_state()
        hint = next(
            (text for st, text in hints.items() if st.state == current), tc.UNEXPECTED_IN_DIALOGUE
        )
        await message.answer(hint)

    return r
