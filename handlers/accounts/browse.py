"""The directory: organization → house (paged, found by street) → apartment → account.

Lists show addresses, apartment and account numbers only. A button naming something outside the
path taken (forged or stale) gets an alert and changes nothing.
"""

from __future__ import annotations

from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.accounts.dialogue import HINTS, Linking, LinkPath, save
from handlers.ui import edit_or_send, say
from keyboards import accounts as kb
from keyboards.accounts import (
    LinkAccounts,
    LinkApartments,
    LinkClearSearch,
    LinkHouses,
    LinkOrgs,
    LinkPick,
)
from services import linking
from storage.models import Apartment, House, Organization
from texts import fmt
from texts.ru import accounts as t
from texts.ru import common as tc

Screen = tuple[str, InlineKeyboardMarkup | None]


def _page_note(page: linking.Page) -> str:
    return "\n\n" + t.PAGE.format(page=page.page + 1, pages=page.pages) if page.pages > 1 else ""


# --- the screens (text and keyboard; callers edit or send) ---------------------------------------


async def orgs_screen(session: AsyncSession, page: int) -> Screen:
    found = await linking.organizations(session, page)
    if not found.items:
        return t.NO_ORGS, None
    items = [(org.name, LinkHouses(org_id=org.id)) for org in found.items]
    markup = kb.paged(items, page=found.page, pages=found.pages, page_data=LinkOrgs, not_found=0)
    return t.CHOOSE_ORG + _page_note(found), markup


async def houses_screen(session: AsyncSession, org: Organization, page: int, search: str) -> Screen:
    found = await linking.houses(session, org, page, search)
    name, query = fmt.esc(org.name), fmt.esc(search)
    if found.items:
        text = (t.CHOOSE_HOUSE_FOUND if search else t.CHOOSE_HOUSE).format(org=name, query=query)
        text += _page_note(found)
    elif search:
        text = t.NO_HOUSES_FOUND.format(org=name, query=query)
    else:
        text = t.NO_HOUSES.format(org=name)
    items = [(house.address, LinkApartments(house_id=house.id)) for house in found.items]
    extra = [(t.BTN_CLEAR_SEARCH, LinkClearSearch(org_id=org.id))] if search else []
    markup = kb.paged(
        items, page=found.page, pages=found.pages, page_data=LinkHouses,
        page_fields={"org_id": org.id}, extra=extra, back=LinkOrgs(), not_found=org.id, grid=True,
    )  # fmt: skip
    return text, markup


async def apartments_screen(session: AsyncSession, house: House, page: int, number: str) -> Screen:
    found = await linking.apartments(session, house, page, number)
    address, query = fmt.esc(house.address), fmt.esc(number)
    if found.items:
        text = (t.CHOOSE_APARTMENT_FOUND if number else t.CHOOSE_APARTMENT).format(
            address=address, query=query
        ) + _page_note(found)
    elif number:
        text = t.NO_APARTMENTS_FOUND.format(address=address, query=query)
    else:
        text = t.NO_APARTMENTS.format(address=address)
    items = [
        (
            t.APARTMENT_BUTTON.format(number=apartment.number),
            LinkAccounts(apartment_id=apartment.id),
        )
        for apartment in found.items
    ]
    markup = kb.paged(
        items, page=found.page, pages=found.pages, page_data=LinkApartments,
        page_fields={"house_id": house.id}, back=LinkHouses(org_id=house.organization_id),
        not_found=house.organization_id, grid=True,
    )  # fmt: skip
    return text, markup


async def accounts_screen(session: AsyncSession, apartment: Apartment, page: int) -> Screen:
    found = await linking.accounts(session, apartment, page)
    items = [
        (t.ACCOUNT_BUTTON.format(number=account.number), LinkPick(account_id=account.id))
        for account in found.items
    ]
    markup = kb.paged(
        items, page=found.page, pages=found.pages, page_data=LinkAccounts,
        page_fields={"apartment_id": apartment.id},
        back=LinkApartments(house_id=apartment.house_id),
        not_found=apartment.house.organization_id,
    )  # fmt: skip
    address = fmt.address(apartment.house.address, apartment.number)
    text = t.CHOOSE_ACCOUNT.format(address=fmt.esc(address))
    return text + _page_note(found), markup


# --- the handlers ---------------------------------------------------------------------------------


async def _show(
    event: CallbackQuery | Message, state: FSMContext, step: State, path: LinkPath, screen: Screen
) -> None:
    """Remember the step and the path taken, and show the step's screen (in place of the pressed
    button's message; a typed text gets it as a new message)."""
    await save(state, step, path)
    if isinstance(event, CallbackQuery):
        await event.answer()
    await edit_or_send(event, *screen)


async def start(message: Message, state: FSMContext, session: AsyncSession) -> None:
    """/link, or a step whose path no longer exists: the dialogue from its beginning."""
    await _show(message, state, Linking.org, LinkPath(), await orgs_screen(session, 0))


async def on_start_button(
    callback: CallbackQuery, state: FSMContext, session: AsyncSession
) -> None:
    """The offer to link an account: the directory as a new message (the offer stays)."""
    await callback.answer()
    await save(state, Linking.org, LinkPath())
    await say(callback, *await orgs_screen(session, 0))


async def on_orgs(
    callback: CallbackQuery, callback_data: LinkOrgs, state: FSMContext, session: AsyncSession
) -> None:
    screen = await orgs_screen(session, callback_data.page)
    await _show(callback, state, Linking.org, LinkPath(), screen)


async def on_houses(
    callback: CallbackQuery,
    callback_data: LinkHouses,
    state: FSMContext,
    session: AsyncSession,
    path: LinkPath,
    org: Organization,
) -> None:
    search = path.search if path.org_id == org.id else ""
    screen = await houses_screen(session, org, callback_data.page, search)
    await _show(callback, state, Linking.house, LinkPath(org_id=org.id, search=search), screen)


async def on_clear_search(
    callback: CallbackQuery,
    state: FSMContext,
    session: AsyncSession,
    path: LinkPath,
    org: Organization,
) -> None:
    screen = await houses_screen(session, org, 0, "")
    await _show(callback, state, Linking.house, path.but(search=""), screen)


async def on_house_search(
    message: Message, state: FSMContext, session: AsyncSession, path: LinkPath, org: Organization
) -> None:
    query = linking.street_query(message.text or "")
    if query is None:
        await message.answer(t.HOUSE_HINT)
        return
    screen = await houses_screen(session, org, 0, query)
    await _show(message, state, Linking.house, path.but(search=query), screen)


async def on_apartments(
    callback: CallbackQuery,
    callback_data: LinkApartments,
    state: FSMContext,
    session: AsyncSession,
    path: LinkPath,
    house: House,
) -> None:
    screen = await apartments_screen(session, house, callback_data.page, "")
    step = LinkPath(path.org_id, path.search, house.id)
    await _show(callback, state, Linking.apartment, step, screen)


async def on_apartment_number(message: Message, session: AsyncSession, house: House) -> None:
    """The apartments found by the number typed (the step and the path stay)."""
    number = linking.apartment_query(message.text or "")
    if number is None:
        await message.answer(t.APARTMENT_HINT)
        return
    await edit_or_send(message, *await apartments_screen(session, house, 0, number))


async def on_accounts(
    callback: CallbackQuery,
    callback_data: LinkAccounts,
    state: FSMContext,
    session: AsyncSession,
    path: LinkPath,
    apartment: Apartment,
) -> None:
    screen = await accounts_screen(session, apartment, callback_data.page)
    step = LinkPath(path.org_id, path.search, apartment.house_id, apartment.id)
    await _show(callback, state, Linking.account, step, screen)


async def on_other(message: Message, state: FSMContext) -> None:
    """Anything a step cannot take gets the step's hint."""
    await message.answer(HINTS.get(await state.get_state() or "", tc.UNEXPECTED_IN_DIALOGUE))
