"""One account-period's receipt as plain, picklable data: what the renderer needs, and nothing
that imports the database layer. A render worker unpickles these, so this module (not
`receipts.data`, which loads them with SQLAlchemy) is all a worker imports for them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from storage.money import ZERO, Totals
from storage.periods import pay_by


@dataclass(frozen=True, slots=True)
class Payee:
    """The organization as the receipt and the payment QR code need it."""

    name: str
    inn: str
    kpp: str
    address: str
    phone: str
    bank_name: str
    bic: str
    corr_account: str
    settlement_account: str


@dataclass(frozen=True, slots=True)
class ChargeLine:
    service: str
    unit: str
    tariff: Decimal
    volume: Decimal
    amounts: Totals
    is_common: bool = False  # ОДН: common-house needs
    kind: str = ""  # "penalty", "benefit", "subsidy": a line of its own (storage.kinds)
    recalc_reason: str = ""  # why the recalculation was made
    recalc_from: dt.date | None = None  # the months it corrects
    recalc_to: dt.date | None = None

    @property
    def has_recalculation(self) -> bool:
        return self.amounts.recalculation != 0


@dataclass(frozen=True, slots=True)
class ChargeGroup:
    name: str
    lines: tuple[ChargeLine, ...]

    @property
    def subtotal(self) -> Totals:
        return Totals.of(line.amounts for line in self.lines)


@dataclass(frozen=True, slots=True)
class MeterLine:
    resource: str  # cold_water, hot_water, ...
    serial: str
    zone: str
    previous: Decimal | None
    current: Decimal | None
    taken_on: dt.date | None

    @property
    def consumption(self) -> Decimal | None:
        if self.previous is None or self.current is None:
            return None
        return self.current - self.previous


@dataclass(frozen=True, slots=True)
class ReceiptData:
    account_id: int
    account_number: str
    payer: str
    address: str
    area: Decimal | None
    ownership_type: str
    period: dt.date
    payee: Payee
    groups: tuple[ChargeGroup, ...]
    meters: tuple[MeterLine, ...] = field(default=())
    due_day: int = 10  # the organization's: the bill is due on this day of the next month
    extras: tuple[ChargeLine, ...] = field(default=())  # пени, льготы, субсидии

    @property
    def lines(self) -> tuple[ChargeLine, ...]:
        """Every line: the services' (by group), then пени, льготы and субсидии."""
        return (*(line for group in self.groups for line in group.lines), *self.extras)

    @property
    def totals(self) -> Totals:
        """The table's sums: the services' and the lines of their own (column by column)."""
        return Totals.of([*(group.subtotal for group in self.groups), *self._extra_amounts])

    @property
    def _extra_amounts(self) -> tuple[Totals, ...]:
        return tuple(line.amounts for line in self.extras)

    @property
    def to_pay(self) -> Decimal:
        """What the payer is asked to pay: the closing balance; nothing when it is an overpayment."""
        return max(self.totals.closing, ZERO)

    @property
    def pay_by(self) -> dt.date:
        return pay_by(self.period, self.due_day)

    @property
    def recalculations(self) -> tuple[ChargeLine, ...]:
        return tuple(line for line in self.lines if line.has_recalculation)
