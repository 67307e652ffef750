"""Who is due which notification now, and what it says: a payment received, the bill's due date
near, a meter's verification date near or passed. `bot.notifications` sends them.

Each notice has a key in the delivery log (`storage.repo.deliveries`): the same notice is never
sent twice, whatever restarts, undos and re-imports happen.

- **Payment received**: the payments an import made visible that the version before the recent
  imports did not have (a correction that lists a period's payments again brings nothing new). A
  payment's key is its account, day, amount and which of equal payments it is, not its row:
  an undo and the same import again find the same payments and send nothing. A payment made
  through the bot that the billing now books goes to its payer as «зачислена» (they were
  thanked when they paid; now the «в обработке» line is gone, and they learn why); the account's
  other residents get the usual «Поступила оплата». Payments made long ago
  (`notify_payment_days`) are history loaded in bulk, not news.
- **Pay-by reminder**: `notify_pay_by_days` days before the organization's due date of the
  latest period (and until the date, should the bot have been down that day), when the closing
  balance less what the billing booked since is a debt, and nobody paid the account through
  the bot for that period.
- **Verification**: from 30 days before a meter's verification date, and from the day after it
  passed (for a week), one notice per account and date listing its meters.

Everything goes out in the organization's daytime only (9:00-20:59 local).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from services import payments
from services.readings.rules import local_now
from storage.models import Organization, Resident
from storage.periods import add_months, pay_by
from storage.repo import billing, deliveries
from storage.repo import notifications as repo
from storage.repo.billing import Balance
from storage.repo.deliveries import Key
from storage.repo.notifications import AccountInfo, MeterDue, PaymentRow, Recipient
from storage.repo.readings import organizations
from texts import fmt
from texts.ru import notifications as t
from texts.ru.readings import meter_name

FIRST_HOUR, LAST_HOUR = 9, 20
# Imports published this long ago at most are looked at for new payments; well inside the undo
# window, so the versions they replaced still have their rows.
PAYMENT_SCAN = dt.timedelta(days=3)
VERIFY_AHEAD_DAYS = 30
VERIFY_LATE_DAYS = 7


class Kind(StrEnum):
    PAYMENT = "payment"
    PAY_BY = "pay_by"
    VERIFY_SOON = "verify_soon"
    VERIFY_OVER = "verify_over"


@dataclass(frozen=True, slots=True)
class Notice:
    key: Key
    chat_id: int
    text: str
    pay_account_id: int | None = None  # the account to offer «💳 Оплатить» for


def _utc(now: dt.datetime | None) -> dt.datetime:
    now = now or dt.datetime.now(dt.UTC)
    return now if now.tzinfo is not None else now.replace(tzinfo=dt.UTC)


def _local_today(info: AccountInfo, now: dt.datetime) -> dt.date | None:
    """The organization's date today, or None outside its daytime."""
    local = local_now(info.timezone, now)
    return local.date() if FIRST_HOUR <= local.hour <= LAST_HOUR else None


def _by_account(people: Sequence[Recipient]) -> dict[int, list[Recipient]]:
    grouped: dict[int, list[Recipient]] = defaultdict(list)
    for person in people:
        grouped[person.account_id].append(person)
    return grouped


async def due_notices(
    session: AsyncSession, settings: Settings, now: dt.datetime | None = None
) -> list[Notice]:
    """Every notice due now that the log does not have yet."""
    now = _utc(now)
    notices = [
        *await payment_notices(session, settings, now),
        *await pay_by_notices(session, settings, now),
        *await verification_notices(session, now),
    ]
    done: set[Key] = set()
    for kind in Kind:
        done |= await deliveries.logged(session, kind, (n.key for n in notices))
    return [n for n in notices if n.key not in done]


# --- payments ---------------------------------------------------------------------------------


def new_payments(
    current: Sequence[PaymentRow], base: Sequence[PaymentRow]
) -> list[tuple[PaymentRow, int]]:
    """The payments of `current` that `base` has not, each with its ordinal among the equal
    payments (account, day, amount) of `current`: the second of two equal payments is new when
    `base` had one."""
    before = Counter((p.account_id, p.paid_on, p.amount) for p in base)
    seen: Counter[tuple[int, dt.date, Decimal]] = Counter()
    found = []
    for payment in current:
        same = (payment.account_id, payment.paid_on, payment.amount)
        seen[same] += 1
        if seen[same] > before[same]:
            found.append((payment, seen[same]))
    return found


async def payment_notices(
    session: AsyncSession, settings: Settings, now: dt.datetime
) -> list[Notice]:
    since = now.replace(tzinfo=None) - PAYMENT_SCAN
    oldest = now.date() - dt.timedelta(days=settings.notify_payment_days)
    fresh: list[tuple[dt.date, PaymentRow, int]] = []
    for change in await repo.payment_changes(session, since):
        rows = [
            await repo.payment_rows(
                session, version, change.period, Resident.notify_payments, oldest
            )
            for version in (change.current, change.base)
        ]
        fresh.extend((change.period, row, n) for row, n in new_payments(*rows))
    if not fresh:
        return []
    account_ids = sorted({row.account_id for _, row, _ in fresh})
    infos = await repo.accounts(session, account_ids)
    people = _by_account(await repo.recipients(session, Resident.notify_payments, account_ids))
    payers = await payments.bot_payers(session, settings, [row.id for _, row, _ in fresh])
    notices = []
    for period, row, n in fresh:
        info = infos[row.account_id]
        if _local_today(info, now) is None:
            continue
        subject = f"{row.account_id}:{row.paid_on:%Y%m%d}:{fmt.kopecks(row.amount)}:{n}"
        values = {
            "amount": fmt.rub(row.amount),
            "number": fmt.esc(info.number),
            "day": fmt.day(row.paid_on),
        }
        for person in people.get(row.account_id, []):
            paid_here = row.id in payers and payers[row.id] == person.resident_id
            text = (t.PAYMENT_BOOKED if paid_here else t.PAYMENT_RECEIVED).format(**values)
            key = Key(person.resident_id, period, Kind.PAYMENT, subject)
            notices.append(Notice(key, person.chat_id, text))
    return notices


# --- the bill's due date ----------------------------------------------------------------------


def _bills_due(org: Organization, today: dt.date, ahead: int) -> dict[dt.date, dt.date]:
    """{period: its due date} of the periods whose bill is due within `ahead` days from
    `today` (a bill is due in the month after its period: this month's or last month's)."""
    this_month = today.replace(day=1)
    due = {}
    for period in (add_months(this_month, -1), this_month):
        date = pay_by(period, org.due_day)
        if 0 <= (date - today).days <= ahead:
            due[period] = date
    return due


async def _balances(session: AsyncSession, account_ids: Sequence[int]) -> dict[int, Balance]:
    found: dict[int, Balance] = {}
    ordered = sorted(account_ids)
    for start in range(0, len(ordered), repo.CHUNK):
        found.update(await billing.balances(session, ordered[start : start + repo.CHUNK]))
    return found


async def pay_by_notices(
    session: AsyncSession, settings: Settings, now: dt.datetime
) -> list[Notice]:
    notices = []
    for org in await organizations(session):
        local = local_now(org.timezone, now)
        if not FIRST_HOUR <= local.hour <= LAST_HOUR:
            continue
        bills = _bills_due(org, local.date(), settings.notify_pay_by_days)
        if bills:  # a few days a month: the rest of the time nothing is read
            notices.extend(await _org_pay_by(session, org, local.date(), bills))
    return notices


async def _org_pay_by(
    session: AsyncSession, org: Organization, today: dt.date, bills: dict[dt.date, dt.date]
) -> list[Notice]:
    people = _by_account(
        await repo.recipients(session, Resident.notify_pay_by, organization_id=org.id)
    )
    balances = {
        account_id: balance
        for account_id, balance in (await _balances(session, list(people))).items()
        if balance.period in bills and balance.closing > 0
    }
    if not balances:
        return []
    paid_by_bot = await repo.paid_through_bot(session, list(balances))
    booked = await repo.booked_after(session, list(balances), min(bills))
    infos = await repo.accounts(session, list(balances))
    notices = []
    for account_id, balance in balances.items():
        if paid_by_bot.get(account_id, dt.date.min) >= balance.period:
            continue
        since = sum(
            (v for (a, p), v in booked.items() if a == account_id and p > balance.period),
            Decimal(0),
        )
        left = balance.closing - since
        if left <= 0:
            continue
        info, date = infos[account_id], bills[balance.period]
        text = t.PAY_BY.format(
            number=fmt.esc(info.number),
            address=fmt.esc(fmt.address(info.house_address, info.apartment_number)),
            amount=fmt.rub(left),
            due=fmt.day(date),
            left=t.days_left((date - today).days),
        )
        for person in people[account_id]:
            key = Key(person.resident_id, balance.period, Kind.PAY_BY, str(account_id))
            notices.append(Notice(key, person.chat_id, text, pay_account_id=account_id))
    return notices


# --- meters' verification ---------------------------------------------------------------------


def _meter_lines(meters: Sequence[MeterDue]) -> str:
    lines = []
    for meter in meters:
        name = meter_name(meter.resource, meter.zone)
        if meter.serial:
            lines.append(t.METER_LINE.format(name=fmt.esc(name), serial=fmt.esc(meter.serial)))
        else:
            lines.append(t.METER_LINE_NO_SERIAL.format(name=fmt.esc(name)))
    return "\n".join(lines)


def _verification_kind(due: dt.date, today: dt.date) -> Kind | None:
    days = (due - today).days
    if 1 <= days <= VERIFY_AHEAD_DAYS:
        return Kind.VERIFY_SOON
    if -VERIFY_LATE_DAYS <= days <= -1:
        return Kind.VERIFY_OVER
    return None


async def verification_notices(session: AsyncSession, now: dt.datetime) -> list[Notice]:
    # a day's margin either side: each organization's own date is checked below
    first = now.date() - dt.timedelta(days=VERIFY_LATE_DAYS + 1)
    last = now.date() + dt.timedelta(days=VERIFY_AHEAD_DAYS + 1)
    meters = await repo.meters_due(session, Resident.notify_verification, first, last)
    grouped: dict[tuple[int, dt.date], list[MeterDue]] = defaultdict(list)
    for meter in meters:
        grouped[(meter.account_id, meter.due)].append(meter)
    account_ids = sorted({a for a, _ in grouped})
    infos = await repo.accounts(session, account_ids)
    people = _by_account(await repo.recipients(session, Resident.notify_verification, account_ids))
    notices = []
    for (account_id, due), group in grouped.items():
        info = infos[account_id]
        today = _local_today(info, now)
        kind = _verification_kind(due, today) if today is not None else None
        if kind is None:
            continue
        text = (t.VERIFY_SOON if kind is Kind.VERIFY_SOON else t.VERIFY_OVER).format(
            due=fmt.day(due),
            meters_word=t.meters_word(len(group)),
            number=fmt.esc(info.number),
            address=fmt.esc(fmt.address(info.house_address, info.apartment_number)),
            meters=_meter_lines(group),
        )
        for person in people.get(account_id, []):
            key = Key(person.resident_id, due.replace(day=1), kind, f"{account_id}:{due:%Y%m%d}")
            notices.append(Notice(key, person.chat_id, text))
    return notices
