"""Linking a personal account: organization → house → apartment → account (`browse`), then a
proof of ownership (`proof`). Registered residents only; the buttons name accounts the resident
is about to link, so the account gate of the other features does not apply here."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command, StateFilter

from handlers.access import registered_only
from handlers.accounts import browse, phone, proof
from handlers.accounts.dialogue import ON_PATH, Linking, WithinPath
from handlers.filters import TextIs
from handlers.ui import PlainText, StepInput, leave_dialogue
from keyboards.accounts import (
    LinkAccounts,
    LinkApartments,
    LinkByPhone,
    LinkClearSearch,
    LinkHouses,
    LinkNewCaptcha,
    LinkOrgs,
    LinkPick,
    LinkStart,
)
from keyboards.menu import MENU_BUTTONS


def router() -> Router:
    r = registered_only(Router(name="accounts"), linked_accounts=False)
    within_path = WithinPath(restart=browse.start)
    r.message.middleware(within_path)
    r.callback_query.middleware(within_path)
    r.message.register(leave_dialogue, StateFilter(Linking), TextIs(*MENU_BUTTONS))
    r.message.register(browse.start, Command("link"))
    r.callback_query.register(browse.on_start_button, LinkStart.filter())
    r.callback_query.register(browse.on_orgs, LinkOrgs.filter())
    r.callback_query.register(browse.on_houses, LinkHouses.filter())
    r.callback_query.register(
        browse.on_clear_search, LinkClearSearch.filter(), StateFilter(Linking.house)
    )
    typed = (StepInput(), PlainText())
    r.message.register(browse.on_house_search, StateFilter(Linking.house), *typed, flags=ON_PATH)
    r.callback_query.register(browse.on_apartments, LinkApartments.filter())
    r.message.register(
        browse.on_apartment_number, StateFilter(Linking.apartment), *typed, flags=ON_PATH
    )
    r.callback_query.register(browse.on_accounts, LinkAccounts.filter())
    r.callback_query.register(proof.on_pick, LinkPick.filter())
    r.callback_query.register(phone.on_link_by_phone, LinkByPhone.filter())
    proof_steps = StateFilter(Linking.proof, Linking.captcha)
    r.message.register(proof.on_typed, proof_steps, *typed, flags=ON_PATH)
    r.callback_query.register(
        proof.on_new_captcha, LinkNewCaptcha.filter(), StateFilter(Linking.captcha)
    )
    r.message.register(browse.on_other, StateFilter(Linking), StepInput())
    return r
