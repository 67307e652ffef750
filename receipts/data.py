"""Loading a receipt: everything the ЕПД shows for an account-period, in a few queries.

`load_receipt` returns the plain dataclasses of `receipts.content` (no ORM objects), so a worker
process renders them without touching the database or importing SQLAlchemy.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from receipts.content import (
    ZERO,
    ChargeGroup,
    ChargeLine,
    MeterLine,
    Payee,
    ReceiptData,
)
from storage.kinds import KIND_ORDER, LineKind
from storage.models import Account, Apartment, Charge, Meter, Reading, Service
from storage.money import Totals
from storage.periods import add_months, format_period
from storage.repo.versions import visible
from texts import fmt

if TYPE_CHECKING:
    from storage.models import Organization

__all__ = [
    "ZERO",
    "ChargeGroup",
    "ChargeLine",
    "MeterLine",
    "Payee",
    "ReceiptData",
    "load_receipt",
    "load_receipts",
    "payee_of",
    "payer_address",
    "receipt_periods",
]


def payee_of(org: Organization) -> Payee:
    """The organization's details as its documents print them (the receipt, the statement)."""
    return Payee(
        name=org.name,
        inn=org.inn,
        kpp=org.kpp,
        address=org.address,
        phone=org.phone,
        bank_name=org.bank_name,
        bic=org.bic,
        corr_account=org.corr_account,
        settlement_account=org.settlement_account,
    )


def payer_address(house_address: str, apartment_number: str) -> str:
    return fmt.address(house_address, apartment_number)


async def receipt_periods(session: AsyncSession, account_id: int) -> list[dt.date]:
    """Periods that have charges for the account, latest first."""
    rows = await session.scalars(
        select(Charge.period)
        .where(Charge.account_id == account_id, visible(Charge))
        .group_by(Charge.period)
        .order_by(Charge.period.desc())
    )
    return list(rows)


async def load_receipt(
    session: AsyncSession, account_id: int, period: dt.date
) -> ReceiptData | None:
    """The receipt of `account_id` for `period`, or None when that period has no charges."""
    return (await load_receipts(session, [account_id], period)).get(account_id)


async def load_receipts(
    session: AsyncSession, account_ids: Sequence[int], period: dt.date
) -> dict[int, ReceiptData]:
    """Receipts of many accounts for one period in four queries (the push loads them in
    chunks); accounts without charges in the period are left out."""
    ids = list(dict.fromkeys(account_ids))
    if not ids:
        return {}
    charges = (
        await session.execute(
            select(Charge, Service)
            .join(Service, Service.id == Charge.service_id)
            .where(Charge.account_id.in_(ids), Charge.period == period, visible(Charge))
        )
    ).all()
    if not charges:
        return {}
    lines_of: dict[int, list[tuple[Charge, Service]]] = defaultdict(list)
    for charge, service in charges:
        lines_of[charge.account_id].append((charge, service))
    accounts = await session.scalars(
        select(Account)
        .where(Account.id.in_(list(lines_of)))
        .options(
            joinedload(Account.organization),
            joinedload(Account.apartment).joinedload(Apartment.house),
        )
    )
    meters = await _meter_lines(session, list(lines_of), period)
    out = {}
    for account in accounts:
        org = account.organization
        apartment = account.apartment
        out[account.id] = ReceiptData(
            account_id=account.id,
            account_number=account.number,
            payer=account.holder_name,
            address=payer_address(apartment.house.address, apartment.number),
            area=apartment.area,
            ownership_type=apartment.ownership_type,
            period=period,
            payee=payee_of(org),
            groups=_groups(lines_of[account.id]),
            meters=tuple(meters.get(account.id, ())),
            due_day=org.due_day,
            extras=_extras(lines_of[account.id]),
        )
    return out


def _groups(rows: list[tuple[Charge, Service]]) -> tuple[ChargeGroup, ...]:
    """Groups in the order of their first service (sort_order), lines by sort_order, name;
    пени, льготы and субсидии are no service and go to `_extras`."""
    grouped: dict[str, list[ChargeLine]] = {}
    for charge, service in sorted(rows, key=lambda row: (row[1].sort_order, row[1].name)):
        if not service.kind:
            grouped.setdefault(service.group_name, []).append(_line(charge, service))
    return tuple(ChargeGroup(name, tuple(lines)) for name, lines in grouped.items())


def _extras(rows: list[tuple[Charge, Service]]) -> tuple[ChargeLine, ...]:
    ordered = sorted(
        rows,
        key=lambda row: (KIND_ORDER.get(LineKind(row[1].kind), 0), row[1].sort_order, row[1].name),
    )
    return tuple(_line(charge, service) for charge, service in ordered if service.kind)


def _line(charge: Charge, service: Service) -> ChargeLine:
    return ChargeLine(
        service=service.name,
        unit=service.unit,
        tariff=charge.tariff,
        volume=charge.volume,
        amounts=Totals(
            charge.opening, charge.charged, charge.recalculation, charge.paid, charge.closing
        ),
        is_common=service.is_common,
        kind=service.kind,
        recalc_reason=charge.recalc_reason,
        recalc_from=charge.recalc_from,
        recalc_to=charge.recalc_to,
    )


async def _meter_lines(
    session: AsyncSession, account_ids: list[int], period: dt.date
) -> dict[int, list[MeterLine]]:
    """Each meter's current reading of the period (its latest version) and the one before it."""
    meters = list(
        await session.scalars(
            select(Meter)
            .where(Meter.account_id.in_(account_ids), Meter.archived.is_(False))
            .order_by(Meter.account_id, Meter.resource, Meter.zone, Meter.id)
        )
    )
    if not meters:
        return {}
    previous_period = add_months(period, -1)
    latest = (
        select(Reading.meter_id, Reading.period, func.max(Reading.version).label("version"))
        .where(
            Reading.meter_id.in_([m.id for m in meters]),
            Reading.period.in_([period, previous_period]),
        )
        .group_by(Reading.meter_id, Reading.period)
        .subquery()
    )
    rows = await session.execute(
        select(Reading.meter_id, Reading.period, Reading.value, Reading.taken_on).join(
            latest,
            (Reading.meter_id == latest.c.meter_id)
            & (Reading.period == latest.c.period)
            & (Reading.version == latest.c.version),
        )
    )
    values: dict[tuple[int, dt.date], tuple[Decimal, dt.date | None]] = {
        (meter_id, reading_period): (value, taken_on)
        for meter_id, reading_period, value, taken_on in rows
    }
    out: dict[int, list[MeterLine]] = defaultdict(list)
    for meter in meters:
        current = values.get((meter.id, period))
        previous = values.get((meter.id, previous_period))
        out[meter.account_id].append(
            MeterLine(
                resource=meter.resource,
                serial=meter.serial,
                zone=meter.zone,
                previous=previous[0] if previous else None,
                current=current[0] if current else None,
                taken_on=current[1] if current else None,
            )
        )
    return out


def receipt_filename(account_number: str, period: dt.date) -> str:
    return f"receipt_{account_number}_{format_period(period)}.pdf"
