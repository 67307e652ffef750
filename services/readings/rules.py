"""The rules of accepting a reading: the window, digits, rollover, spikes, verification.

Pure functions over plain values (no database, no aiogram), so that each rule is tested alone.
"""

from __future__ import annotations

import calendar
import datetime as dt
import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from services.readings.parser import COLD, HOT, WATER, MeterHint
from storage.periods import add_months

# Consumption in one period below which no spike is flagged, whatever the average (units of the
# meter: m³ for water and gas, kWh, Gcal).
SPIKE_FLOORS: dict[str, Decimal] = {
    COLD: Decimal(15),
    HOT: Decimal(10),
    "electricity": Decimal(300),
    "gas": Decimal(50),
    "heat": Decimal(2),
}
DEFAULT_SPIKE_FLOOR = Decimal(20)
SPIKE_FACTOR = 3
SPIKE_PERIODS = 6
VERIFICATION_WARNING_DAYS = 30

# Refusals (nothing saved)
TOO_MANY_DECIMALS = "too_many_decimals"
TOO_MANY_DIGITS = "too_many_digits"
BELOW_PREVIOUS = "below_previous"
WINDOW_CLOSED = "window_closed"
ARCHIVED = "archived"
VERIFICATION_EXPIRED = "verification_expired"
# Warnings (saved when the resident confirms, marked for operators)
ROLLOVER = "rollover"
SPIKE = "spike"


class MeterLike(Protocol):
    id: int
    resource: str
    serial: str
    zone: str
    digits: int
    decimals: int
    verification_due: dt.date | None
    archived: bool


def zone_of(name: str | None, fallback: str = "Europe/Moscow") -> ZoneInfo:
    try:
        return ZoneInfo(name or fallback)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(fallback)


def local_now(timezone: str, now: dt.datetime | None = None) -> dt.datetime:
    """Now in the organization's time zone (`now` is aware, or naive UTC)."""
    now = now or dt.datetime.now(dt.UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=dt.UTC)
    return now.astimezone(zone_of(timezone))


def current_period(timezone: str, now: dt.datetime | None = None) -> dt.date:
    """The reading's period: the current month in the organization's time zone."""
    return local_now(timezone, now).date().replace(day=1)


@dataclass(frozen=True)
class Window:
    """The readings window of a month, in the organization's local dates."""

    today: dt.date
    period: dt.date
    first: dt.date  # first day of this month's window
    last: dt.date  # its last day

    @property
    def is_open(self) -> bool:
        return self.first <= self.today <= self.last

    @property
    def opens_on(self) -> dt.date:
        """The first day of the next window that has not ended (this month's or next)."""
        if self.today <= self.last:
            return self.first
        return _window_days(add_months(self.period, 1), self.first.day, self.last.day)[0]

    @property
    def day_from(self) -> int:
        return self.first.day

    @property
    def day_to(self) -> int:
        return self.last.day


def _window_days(period: dt.date, day_from: int, day_to: int) -> tuple[dt.date, dt.date]:
    """The month's window, clamped to the month's length (a window "to the 31st" in February
    ends on its last day)."""
    length = calendar.monthrange(period.year, period.month)[1]
    day_from = min(max(day_from, 1), length)
    day_to = min(max(day_to, day_from), length)
    return period.replace(day=day_from), period.replace(day=day_to)


def reading_window(
    timezone: str, day_from: int, day_to: int, now: dt.datetime | None = None
) -> Window:
    today = local_now(timezone, now).date()
    period = today.replace(day=1)
    first, last = _window_days(period, day_from, day_to)
    return Window(today=today, period=period, first=first, last=last)


# --- digits ------------------------------------------------------------------------------------


def decimal_places(value: Decimal) -> int:
    """Significant decimal places: `123,400` has 1."""
    text = f"{value:f}"
    if "." not in text:
        return 0
    return len(text.split(".", 1)[1].rstrip("0"))


def integer_digits(value: Decimal) -> int:
    return len(str(int(abs(value)))) if abs(value) >= 1 else 1


def rollover_consumption(meter: MeterLike, previous: Decimal, value: Decimal) -> Decimal | None:
    """Use across the dial's wrap when it is plausible: the previous reading was in the top tenth
    of the dial and the new one is in the bottom tenth (the counter passed 99999 → 00000)."""
    capacity = Decimal(10) ** meter.digits
    if previous >= capacity * Decimal("0.9") and value < capacity * Decimal("0.1"):
        return value + capacity - previous
    return None


# --- verdicts ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    """What happens to one value: refused (`error`), or accepted with its use, possibly after
    the resident confirms a `warning`."""

    error: str | None = None
    warning: str | None = None
    consumption: Decimal | None = None
    previous: Decimal | None = None
    average: Decimal | None = None

    @property
    def accepted(self) -> bool:
        return self.error is None


def average_consumption(values: Sequence[Decimal]) -> Decimal | None:
    """Average use per period from the last readings, oldest first (`SPIKE_PERIODS` + 1 values
    give `SPIKE_PERIODS` uses); negative steps (rollovers, replacements) are left out."""
    uses = [b - a for a, b in itertools.pairwise(values) if b >= a]
    uses = uses[-SPIKE_PERIODS:]
    if not uses:
        return None
    return sum(uses, Decimal(0)) / len(uses)


def judge(
    meter: MeterLike,
    value: Decimal,
    *,
    today: dt.date,
    window: Window,
    previous: Decimal | None,
    recent: Sequence[Decimal] = (),
) -> Verdict:
    """Apply every rule to one value for one meter. `previous` is the last accepted reading of an
    earlier period; `recent` the last readings (one per earlier period, oldest first)."""
    if meter.archived:
        return Verdict(error=ARCHIVED)
    if meter.verification_due is not None and meter.verification_due < today:
        return Verdict(error=VERIFICATION_EXPIRED)
    if not window.is_open:
        return Verdict(error=WINDOW_CLOSED)
    if decimal_places(value) > meter.decimals:
        return Verdict(error=TOO_MANY_DECIMALS)
    if integer_digits(value) > meter.digits:
        return Verdict(error=TOO_MANY_DIGITS)
    if previous is None:
        return Verdict(consumption=None)
    if value < previous:
        use = rollover_consumption(meter, previous, value)
        if use is None:
            return Verdict(error=BELOW_PREVIOUS, previous=previous)
        return Verdict(warning=ROLLOVER, consumption=use, previous=previous)
    use = value - previous
    average = average_consumption(recent)
    floor = SPIKE_FLOORS.get(meter.resource, DEFAULT_SPIKE_FLOOR)
    if average is not None and use > average * SPIKE_FACTOR and use > floor:
        return Verdict(warning=SPIKE, consumption=use, previous=previous, average=average)
    return Verdict(consumption=use, previous=previous, average=average)


def verification_soon(meter: MeterLike, today: dt.date) -> bool:
    due = meter.verification_due
    return due is not None and today <= due <= today + dt.timedelta(days=VERIFICATION_WARNING_DAYS)


# --- which meter ------------------------------------------------------------------------------


def _digits(text: str) -> str:
    return "".join(char for char in text if char.isdigit())


def match_meters(hint: MeterHint, meters: Iterable[MeterLike]) -> list[MeterLike]:
    """The meters a hint can mean (the resident's active meters). One: that meter; several: ask;
    none: the resident named a meter they do not have."""
    candidates = list(meters)
    if hint.serial_tail:
        tail = hint.serial_tail
        candidates = [m for m in candidates if _digits(m.serial).endswith(tail)]
    if hint.resource == WATER:
        candidates = [m for m in candidates if m.resource in (COLD, HOT)]
    elif hint.resource:
        candidates = [m for m in candidates if m.resource == hint.resource]
    if hint.zone:
        zoned = [m for m in candidates if m.zone == hint.zone]
        # A zone word means something only for multi-tariff meters ("добрый день, ХВС 5")
        if zoned or any(m.zone for m in candidates):
            candidates = zoned
    return candidates
