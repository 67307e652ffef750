"""The readings dialogue's decisions: which meter a value is for, whether it is taken, saving it.

A resident's message is parsed (`services.readings.parser`), matched against their active meters
and judged by the rules (`services.readings.rules`). What the bot understood waits for the
resident's confirmation as a `Pending` (plain data, kept in the dialogue state between updates);
`save` applies the rules again (the window may have closed, a reading may have changed since the
question) and commits. The update id of the confirmation marks the first saved reading
(`Reading.update_id`, unique), so a redelivered confirmation saves nothing twice.

Nothing here speaks Russian or Telegram: refusals and warnings are `Problem` codes with the
figures they need; `handlers/readings/views.py` words them.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import asdict, dataclass, field
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.readings import rules
from services.readings.parser import ParseResult
from storage.models import Account, Meter
from storage.repo import readings as repo
from storage.repo.accounts import linked_accounts

log = logging.getLogger(__name__)


class Problem(StrEnum):
    """Why a value is not taken. The first four come from the parser, the rules' own codes from
    `rules.judge`, the rest from matching and saving."""

    NOT_A_NUMBER = "not_a_number"
    NEGATIVE = "negative"
    TOO_LONG = "too_long"
    UNCLEAR = "unclear"
    NO_METER = "no_meter"
    SAME_METER = "same_meter"
    METER_GONE = "meter_gone"
    ARCHIVED = rules.ARCHIVED
    VERIFICATION_EXPIRED = rules.VERIFICATION_EXPIRED
    WINDOW_CLOSED = rules.WINDOW_CLOSED
    TOO_MANY_DECIMALS = rules.TOO_MANY_DECIMALS
    TOO_MANY_DIGITS = rules.TOO_MANY_DIGITS
    BELOW_PREVIOUS = rules.BELOW_PREVIOUS


@dataclass
class Refusal:
    """One value not taken, with what its wording needs."""

    problem: Problem
    typed: str = ""
    meter_id: int = 0
    value: str = ""  # Decimal as text
    previous: str = ""
    hint: dict[str, str | None] = field(default_factory=dict)  # resource, zone, serial_tail
    window: dict[str, str] = field(default_factory=dict)  # day_from, day_to, opens (ISO)


@dataclass
class Item:
    """A value waiting for its meter (`meter_id` None: the resident chooses among candidates)."""

    value: str
    typed: str
    candidates: list[int]
    meter_id: int | None = None
    warning: str = ""


@dataclass
class Pending:
    """What the bot understood of one message; `nonce` ties buttons to it."""

    nonce: int
    items: list[Item] = field(default_factory=list)
    refusals: list[Refusal] = field(default_factory=list)
    photo: str = ""  # Telegram's file_id of a photo sent with the readings (evidence)

    def to_state(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_state(cls, data: object) -> Pending | None:
        """The pending readings kept in the dialogue state, or None when there are none (or the
        state holds something else: an old format, a cleared dialogue)."""
        if not isinstance(data, dict):
            return None
        try:
            return cls(
                nonce=int(data["nonce"]),
                items=[Item(**item) for item in data.get("items", [])],
                refusals=[
                    Refusal(**{**r, "problem": Problem(r["problem"])})
                    for r in data.get("refusals", [])
                ],
                photo=str(data.get("photo") or ""),
            )
        except (KeyError, TypeError, ValueError):
            return None

    def choose(self, index: int, meter_id: int) -> bool:
        """The resident picked `meter_id` for item `index`; False for a forged or stale pick."""
        if not 0 <= index < len(self.items) or meter_id not in self.items[index].candidates:
            return False
        self.items[index].meter_id = meter_id
        return True

    def next_choice(self) -> tuple[int, Item] | None:
        """The first value still needing its meter chosen."""
        return next(((i, item) for i, item in enumerate(self.items) if item.meter_id is None), None)


@dataclass
class ResidentMeters:
    """The resident's open accounts and their meters, for matching and judging values."""

    accounts: dict[int, Account]
    meters: dict[int, Meter]  # active
    archived: dict[int, Meter]

    def account_of(self, meter: Meter) -> Account:
        return self.accounts[meter.account_id]


async def resident_meters(session: AsyncSession, resident_id: int) -> ResidentMeters:
    accounts = {a.id: a for a in await linked_accounts(session, resident_id) if not a.closed}
    meters = await repo.meters_of_accounts(session, list(accounts))
    return ResidentMeters(
        accounts,
        {m.id: m for m in meters if not m.archived},
        {m.id: m for m in meters if m.archived},
    )


def understand(meters: ResidentMeters, parsed: ParseResult, nonce: int) -> Pending:
    """Match each parsed value to the meters it can mean; values for no meter are refused."""
    pending = Pending(nonce)
    pending.refusals = [Refusal(Problem(e.reason), typed=e.typed) for e in parsed.errors]
    for value in parsed.values:
        candidates = rules.match_meters(value.hint, meters.meters.values())
        if not candidates and not value.hint.is_empty:
            retired = rules.match_meters(value.hint, meters.archived.values())
            if retired:  # the resident named a meter taken out of service
                pending.refusals.append(Refusal(Problem.ARCHIVED, meter_id=retired[0].id))
                continue
        if not candidates:
            hint = {
                "resource": value.hint.resource,
                "zone": value.hint.zone,
                "serial_tail": value.hint.serial_tail,
            }
            pending.refusals.append(Refusal(Problem.NO_METER, typed=value.typed, hint=hint))
            continue
        only = candidates[0].id if len(candidates) == 1 else None
        pending.items.append(
            Item(str(value.value), value.typed, [m.id for m in candidates], meter_id=only)
        )
    drop_duplicates(pending)
    return pending


async def narrow(session: AsyncSession, meters: ResidentMeters, pending: Pending) -> None:
    """For a value several meters could mean, keep the meters that can take it (not refused:
    not below the previous reading, verification valid, ...; and no warning: not a spike): one
    such meter is chosen without asking, several are what the resident chooses among. When none
    fits, every candidate stays: the resident's choice then gets the rule's own answer."""
    for item in pending.items:
        if item.meter_id is not None or len(item.candidates) < 2:
            continue
        fitting = []
        for meter_id in item.candidates:
            judged = await judge(session, meters, meters.meters[meter_id], Decimal(item.value))
            if judged.refusal is None and not judged.verdict.warning:
                fitting.append(meter_id)
        if len(fitting) == 1:
            item.meter_id = fitting[0]
        elif fitting:
            item.candidates = fitting
    drop_duplicates(pending)


def drop_duplicates(pending: Pending) -> None:
    """Two values for one meter: keep neither, ask for one."""
    seen: dict[int, int] = {}
    for item in pending.items:
        if item.meter_id is not None:
            seen[item.meter_id] = seen.get(item.meter_id, 0) + 1
    twice = {meter_id for meter_id, count in seen.items() if count > 1}
    if not twice:
        return
    pending.items = [item for item in pending.items if item.meter_id not in twice]
    pending.refusals.extend(Refusal(Problem.SAME_METER, meter_id=m) for m in sorted(twice))


@dataclass
class Judged:
    """One value for one meter, judged by the rules now."""

    meter: Meter
    value: Decimal
    verdict: rules.Verdict
    window: rules.Window
    replaces: Decimal | None = None  # this period's reading the value would correct
    refusal: Refusal | None = None

    @property
    def period(self) -> dt.date:
        return self.window.period


async def judge(
    session: AsyncSession, meters: ResidentMeters, meter: Meter, value: Decimal
) -> Judged:
    org = meters.account_of(meter).organization
    window = rules.reading_window(org.timezone, org.readings_day_from, org.readings_day_to)
    previous = (await repo.last_readings_before(session, [meter.id], window.period)).get(meter.id)
    recent = await repo.recent_values(session, meter.id, window.period, rules.SPIKE_PERIODS + 1)
    verdict = rules.judge(
        meter,
        value,
        today=window.today,
        window=window,
        previous=previous.value if previous else None,
        recent=recent,
    )
    judged = Judged(meter, value, verdict, window)
    current = await repo.current_reading(session, meter.id, window.period)
    if current is not None:
        judged.replaces = current.value
    if verdict.error:
        judged.refusal = Refusal(
            Problem(verdict.error),
            meter_id=meter.id,
            value=str(value),
            previous=str(verdict.previous) if verdict.previous is not None else "",
            window={
                "day_from": str(window.day_from),
                "day_to": str(window.day_to),
                "opens": window.opens_on.isoformat(),
            },
        )
    return judged


async def review(session: AsyncSession, meters: ResidentMeters, pending: Pending) -> list[Judged]:
    """Judge every chosen value; refused ones move to the refusals. What is left is what the
    resident is asked to confirm (warnings included)."""
    accepted: list[Judged] = []
    kept: list[Item] = []
    for item in pending.items:
        meter = meters.meters.get(item.meter_id or 0)
        if meter is None:
            continue
        judged = await judge(session, meters, meter, Decimal(item.value))
        if judged.refusal is not None:
            pending.refusals.append(judged.refusal)
            continue
        item.warning = judged.verdict.warning or ""
        kept.append(item)
        accepted.append(judged)
    pending.items = kept
    return accepted


@dataclass
class Saved:
    """The outcome of a confirmation."""

    meters: ResidentMeters | None = None
    judged: list[Judged] = field(default_factory=list)
    refusals: list[Refusal] = field(default_factory=list)
    already_saved: bool = False
    photo: bool = False  # the readings were saved with the resident's photo

    @property
    def last_day(self) -> dt.date | None:
        return self.judged[-1].window.last if self.judged else None

    @property
    def period(self) -> dt.date | None:
        return self.judged[-1].period if self.judged else None


async def already_saved(session: AsyncSession, update_id: int) -> bool:
    """The confirmation with this update id was saved before (a redelivered update)."""
    return await repo.by_update_id(session, update_id) is not None


async def save(session: AsyncSession, resident_id: int, pending: Pending, update_id: int) -> Saved:
    """Save the confirmed values as new versions of this period's readings, judged again (links
    and the window may have changed since the question), and commit."""
    meters = await resident_meters(session, resident_id)
    outcome = Saved(meters, photo=bool(pending.photo))
    marker: int | None = update_id  # the first saved reading carries the update id
    for item in pending.items:
        meter = meters.meters.get(item.meter_id or 0)
        try:
            value = Decimal(item.value)
        except InvalidOperation:
            continue
        if meter is None:
            outcome.refusals.append(Refusal(Problem.METER_GONE, typed=item.typed))
            continue
        judged = await judge(session, meters, meter, value)
        if judged.refusal is not None:
            outcome.refusals.append(judged.refusal)
            continue
        warning = judged.verdict.warning or ""
        await repo.add_version(
            session,
            meter_id=meter.id,
            period=judged.period,
            value=value,
            taken_on=judged.window.today,
            resident_id=resident_id,
            update_id=marker,
            needs_review=bool(warning),
            review_reason=warning,
            photo_file_id=pending.photo or None,
        )
        marker = None
        outcome.judged.append(judged)
    try:
        await session.commit()
    except IntegrityError:  # the same confirmation, saved by a concurrent delivery
        await session.rollback()
        return Saved(already_saved=True)
    if outcome.judged:
        log.info("readings saved: %d value(s), update %s", len(outcome.judged), update_id)
    return outcome
