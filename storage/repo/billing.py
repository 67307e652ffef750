"""Billing read models for the account card, the month's charges, the payments statement, the
histories and the charts.

Every function here reads one account's data in one or two SELECTs on the charges unique index
(account_id, period, service_id) or the payments index (account_id, period). Results are plain
frozen dataclasses (no ORM objects): the text builders and the chart renderer take them as they
are, in this process or in a worker process.

The caller has authorized the account (`storage.repo.accounts.get_linked_account`).
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Select, bindparam, case, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased, joinedload

from storage.kinds import KIND_ORDER, LineKind
from storage.models import (
    Account,
    AccountLink,
    Apartment,
    BotPayment,
    Charge,
    House,
    Meter,
    Organization,
    Payment,
    Reading,
    Service,
)
from storage.money import ZERO, Totals
from storage.periods import add_months
from storage.repo.versions import PAYMENTS, visible
from storage.types import Money, Period

T = TypeVar("T")


# --- data -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Balance:
    """The account's position after its latest period with charges."""

    period: dt.date
    closing: Decimal  # > 0: debt with payment; < 0: overpayment


@dataclass(frozen=True, slots=True)
class ChargeLine:
    service: str
    unit: str
    group: str
    is_common: bool  # ОДН
    tariff: Decimal
    volume: Decimal
    opening: Decimal
    charged: Decimal
    recalculation: Decimal
    paid: Decimal
    closing: Decimal
    kind: str = LineKind.SERVICE  # пени, льгота, субсидия: a line of its own (storage.kinds)
    recalc_reason: str = ""  # why the recalculation was made
    recalc_from: dt.date | None = None  # the months it corrects
    recalc_to: dt.date | None = None


@dataclass(frozen=True, slots=True)
class ChargeGroup:
    name: str
    lines: tuple[ChargeLine, ...]
    totals: Totals


@dataclass(frozen=True, slots=True)
class MonthCharges:
    period: dt.date
    groups: tuple[ChargeGroup, ...]
    totals: Totals
    previous: dt.date | None  # the nearest earlier period with charges
    next: dt.date | None  # the nearest later period with charges
    extras: tuple[ChargeLine, ...] = ()  # пени, льготы, субсидии: lines of their own

    @property
    def lines(self) -> tuple[ChargeLine, ...]:
        return (*(line for group in self.groups for line in group.lines), *self.extras)

    @property
    def recalculations(self) -> tuple[ChargeLine, ...]:
        return tuple(line for line in self.lines if line.recalculation)


@dataclass(frozen=True, slots=True)
class MonthTotals:
    period: dt.date
    totals: Totals


@dataclass(frozen=True, slots=True)
class PaymentRow:
    paid_on: dt.date
    period: dt.date
    amount: Decimal
    source: str


@dataclass(frozen=True, slots=True)
class Statement:
    """Движение финансов for a span of months: `start + charged + recalculation − paid +
    adjustment = end`, to the kopeck, always.

    `start` is the sum of openings of the span's first month with charges, `end` the sum of
    closings of its last; `paid` is what the billing allocated to the services in the span.
    `adjustment` is zero on consistent billing data (each line's closing = opening + charged +
    recalculation − paid, and each month opens with the previous month's closing); it shows
    only what the billing changed between months by other means.
    """

    first: dt.date
    last: dt.date
    start: Decimal
    charged: Decimal
    recalculation: Decimal
    paid: Decimal
    adjustment: Decimal
    end: Decimal
    payments: tuple[PaymentRow, ...]  # payments received, booked in the span
    # пени, льготы and субсидии (the last two negative): `start + charged + penalties + benefits
    # + subsidies + recalculation − paid + adjustment = end`
    penalties: Decimal = ZERO
    benefits: Decimal = ZERO
    subsidies: Decimal = ZERO

    @property
    def received(self) -> Decimal:
        return sum((p.amount for p in self.payments), ZERO)


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: tuple[T, ...]
    page: int
    has_more: bool  # an older page exists


@dataclass(frozen=True, slots=True)
class MeterSeries:
    resource: str
    serial: str
    zone: str
    # (period, consumption) for each period whose reading has a previous one; None where the
    # difference is negative (a replaced or rolled-over meter)
    points: tuple[tuple[dt.date, Decimal | None], ...]


# --- queries ----------------------------------------------------------------------------------


async def accounts_by_number(
    session: AsyncSession, number: str, organization_code: str | None = None
) -> list[Account]:
    """Operators' look-up (`python -m bot card`): numbers are unique within an organization."""
    query = (
        select(Account)
        .join(Organization, Organization.id == Account.organization_id)
        .where(Account.number == number)
        .order_by(Organization.code)
        .options(
            joinedload(Account.organization),
            joinedload(Account.apartment).joinedload(Apartment.house),
        )
    )
    if organization_code is not None:
        query = query.where(Organization.code == organization_code)
    return list(await session.scalars(query))


# The card's and the month view's statements are built once, with bound parameters: building
# a statement costs more than running these indexed SELECTs (SQLAlchemy reuses the compiled form).
# Each reads one account's rows through the charges index.
_ACCOUNT = bindparam("account_id")


def _latest(account: ColumnElement[int] = _ACCOUNT, charge: Any = Charge) -> ColumnElement[dt.date]:
    # correlated to whichever enclosing SELECT has the account, however deep this is nested
    return (
        select(func.max(charge.period))
        .where(charge.account_id == account, visible(charge))
        .correlate_except(charge)
        .scalar_subquery()
    )


def card_figures(account: ColumnElement[int]) -> tuple[ColumnElement[Any], ...]:
    """Columns of an account's card figures for a SELECT that has the account's id as `account`
    (a bound parameter or a column): the latest period with charges, the closing balance of that
    period, and whether anyone paid the account through the bot. Read with `figures_of()`."""
    return (
        _latest(account),
        select(func.sum(Charge.closing))
        .where(
            Charge.account_id == account,
            Charge.period == _latest(account, aliased(Charge)),  # its own charges, not these
            visible(Charge),
        )
        .scalar_subquery(),
        exists().where(BotPayment.account_id == account),
    )


def figures_of(period: dt.date | None, closing: Decimal | None, paid: Any) -> CardFigures:
    """`card_figures()` columns as read."""
    return CardFigures(None if period is None else Balance(period, closing or ZERO), bool(paid))


async def holder_details(
    session: AsyncSession, account_id: int
) -> tuple[str, str, str, str, Organization] | None:
    """(number, holder's name, house address, apartment number, organization) of an account,
    for the documents that name the payer (the account statement)."""
    row = (
        await session.execute(
            select(
                Account.number, Account.holder_name, House.address, Apartment.number, Organization
            )
            .join(Apartment, Apartment.id == Account.apartment_id)
            .join(House, House.id == Apartment.house_id)
            .join(Organization, Organization.id == Account.organization_id)
            .where(Account.id == account_id)
        )
    ).first()
    return None if row is None else (row[0], row[1], row[2], row[3], row[4])


async def latest_period(session: AsyncSession, account_id: int) -> dt.date | None:
    return await session.scalar(
        select(func.max(Charge.period)).where(Charge.account_id == account_id, visible(Charge))
    )


async def period_range(session: AsyncSession, account_id: int) -> tuple[dt.date, dt.date] | None:
    """The first and the last period with charges."""
    row = (
        await session.execute(
            select(func.min(Charge.period), func.max(Charge.period)).where(
                Charge.account_id == account_id, visible(Charge)
            )
        )
    ).one()
    return None if row[0] is None else (row[0], row[1])


_BALANCE = (
    select(Charge.period, func.sum(Charge.closing))
    .where(Charge.account_id == _ACCOUNT, Charge.period == _latest(), visible(Charge))
    .group_by(Charge.period)
)


async def balance(session: AsyncSession, account_id: int) -> Balance | None:
    """Debt with payment: the sum of closings over the latest period's charges (one SELECT)."""
    row = (await session.execute(_BALANCE, {"account_id": account_id})).first()
    return None if row is None else Balance(row[0], row[1])


_CARD_SUMMARY = select(
    *card_figures(_ACCOUNT),
    select(func.count(AccountLink.id))
    .where(AccountLink.resident_id == bindparam("resident_id"))
    .scalar_subquery(),
)


@dataclass(frozen=True, slots=True)
class CardFigures:
    balance: Balance | None  # None: no charges yet
    paid_in_bot: bool  # some payment of the account was made through the bot


@dataclass(frozen=True, slots=True)
class CardSummary:
    balance: Balance | None  # None: no charges yet
    links: int  # how many accounts the resident has linked
    paid_in_bot: bool  # some payment of the account was made through the bot


async def card_summary(session: AsyncSession, account_id: int, resident_id: int) -> CardSummary:
    """The account's balance, how many accounts the resident has linked (the card shows a way
    back to the list only to residents with several) and whether anyone paid it through the bot
    (only then are its pending payments worth a query), in one SELECT."""
    params = {"account_id": account_id, "resident_id": resident_id}
    period, amount, paid, count = (await session.execute(_CARD_SUMMARY, params)).one()
    figures = figures_of(period, amount, paid)
    return CardSummary(figures.balance, int(count), figures.paid_in_bot)


_LINK_COUNT = select(func.count(AccountLink.id)).where(
    AccountLink.resident_id == bindparam("resident_id")
)


async def link_count(session: AsyncSession, resident_id: int) -> int:
    """How many accounts the resident has linked (the card's figures may come from a cache)."""
    return int(await session.scalar(_LINK_COUNT, {"resident_id": resident_id}) or 0)


def _balances_query() -> Select[tuple[int, dt.date, Decimal]]:
    other = aliased(Charge)
    latest = (
        select(func.max(other.period))
        .where(other.account_id == Charge.account_id, visible(other))
        .scalar_subquery()
    )
    return (
        select(Charge.account_id, Charge.period, func.sum(Charge.closing))
        .where(Charge.account_id.in_(bindparam("account_ids", expanding=True)))
        .where(Charge.period == latest, visible(Charge))
        .group_by(Charge.account_id, Charge.period)
    )


_BALANCES = _balances_query()


async def balances(session: AsyncSession, account_ids: Sequence[int]) -> dict[int, Balance]:
    """`balance` of several accounts in one SELECT (the accounts list)."""
    if not account_ids:
        return {}
    rows = await session.execute(_BALANCES, {"account_ids": list(account_ids)})
    return {account_id: Balance(period, closing) for account_id, period, closing in rows}


def _month_query(target: ColumnElement[dt.date]) -> Select[tuple[object, ...]]:
    previous = (
        select(func.max(Charge.period))
        .where(Charge.account_id == _ACCOUNT, Charge.period < target, visible(Charge))
        .scalar_subquery()
    )
    following = (
        select(func.min(Charge.period))
        .where(Charge.account_id == _ACCOUNT, Charge.period > target, visible(Charge))
        .scalar_subquery()
    )
    return (
        select(
            Charge.period,
            Service.name,
            Service.unit,
            Service.group_name,
            Service.is_common,
            Charge.tariff,
            Charge.volume,
            Charge.opening,
            Charge.charged,
            Charge.recalculation,
            Charge.paid,
            Charge.closing,
            previous.label("previous"),
            following.label("following"),
            Service.kind,
            Charge.recalc_reason,
            Charge.recalc_from,
            Charge.recalc_to,
        )
        .join(Service, Service.id == Charge.service_id)
        .where(Charge.account_id == _ACCOUNT, Charge.period == target, visible(Charge))
        .order_by(Service.is_common, Service.sort_order, Service.id)
    )


_MONTH_LATEST = _month_query(_latest())
_MONTH_OF_PERIOD = _month_query(bindparam("period", type_=Period()))


async def month_charges(
    session: AsyncSession, account_id: int, period: dt.date | None = None
) -> MonthCharges | None:
    """One month's charges with its neighbours (None: no charges that month). `period=None`
    is the latest period with charges. One SELECT."""
    if period is None:
        result = await session.execute(_MONTH_LATEST, {"account_id": account_id})
    else:
        result = await session.execute(
            _MONTH_OF_PERIOD, {"account_id": account_id, "period": period}
        )
    rows = result.all()
    if not rows:
        return None
    grouped: dict[str, list[ChargeLine]] = {}
    extras: list[ChargeLine] = []
    for row in rows:
        line = ChargeLine(
            service=row[1], unit=row[2], group=row[3], is_common=row[4], tariff=row[5],
            volume=row[6], opening=row[7], charged=row[8], recalculation=row[9], paid=row[10],
            closing=row[11], kind=row[14], recalc_reason=row[15], recalc_from=row[16],
            recalc_to=row[17],
        )  # fmt: skip
        if line.kind:
            extras.append(line)  # never inside a service group
        else:
            grouped.setdefault(line.group, []).append(line)
    groups = tuple(
        ChargeGroup(name, tuple(lines), Totals.of(lines)) for name, lines in grouped.items()
    )
    return MonthCharges(
        period=rows[0][0],
        groups=groups,
        totals=Totals.of([*(line for group in groups for line in group.lines), *extras]),
        previous=rows[0][12],
        next=rows[0][13],
        extras=tuple(sorted(extras, key=lambda line: KIND_ORDER.get(LineKind(line.kind), 0))),
    )


def _charged_of(kind: LineKind) -> ColumnElement[Decimal]:
    return func.sum(case((Service.kind == str(kind), Charge.charged), else_=0), type_=Money())


def _month_totals_query(account_id: int):  # type: ignore[no-untyped-def]
    return (
        select(
            Charge.period,
            func.sum(Charge.opening),
            _charged_of(LineKind.SERVICE),
            func.sum(Charge.recalculation),
            func.sum(Charge.paid),
            func.sum(Charge.closing),
            _charged_of(LineKind.PENALTY),
            _charged_of(LineKind.BENEFIT),
            _charged_of(LineKind.SUBSIDY),
        )
        .join(Service, Service.id == Charge.service_id)
        .where(Charge.account_id == account_id, visible(Charge))
        .group_by(Charge.period)
    )


def _to_month_totals(rows: Iterable[Sequence[object]]) -> list[MonthTotals]:
    return [MonthTotals(row[0], Totals(*row[1:9])) for row in rows]  # type: ignore[arg-type]


async def month_totals(
    session: AsyncSession, account_id: int, first: dt.date, last: dt.date
) -> list[MonthTotals]:
    """Per-month sums over [first, last], oldest first (one SELECT)."""
    rows = await session.execute(
        _month_totals_query(account_id)
        .where(Charge.period >= first, Charge.period <= last)
        .order_by(Charge.period)
    )
    return _to_month_totals(rows)


async def month_totals_page(
    session: AsyncSession, account_id: int, page: int, per_page: int = 12
) -> Page[MonthTotals]:
    """The history of charges: per-month sums, newest first, `per_page` months a page."""
    rows = (
        await session.execute(
            _month_totals_query(account_id)
            .order_by(Charge.period.desc())
            .offset(page * per_page)
            .limit(per_page + 1)
        )
    ).all()
    return Page(tuple(_to_month_totals(rows[:per_page])), page, len(rows) > per_page)


async def payments_in(
    session: AsyncSession, account_id: int, first: dt.date, last: dt.date
) -> list[PaymentRow]:
    rows = await session.execute(
        select(Payment.paid_on, Payment.period, Payment.amount, Payment.source)
        .where(Payment.account_id == account_id, Payment.period >= first, Payment.period <= last)
        .where(visible(Payment, PAYMENTS))
        .order_by(Payment.paid_on, Payment.id)
    )
    return [PaymentRow(*row) for row in rows]


async def payments_page(
    session: AsyncSession, account_id: int, page: int, per_page: int = 10
) -> Page[PaymentRow]:
    """The history of payments, newest first."""
    rows = (
        await session.execute(
            select(Payment.paid_on, Payment.period, Payment.amount, Payment.source)
            .where(Payment.account_id == account_id, visible(Payment, PAYMENTS))
            .order_by(Payment.paid_on.desc(), Payment.id.desc())
            .offset(page * per_page)
            .limit(per_page + 1)
        )
    ).all()
    return Page(tuple(PaymentRow(*row) for row in rows[:per_page]), page, len(rows) > per_page)


def compose_statement(
    months: Sequence[MonthTotals], payments: Sequence[PaymentRow]
) -> Statement | None:
    """The statement from per-month sums (oldest first) and the payments booked in the span."""
    if not months:
        return None
    start = months[0].totals.opening
    end = months[-1].totals.closing
    charged = sum((m.totals.charged for m in months), ZERO)
    recalculation = sum((m.totals.recalculation for m in months), ZERO)
    paid = sum((m.totals.paid for m in months), ZERO)
    penalties = sum((m.totals.penalties for m in months), ZERO)
    benefits = sum((m.totals.benefits for m in months), ZERO)
    subsidies = sum((m.totals.subsidies for m in months), ZERO)
    adjustment = end - (start + charged + penalties + benefits + subsidies + recalculation - paid)
    return Statement(
        first=months[0].period,
        last=months[-1].period,
        start=start,
        charged=charged,
        recalculation=recalculation,
        paid=paid,
        adjustment=adjustment,
        end=end,
        payments=tuple(payments),
        penalties=penalties,
        benefits=benefits,
        subsidies=subsidies,
    )


async def statement(
    session: AsyncSession, account_id: int, first: dt.date, last: dt.date
) -> Statement | None:
    """The payments statement over [first, last] (None: no charges in the span). Two SELECTs."""
    months = await month_totals(session, account_id, first, last)
    if not months:
        return None
    payments = await payments_in(session, account_id, months[0].period, months[-1].period)
    return compose_statement(months, payments)


async def group_charges(
    session: AsyncSession, account_id: int, months: int = 12
) -> tuple[list[dt.date], dict[str, list[Decimal]]] | None:
    """Charges (without recalculations) by service group over the last `months` periods up to
    the latest one with charges: (periods, {group: amounts aligned with periods})."""
    last = await latest_period(session, account_id)
    if last is None:
        return None
    first = add_months(last, -(months - 1))
    rows = await session.execute(
        select(Charge.period, Service.group_name, func.sum(Charge.charged))
        .join(Service, Service.id == Charge.service_id)
        .where(Charge.account_id == account_id, Charge.period >= first, Charge.period <= last)
        .where(visible(Charge), Service.kind == str(LineKind.SERVICE))
        .group_by(Charge.period, Service.group_name)
        .order_by(Charge.period, Service.group_name)
    )
    periods = [add_months(first, i) for i in range(months)]
    index = {p: i for i, p in enumerate(periods)}
    groups: dict[str, list[Decimal]] = {}
    for period, group, amount in rows:
        groups.setdefault(group, [ZERO] * months)[index[period]] += amount
    return periods, groups


async def consumption(
    session: AsyncSession, account_id: int, months: int = 12
) -> tuple[list[dt.date], list[MeterSeries]] | None:
    """Consumption per meter over the last `months` periods with readings: the difference of
    each period's current reading (the highest version) and the previous period's."""
    meters = (
        await session.execute(
            select(Meter.id, Meter.resource, Meter.serial, Meter.zone)
            .where(Meter.account_id == account_id, Meter.archived.is_(False))
            .order_by(Meter.resource, Meter.zone, Meter.id)
        )
    ).all()
    if not meters:
        return None
    readings = await session.execute(
        select(Reading.meter_id, Reading.period, Reading.value)
        .where(Reading.meter_id.in_([m[0] for m in meters]))
        .order_by(Reading.meter_id, Reading.period, Reading.version)
    )
    current: dict[int, dict[dt.date, Decimal]] = {}
    for meter_id, period, value in readings:
        current.setdefault(meter_id, {})[period] = value  # the last version wins
    all_periods = sorted({p for values in current.values() for p in values})
    if not all_periods:
        return None
    last = all_periods[-1]
    periods = [add_months(last, -(months - 1) + i) for i in range(months)]
    series = []
    for meter_id, resource, serial, zone in meters:
        values = current.get(meter_id, {})
        ordered = sorted(values)
        points: list[tuple[dt.date, Decimal | None]] = []
        for earlier, later in itertools.pairwise(ordered):
            if later < periods[0]:
                continue
            used = values[later] - values[earlier]
            points.append((later, used if used >= 0 else None))
        series.append(MeterSeries(resource, serial, zone, tuple(points)))
    return periods, series
