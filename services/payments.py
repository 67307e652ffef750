"""Paying from the chat: invoices with a signed payload, the pre-checkout verdict, recording a
payment once, "paid through the bot — in processing" until the billing books it, the registry of
bot payments for the billing, and the payment QR as a PNG.

The billing stays the source of truth. A payment made through the bot (`BotPayment`) is shown
apart from the statement's figures until an import brings the billing's own record of it (a
`Payment`): matched by Telegram's charge id when the payments file carries it, otherwise by
account and amount booked within a few days. Matching is computed when read (`match`), so a
payment is counted either as pending or as the billing's payment, never both, whatever the order
in which the import and the payment came.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import hmac
import io
import json
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum

import segno
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from bot.config import Settings
from receipts.data import load_receipt
from receipts.qr import payload as qr_payload
from storage.models import Account, BotPayment, Organization, Payment, utcnow
from storage.money import ZERO
from storage.periods import int_to_period, period_to_int
from storage.repo import billing
from storage.repo.accounts import get_linked_account
from storage.repo.versions import PAYMENTS, visible
from texts import fmt
from texts.ru import payments as t

log = logging.getLogger(__name__)

CURRENCY = "RUB"
TITLE_LIMIT, DESCRIPTION_LIMIT, PAYLOAD_LIMIT = 32, 255, 128
PAYLOAD_VERSION = "p1"
SIGNATURE_HEX = 32  # 128 bits of HMAC-SHA256: ample against forgery, short enough for a payload
EARLY_DAYS = 1  # the billing may book a payment on the day before (time zones)
_AMOUNT_RE = re.compile(r"^(\d{1,7})(?:[.,](\d{1,2}))?$")


class Verdict(StrEnum):
    OK = "ok"
    FORGED = "forged"
    NOT_LINKED = "not_linked"
    WRONG_AMOUNT = "wrong_amount"


class Recorded(StrEnum):
    NEW = "new"
    DUPLICATE = "duplicate"
    REFUSED = "refused"


@dataclass(frozen=True, slots=True)
class Terms:
    """What an invoice's payload names."""

    account_id: int
    kopecks: int
    period: dt.date

    @property
    def amount(self) -> Decimal:
        return Decimal(self.kopecks) / 100


@dataclass(frozen=True, slots=True)
class Due:
    period: dt.date | None  # the latest period with charges (None: none yet)
    closing: Decimal  # its closing balance (> 0: debt)
    pending: Decimal  # paid through the bot, not booked by the billing yet
    amount: Decimal  # what is left to pay (0: nothing)


@dataclass(frozen=True, slots=True)
class Invoice:
    title: str
    description: str
    payload: str
    label: str
    kopecks: int
    provider_data: str  # JSON: the fiscal receipt (54-ФЗ) as ЮKassa takes it


@dataclass(frozen=True, slots=True)
class Made:
    """A bot payment, as matching sees it."""

    id: int
    account_id: int
    amount: Decimal
    day: dt.date
    charge_id: str


@dataclass(frozen=True, slots=True)
class Booked:
    """An imported (billing) payment, as matching sees it."""

    id: int
    account_id: int
    amount: Decimal
    day: dt.date
    charge_id: str | None


# --- the payload ----------------------------------------------------------------------------------


def _signature(secret: str, body: str) -> str:
    digest = hmac.new(secret.encode(), body.encode(), hashlib.sha256).hexdigest()
    return digest[:SIGNATURE_HEX]


def sign(secret: str, terms: Terms) -> str:
    """`p1:<account id>:<kopecks>:<YYYYMM>:<hmac>` (well under Telegram's 128 bytes)."""
    body = f"{PAYLOAD_VERSION}:{terms.account_id}:{terms.kopecks}:{period_to_int(terms.period)}"
    return f"{body}:{_signature(secret, body)}"


def verify(secret: str, payload: str) -> Terms | None:
    """The payload's terms if our server signed it; None for anything else."""
    body, _, signature = payload.rpartition(":")
    if not hmac.compare_digest(_signature(secret, body), signature):
        return None
    try:
        version, account_id, kopecks, period = body.split(":")
        terms = Terms(int(account_id), int(kopecks), int_to_period(int(period)))
    except ValueError:
        return None
    return terms if version == PAYLOAD_VERSION else None


# --- amounts --------------------------------------------------------------------------------------


def parse_amount(text: str) -> Decimal | None:
    """`1500`, `1 500,50`, `1500.5 ₽`, `1500 руб.` → Decimal; None when it is not an amount."""
    cleaned = re.sub(r"(?i)(₽|руб\.?|р\.?)$", "", text.strip()).strip()
    cleaned = cleaned.replace("\u00a0", "").replace(" ", "")
    match = _AMOUNT_RE.match(cleaned)
    if not match:
        return None
    try:
        return Decimal(f"{match.group(1)}.{(match.group(2) or '0'):0<2}")
    except InvalidOperation:  # pragma: no cover - the pattern admits digits only
        return None


def within_limits(settings: Settings, amount: Decimal) -> bool:
    return settings.payments_min_rub <= amount <= settings.payments_max_rub


def kopecks(amount: Decimal) -> int:
    return int((amount * 100).to_integral_value())


async def due(session: AsyncSession, settings: Settings, account_id: int) -> Due:
    """The latest closing balance less what was paid through the bot and is not booked yet."""
    balance = await billing.balance(session, account_id)
    pending = sum((p.amount for p in await pending_payments(session, settings, account_id)), ZERO)
    if balance is None:
        return Due(None, ZERO, pending, ZERO)
    left = max(balance.closing - pending, ZERO)
    return Due(balance.period, balance.closing, pending, left)


# --- the invoice ----------------------------------------------------------------------------------


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


async def invoice(
    session: AsyncSession, settings: Settings, account: Account, amount: Decimal
) -> Invoice:
    """The invoice for paying `amount` for the account (a period of its latest charges)."""
    assert settings.payments_secret is not None
    period = await billing.latest_period(session, account.id) or dt.date.today().replace(day=1)
    terms = Terms(account.id, kopecks(amount), period)
    apartment = account.apartment
    address = fmt.address(apartment.house.address, apartment.number)
    title = _clip(t.INVOICE_TITLE.format(number=account.number), TITLE_LIMIT)
    description = _clip(
        t.INVOICE_DESCRIPTION.format(
            number=account.number, address=address, month=fmt.month(period)
        ),
        DESCRIPTION_LIMIT,
    )
    label = _clip(t.INVOICE_LABEL.format(month=fmt.month(period)), TITLE_LIMIT)
    item = {
        "description": _clip(
            t.FISCAL_ITEM.format(number=account.number, month=fmt.month(period)), 128
        ),
        "quantity": "1.00",
        "amount": {"value": f"{terms.amount:.2f}", "currency": CURRENCY},
        "vat_code": 1,  # без НДС: housing and utility payments to the provider
        "payment_mode": "full_payment",
        "payment_subject": "service",
    }
    provider_data = json.dumps({"receipt": {"items": [item]}}, ensure_ascii=False)
    payload = sign(settings.payments_secret.get_secret_value(), terms)
    return Invoice(title, description, payload, label, terms.kopecks, provider_data)


# --- pre-checkout and the payment ------------------------------------------------------------------


async def check(
    session: AsyncSession,
    settings: Settings,
    resident_id: int | None,
    payload: str,
    currency: str,
    total: int,
) -> Verdict:
    """May Telegram charge the payer? Only for our own payload, an account the payer still has
    linked and exactly the amount the payload names."""
    terms = (
        verify(settings.payments_secret.get_secret_value(), payload)
        if settings.payments_secret is not None
        else None
    )
    if terms is None:
        return Verdict.FORGED
    if currency != CURRENCY or total != terms.kopecks:
        return Verdict.WRONG_AMOUNT
    if (
        resident_id is None
        or await get_linked_account(session, resident_id, terms.account_id) is None
    ):
        return Verdict.NOT_LINKED
    return Verdict.OK


async def record(
    session: AsyncSession,
    settings: Settings,
    resident_id: int | None,
    payload: str,
    total: int,
    telegram_charge_id: str,
    provider_charge_id: str,
) -> tuple[Recorded, Decimal]:
    """Record a successful payment once per Telegram charge id (a redelivered update, or the same
    payment twice, changes nothing). Commits."""
    amount = Decimal(total) / 100
    exists = await session.scalar(
        select(BotPayment.id).where(BotPayment.telegram_charge_id == telegram_charge_id)
    )
    if exists is not None:
        return Recorded.DUPLICATE, amount
    terms = (
        verify(settings.payments_secret.get_secret_value(), payload)
        if settings.payments_secret is not None
        else None
    )
    if terms is None:  # cannot happen after our pre-checkout, unless the secret changed
        log.error("a successful payment with an unverifiable payload: %s", telegram_charge_id)
        return Recorded.REFUSED, amount
    session.add(
        BotPayment(
            account_id=terms.account_id,
            resident_id=resident_id,
            period=terms.period,
            amount=amount,
            telegram_charge_id=telegram_charge_id,
            provider_charge_id=provider_charge_id,
            paid_at=utcnow(),
        )
    )
    try:
        await session.commit()
    except IntegrityError:  # the same charge recorded concurrently
        await session.rollback()
        return Recorded.DUPLICATE, amount
    log.info("bot payment recorded: account %s, %s kopecks", terms.account_id, total)
    return Recorded.NEW, amount


# --- matching with the billing's payments ---------------------------------------------------------


def match(made: Sequence[Made], booked: Sequence[Booked], window_days: int) -> dict[int, int]:
    """Which billing payment books which bot payment: `{bot payment id: payment id}`.

    Each billing payment books at most one bot payment. First by charge id; then, for billing
    payments without one, the earliest bot payment of the same account and amount whose day is at
    most `window_days` before (or EARLY_DAYS after) the booked day."""
    matched: dict[int, int] = {}
    used: set[int] = set()
    by_charge = {b.charge_id: b for b in booked if b.charge_id}
    for m in made:
        b = by_charge.get(m.charge_id)
        if b is not None and b.account_id == m.account_id and b.id not in used:
            matched[m.id] = b.id
            used.add(b.id)
    loose = sorted((b for b in booked if not b.charge_id), key=lambda b: (b.day, b.id))
    for m in sorted(made, key=lambda m: (m.day, m.id)):
        if m.id in matched:
            continue
        for b in loose:
            if (
                b.id not in used
                and b.account_id == m.account_id
                and b.amount == m.amount
                and -EARLY_DAYS <= (b.day - m.day).days <= window_days
            ):
                matched[m.id] = b.id
                used.add(b.id)
                break
    return matched


async def _booking(
    session: AsyncSession, settings: Settings, made: Sequence[BotPayment]
) -> dict[int, int]:
    """Which published billing payment books which of `made`: `{bot payment id: payment id}`.
    Only the payments readers see count: an unpublished load or a version kept for undo books
    nothing."""
    if not made:
        return {}
    accounts = {m.account_id for m in made}
    since = min(m.paid_at.date() for m in made) - dt.timedelta(days=EARLY_DAYS)
    rows = await session.execute(
        select(
            Payment.id, Payment.account_id, Payment.amount, Payment.paid_on, Payment.charge_id
        ).where(
            Payment.account_id.in_(accounts),
            Payment.paid_on >= since,
            visible(Payment, PAYMENTS),
        )
    )
    booked = [Booked(*row) for row in rows]
    views = [
        Made(m.id, m.account_id, m.amount, m.paid_at.date(), m.telegram_charge_id) for m in made
    ]
    return match(views, booked, settings.payments_match_days)


async def _unbooked(
    session: AsyncSession, settings: Settings, made: Sequence[BotPayment]
) -> list[BotPayment]:
    """Those of `made` that no billing payment books yet."""
    matched = await _booking(session, settings, made)
    return [m for m in made if m.id not in matched]


async def pending_payments(
    session: AsyncSession, settings: Settings, account_id: int
) -> list[BotPayment]:
    """The account's bot payments the billing has not booked yet, oldest first."""
    made = (
        await session.scalars(
            select(BotPayment)
            .where(BotPayment.account_id == account_id)
            .order_by(BotPayment.paid_at, BotPayment.id)
        )
    ).all()
    return await _unbooked(session, settings, made)


async def bot_payers(
    session: AsyncSession, settings: Settings, payment_ids: Iterable[int]
) -> dict[int, int | None]:
    """Which of these (published) billing payments book a payment made through the bot:
    {payment id: the resident who paid (None: erased since)}. Matched as `pending_payments`
    matches, against the payments readers see."""
    wanted = set(payment_ids)
    if not wanted:
        return {}
    accounts = set(
        await session.scalars(select(Payment.account_id).where(Payment.id.in_(wanted)).distinct())
    )
    made = (
        await session.scalars(select(BotPayment).where(BotPayment.account_id.in_(accounts)))
    ).all()
    payer = {m.id: m.resident_id for m in made}
    matched = await _booking(session, settings, made)
    return {paid: payer[bot] for bot, paid in matched.items() if paid in wanted}


async def pending_total(session: AsyncSession, settings: Settings, account_id: int) -> Decimal:
    return sum((p.amount for p in await pending_payments(session, settings, account_id)), ZERO)


@dataclass(frozen=True, slots=True)
class Unconfirmed:
    account_number: str
    organization: str
    amount: Decimal
    paid_at: dt.datetime
    telegram_charge_id: str


async def unconfirmed(
    session: AsyncSession, settings: Settings, now: dt.datetime | None = None
) -> list[Unconfirmed]:
    """Bot payments the billing has not booked `payments_unconfirmed_days` after they were made."""
    now = now or utcnow()
    limit = now - dt.timedelta(days=settings.payments_unconfirmed_days)
    made = (
        await session.scalars(
            select(BotPayment)
            .where(BotPayment.paid_at <= limit)
            .order_by(BotPayment.paid_at, BotPayment.id)
        )
    ).all()
    left = await _unbooked(session, settings, made)
    if not left:
        return []
    accounts = {
        a.id: a
        for a in await session.scalars(
            select(Account)
            .where(Account.id.in_({m.account_id for m in left}))
            .options(selectinload(Account.organization))
        )
    }
    return [
        Unconfirmed(
            accounts[m.account_id].number,
            accounts[m.account_id].organization.name,
            m.amount,
            m.paid_at,
            m.telegram_charge_id,
        )
        for m in left
    ]


# --- the registry for the billing -----------------------------------------------------------------

EXPORT_HEADER = ("org", "account", "date", "amount", "period", "source", "charge_id")


async def export_rows(
    session: AsyncSession, first: dt.date, last: dt.date
) -> list[tuple[str, ...]]:
    """Bot payments made on days [first, last] (UTC), in the import's payments layout."""
    rows = await session.execute(
        select(BotPayment, Account.number, Organization.code)
        .join(Account, Account.id == BotPayment.account_id)
        .join(Organization, Organization.id == Account.organization_id)
        .where(
            BotPayment.paid_at >= dt.datetime.combine(first, dt.time()),
            BotPayment.paid_at < dt.datetime.combine(last + dt.timedelta(days=1), dt.time()),
        )
        .order_by(BotPayment.paid_at, BotPayment.id)
    )
    return [
        (
            org,
            number,
            p.paid_at.strftime("%d.%m.%Y"),
            f"{p.amount:.2f}",
            f"{p.period.year:04d}-{p.period.month:02d}",
            t.EXPORT_SOURCE,
            p.telegram_charge_id,
        )
        for p, number, org in rows
    ]


def export_csv(rows: Iterable[Sequence[str]]) -> bytes:
    """UTF-8 with BOM (Excel and 1C read it as such), comma-separated, the import's header."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(EXPORT_HEADER)
    writer.writerows(rows)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


async def export(session: AsyncSession, first: dt.date, last: dt.date) -> tuple[int, bytes]:
    rows = await export_rows(session, first, last)
    return len(rows), export_csv(rows)


# --- the payment QR as an image -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class QrImage:
    png: bytes
    caption: str
    payload: str


def qr_png(payload: str) -> bytes:
    """The same code as the receipt PDF draws (UTF-8 bytes, level M), as a PNG for the gallery."""
    code = segno.make_qr(payload.encode("utf-8"), error="m", boost_error=False)
    buffer = io.BytesIO()
    code.save(buffer, kind="png", scale=8, border=4)
    return buffer.getvalue()


async def payment_qr(session: AsyncSession, account_id: int) -> QrImage | None:
    """The ГОСТ Р 56042-2014 QR of the latest receipt with its requisites (None: no receipt)."""
    period = await billing.latest_period(session, account_id)
    if period is None:
        return None
    data = await load_receipt(session, account_id, period)
    if data is None:
        return None
    payee = data.payee
    caption = t.QR_CAPTION.format(
        payee=fmt.esc(payee.name),
        inn=payee.inn,
        kpp=payee.kpp,
        account=payee.settlement_account,
        bank=fmt.esc(payee.bank_name),
        bic=payee.bic,
        corr=payee.corr_account,
        number=fmt.esc(data.account_number),
        month=fmt.month(period),
        amount=fmt.rub(max(data.to_pay, ZERO)),
    )
    text = qr_payload(data)
    return QrImage(qr_png(text), caption, text)
