""" "🏠 Мои счета" and /accounts: the accounts list, the account card, the month's charges.

The account a button names arrives authorized as `account` (`handlers.access.AccountAccess`);
the figures come from `services.statements` through this router's `BillingCache`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from aiogram import BaseMiddleware, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from handlers.access import NamedPeriod, registered_only
from handlers.filters import TextIs
from handlers.ui import edit_or_send, show_or_alert
from handlers.views import card as view
from keyboards import card as kb
from keyboards.callbacks import OpenCard
from services import statements
from services.billing_cache import BillingCache
from services.people_cache import PeopleCache
from storage.models import Account, Resident
from storage.repo.billing import MonthCharges
from texts import fmt
from texts.ru import card as t
from texts.ru import common


class ProvideCache(BaseMiddleware):
    """Hands the router's `BillingCache` to its handlers as `billing_cache`."""

    def __init__(self, cache: BillingCache) -> None:
        self.cache = cache

    async def __call__(self, handler: Any, event: Any, data: dict[str, Any]) -> Any:
        data["billing_cache"] = self.cache
        return await handler(event, data)


def router(cache: BillingCache | None = None) -> Router:
    """A fresh router; its figures are kept in `cache` (one per dispatcher by default)."""
    r = registered_only(Router(name="card"))
    provide = ProvideCache(cache or BillingCache())
    r.message.middleware(provide)
    r.callback_query.middleware(provide)
    r.callback_query.middleware(NamedPeriod(alert=t.NO_DATA))
    r.message.register(on_accounts, Command("accounts"))
    r.message.register(on_accounts, TextIs(common.BTN_ACCOUNTS))
    r.callback_query.register(on_accounts, kb.AccountsList.filter())
    r.callback_query.register(on_card, OpenCard.filter())
    r.callback_query.register(on_month, kb.ChargesMonth.filter())
    r.callback_query.register(on_month, kb.ChargesDetail.filter())
    return r


async def accounts_screen(
    session: AsyncSession,
    resident: Resident,
    people: PeopleCache,
    cache: BillingCache,
    settings: Settings,
) -> tuple[str, InlineKeyboardMarkup]:
    """No account: the way to link one; one: its card; several: the list with balances."""
    accounts = await people.accounts(session, resident)
    if not accounts:
        return f"{common.NO_ACCOUNTS}\n{t.NO_ACCOUNTS_HINT}", kb.link_keyboard()
    if len(accounts) == 1:
        account = accounts[0]
        figures = await statements.card(session, cache, people, settings, account.id, resident)
        return view.card_text(account, figures.balance, figures.pending), kb.card_keyboard(
            account.id, several=False, webapp_url=settings.webapp_url
        )
    found = people.balances(resident) or await statements.balances(
        session, cache, [a.id for a in accounts]
    )
    items = [(a.id, view.list_button(a)) for a in accounts]
    return view.list_text(accounts, found), kb.accounts_keyboard(items)


async def on_accounts(
    event: Message | CallbackQuery,
    session: AsyncSession,
    resident: Resident,
    people: PeopleCache,
    billing_cache: BillingCache,
    settings: Settings,
) -> None:
    text, markup = await accounts_screen(session, resident, people, billing_cache, settings)
    if isinstance(event, CallbackQuery):
        await event.answer()
    await edit_or_send(event, text, markup)


async def on_card(
    callback: CallbackQuery,
    account: Account,
    session: AsyncSession,
    resident: Resident,
    people: PeopleCache,
    billing_cache: BillingCache,
    settings: Settings,
) -> None:
    figures = await statements.card(session, billing_cache, people, settings, account.id, resident)
    await callback.answer()
    await edit_or_send(
        callback,
        view.card_text(account, figures.balance, figures.pending),
        kb.card_keyboard(account.id, several=figures.several, webapp_url=settings.webapp_url),
    )


async def on_month(
    callback: CallbackQuery,
    callback_data: kb.ChargesMonth | kb.ChargesDetail,
    account: Account,
    period: dt.date | None,
    session: AsyncSession,
    billing_cache: BillingCache,
    settings: Settings,
) -> None:
    """The month on one screen (the latest with charges for period 0, or the one named), or in
    detail behind «Подробно»: each service's tariff, volume, opening, recalculation, payment and
    balance."""
    month = await statements.month(session, billing_cache, account.id, period)
    screen = None if month is None else _month_screen(callback_data, account, month, settings)
    nothing = t.NO_CHARGES_YET if period is None else view.no_month_text(fmt.month(period))
    await show_or_alert(callback, screen, nothing)


def _month_screen(
    shown: kb.ChargesMonth | kb.ChargesDetail,
    account: Account,
    month: MonthCharges,
    settings: Settings,
) -> tuple[str, InlineKeyboardMarkup]:
    due_day = account.organization.due_day
    if isinstance(shown, kb.ChargesDetail):
        text = view.month_text(account.number, month, due_day)
        return text, kb.detail_keyboard(account.id, month.period)
    markup = kb.month_keyboard(
        account.id, month.period, month.previous, month.next, webapp_url=settings.webapp_url
    )
    return view.month_summary_text(account.number, month, due_day), markup
