"""The resident's money screens as use cases: the accounts list's balances, the account card, a
month's charges, the payments statement over a span, the histories of charges and payments, and
the data of the two charts.

Callers have authorized the account (handlers get it from `handlers.access.AccountAccess`); these
functions take its id and read only billing figures, never personal data. The card's and the month
view's figures come through a `BillingCache` (the billing data changes only on import); the rest
is read when asked (rarer screens, and pages a cache would hold once each).

Read-only: nothing here commits.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TypeVar, cast

from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from receipts.data import payee_of, payer_address
from receipts.statement_content import StatementDocument, StatementMonth, StatementPayment
from services import payments
from services.billing_cache import MISSING, BillingCache
from services.people_cache import PeopleCache
from services.readings.rules import local_now
from storage.models import Resident
from storage.money import ZERO
from storage.periods import add_months
from storage.repo import billing
from storage.repo.billing import (
    Balance,
    CardFigures,
    MeterSeries,
    MonthCharges,
    Page,
    Statement,
)

MAX_PAGE = 10_000  # deeper pages are forged: nobody has 800 years of history
MIN_YEAR, MAX_YEAR = 1990, 2200
STATEMENT_YEARS = 6  # calendar years offered for a statement, newest first
MAX_SPAN_MONTHS = 120
CHART_MONTHS = 12
CHART_SPANS = (12, 24)  # the spans a chart may be asked for

T = TypeVar("T")

_NO_BALANCE = "none"  # a cached "this account has no charges" (None cannot be told from a miss)


@dataclass(frozen=True, slots=True)
class Card:
    balance: Balance | None  # None: no charges yet
    several: bool  # the resident has linked more than this account: a way back to the list
    pending: Decimal  # paid through the bot, not yet booked by the billing


@dataclass(frozen=True, slots=True)
class StatementChoice:
    """What the statement's period picker offers."""

    latest: dt.date  # the latest period with charges
    years: tuple[int, ...]  # calendar years with charges, newest first


@dataclass(frozen=True, slots=True)
class ChargesChart:
    periods: tuple[dt.date, ...]  # from the first month with charges, at most CHART_MONTHS
    groups: tuple[tuple[str, tuple[Decimal, ...]], ...]  # (group name, amounts per period)


@dataclass(frozen=True, slots=True)
class ConsumptionChart:
    periods: tuple[dt.date, ...]
    # (meter, consumption per period: None where unknown or where the meter was replaced)
    meters: tuple[tuple[MeterSeries, tuple[Decimal | None, ...]], ...]


# --- the card and the month view (cached) ------------------------------------------------------


async def balances(
    session: AsyncSession, cache: BillingCache, account_ids: Sequence[int]
) -> dict[int, Balance | None]:
    """Each account's balance after its latest period with charges (None: no charges)."""
    await cache.refresh(session)
    found: dict[int, Balance | None] = {}
    missing = []
    for account_id in account_ids:
        kept = cache.get(("balance", account_id))
        if kept is MISSING:
            missing.append(account_id)
        else:
            found[account_id] = None if kept == _NO_BALANCE else cast(Balance, kept)
    if len(missing) == 1:
        read = {missing[0]: await billing.balance(session, missing[0])}
    else:
        read = dict(await billing.balances(session, missing)) if missing else {}
    for account_id in missing:
        value = read.get(account_id)
        cache.put(("balance", account_id), _NO_BALANCE if value is None else value)
        found[account_id] = value
    return found


async def card(
    session: AsyncSession,
    cache: BillingCache,
    people: PeopleCache,
    settings: Settings,
    account_id: int,
    resident: Resident,
) -> Card:
    """The card's figures: the balance, whether the resident has other accounts, and what was
    paid through the bot that the billing has not booked yet (asked only for an account someone
    paid through the bot).

    A process that keeps people has the balance and "paid through the bot" of each of the
    resident's accounts from when it read the resident (dropped with any change of either), so
    the card costs no query. Otherwise they come in one SELECT with the resident's number of
    links, which also refreshes the billing cache's balance for the accounts list."""
    figures = people.card_figures(resident, account_id)
    links = people.link_count(resident)
    if figures is None or links is None:
        await cache.refresh(session)
        summary = await billing.card_summary(session, account_id, resident.id)
        figures, links = CardFigures(summary.balance, summary.paid_in_bot), summary.links
        balance = figures.balance
        cache.put(("balance", account_id), _NO_BALANCE if balance is None else balance)
    paid = figures.paid_in_bot
    pending = await payments.pending_total(session, settings, account_id) if paid else ZERO
    return Card(figures.balance, links > 1, pending)


async def month(
    session: AsyncSession, cache: BillingCache, account_id: int, period: dt.date | None
) -> MonthCharges | None:
    """A month's charges with its neighbours (`period=None`: the latest month with charges);
    None when the month has none."""
    await cache.refresh(session)
    key = ("month", account_id, period)
    kept = cache.get(key)
    if kept is not MISSING:
        return cast(MonthCharges | None, kept)
    charges = await billing.month_charges(session, account_id, period)
    cache.put(key, charges)
    return charges


# --- the payments statement ----------------------------------------------------------------------


async def statement_choice(session: AsyncSession, account_id: int) -> StatementChoice | None:
    """The picker's offer (None: no charges yet)."""
    span = await billing.period_range(session, account_id)
    if span is None:
        return None
    first, last = span
    oldest = max(first.year, last.year - STATEMENT_YEARS + 1)
    return StatementChoice(last, tuple(range(last.year, oldest - 1, -1)))


async def statement_of_last(
    session: AsyncSession, account_id: int, months: int
) -> Statement | None:
    """The statement over the last `months` periods up to the latest with charges."""
    if not 1 <= months <= MAX_SPAN_MONTHS:
        return None
    last = await billing.latest_period(session, account_id)
    if last is None:
        return None
    return await billing.statement(session, account_id, add_months(last, -(months - 1)), last)


async def statement_of_year(session: AsyncSession, account_id: int, year: int) -> Statement | None:
    """The statement over a calendar year (None: no charges that year, or no such year)."""
    if not MIN_YEAR <= year <= MAX_YEAR:
        return None
    return await billing.statement(session, account_id, dt.date(year, 1, 1), dt.date(year, 12, 1))


async def statement_between(
    session: AsyncSession, account_id: int, first: dt.date, last: dt.date
) -> Statement | None:
    """The statement over any span of at most MAX_SPAN_MONTHS (None: no charges in it, or a span
    no one could ask for)."""
    months = span_months(first, last)
    if not 1 <= months <= MAX_SPAN_MONTHS or not MIN_YEAR <= first.year <= last.year <= MAX_YEAR:
        return None
    return await billing.statement(session, account_id, first, last)


def span_months(first: dt.date, last: dt.date) -> int:
    """How many months [first, last] holds (0 or less: a reversed span)."""
    return (last.year - first.year) * 12 + last.month - first.month + 1


# --- the statement as a document (PDF) ------------------------------------------------------------

# The per-month figures the document's table shows, in this order, by their names in
# `billing.Totals`; the span's row takes the opening of its first month, the closing of its last
# and sums the rest. The optional ones (пени, льготы, субсидии) show only when the span has them:
# most bills have none, and billing data without them has no such figures at all.
PDF_COLUMNS = (
    "opening", "charged", "penalties", "benefits", "subsidies", "recalculation", "paid", "closing",
)  # fmt: skip
_OPTIONAL_COLUMNS = frozenset({"penalties", "benefits", "subsidies"})
_SPAN_EDGES = {"opening": "start", "closing": "end"}


def _pdf_columns(months: Sequence[billing.MonthTotals]) -> tuple[str, ...]:
    return tuple(
        key
        for key in PDF_COLUMNS
        if key not in _OPTIONAL_COLUMNS or any(getattr(m.totals, key, None) for m in months)
    )


async def statement_span(session: AsyncSession, account_id: int) -> tuple[dt.date, dt.date] | None:
    """The first and the last month with charges: what the document's month pickers offer."""
    return await billing.period_range(session, account_id)


async def statement_document(
    session: AsyncSession, account_id: int, first: dt.date, last: dt.date
) -> StatementDocument | None:
    """The statement over the months from `first` to `last` (either order) as the PDF shows it,
    with the figures of `statement_between` (None: no charges in the span, or too long a span)."""
    first, last = min(first, last), max(first, last)
    found = await statement_between(session, account_id, first, last)
    if found is None:
        return None
    holder = await billing.holder_details(session, account_id)
    if holder is None:
        return None
    months = await billing.month_totals(session, account_id, found.first, found.last)
    number, name, house_address, apartment, org = holder
    columns = _pdf_columns(months)
    totals = tuple(
        getattr(found, _SPAN_EDGES[key])
        if key in _SPAN_EDGES
        else sum((getattr(m.totals, key) for m in months), billing.ZERO)
        for key in columns
    )
    return StatementDocument(
        account_number=number,
        holder=name,
        address=payer_address(house_address, apartment),
        payee=payee_of(org),
        first=found.first,
        last=found.last,
        columns=columns,
        months=tuple(
            StatementMonth(m.period, tuple(getattr(m.totals, key) for key in columns))
            for m in months
        ),
        totals=totals,
        end=found.end,
        adjustment=found.adjustment,
        payments=tuple(
            StatementPayment(p.paid_on, p.period, p.amount, p.source) for p in found.payments
        ),
        made_on=local_now(org.timezone).date(),
    )


# --- histories ------------------------------------------------------------------------------------


def valid_page(page: int) -> bool:
    return 0 <= page <= MAX_PAGE


PageReader = Callable[[AsyncSession, int, int], Awaitable[Page[T]]]


def _reachable(
    read: PageReader[T],
) -> Callable[[AsyncSession, int, int], Awaitable[Page[T] | None]]:
    """A history's page reader (session, account id, page number) that answers None for a page
    no one could have reached (a forged number) instead of reading."""

    async def page_or_none(session: AsyncSession, account_id: int, page: int) -> Page[T] | None:
        return await read(session, account_id, page) if valid_page(page) else None

    return page_or_none


# Per-month sums, newest first.
charges_history = _reachable(billing.month_totals_page)
# Payments received, newest first.
payments_history = _reachable(billing.payments_page)


# --- charts ---------------------------------------------------------------------------------------


async def charges_chart(
    session: AsyncSession, account_id: int, months: int = CHART_MONTHS
) -> ChargesChart | None:
    """Charges (without recalculations) by service group over the last `months` periods (one of
    CHART_SPANS), from the account's first month with charges (None: nothing to draw)."""
    data = (
        await billing.group_charges(session, account_id, months) if months in CHART_SPANS else None
    )
    if data is None:
        return None
    periods, groups = data
    start = next((i for i in range(len(periods)) if any(v[i] for v in groups.values())), None)
    if start is None:
        return None
    return ChargesChart(
        tuple(periods[start:]),
        tuple((name, tuple(values[start:])) for name, values in groups.items()),
    )


async def consumption_chart(
    session: AsyncSession, account_id: int, months: int = CHART_MONTHS
) -> ConsumptionChart | None:
    """Consumption per meter over the last `months` periods with readings (one of CHART_SPANS);
    meters without a single figure in the span are left out (None: nothing to draw)."""
    data = await billing.consumption(session, account_id, months) if months in CHART_SPANS else None
    if data is None:
        return None
    periods, meters = data
    shown = []
    for meter in meters:
        by_period = dict(meter.points)
        if any(p in by_period for p in periods):
            shown.append((meter, tuple(by_period.get(p) for p in periods)))
    return ConsumptionChart(tuple(periods), tuple(shown)) if shown else None
