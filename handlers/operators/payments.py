"""`/export_payments ДД.ММ.ГГГГ ДД.ММ.ГГГГ` in the operators' chat: the registry of payments made
through the bot as a CSV document (`services.payments.export`), and those the billing has not
booked after PAYMENTS_UNCONFIRMED_DAYS listed under it."""

from __future__ import annotations

import datetime as dt

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import BufferedInputFile, Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from handlers.operators.filters import FromOperator, InOperatorsChat, OperatorCheck
from handlers.ui import arguments, on_usage
from services import payments
from texts import fmt
from texts.ru import payments as t


def router() -> Router:
    r = Router(name="operators_payments")
    r.message.filter(InOperatorsChat(OperatorCheck()))
    export = Command("export_payments", magic=arguments("span", _span))
    r.message.register(on_export, export, FromOperator())
    usage = {"usage": t.EXPORT_USAGE}
    r.message.register(on_usage, Command("export_payments"), FromOperator(), flags=usage)
    return r


def _span(args: str) -> tuple[dt.date, dt.date] | None:
    parts = args.split()
    if len(parts) != 2:
        return None
    try:
        first, last = (dt.datetime.strptime(p, "%d.%m.%Y").date() for p in parts)
    except ValueError:
        return None
    return (first, last) if first <= last else None


async def on_export(
    message: Message, span: tuple[dt.date, dt.date], session: AsyncSession, settings: Settings
) -> None:
    first, last = span
    count, data = await payments.export(session, first, last)
    days = {"first": fmt.day(first), "last": fmt.day(last)}
    if count:
        name = f"payments_{first:%Y%m%d}_{last:%Y%m%d}.csv"
        caption = t.EXPORT_CAPTION.format(count=fmt.count(count, *t.PAYMENT_FORMS), **days)
        await message.answer_document(BufferedInputFile(data, name), caption=caption)
    else:
        await message.answer(t.EXPORT_EMPTY.format(**days))
    left = await payments.unconfirmed(session, settings)
    if left:
        await message.answer(unconfirmed_text(left, settings.payments_unconfirmed_days))


def unconfirmed_text(left: list[payments.Unconfirmed], days: int) -> str:
    lines = [t.UNCONFIRMED_TITLE.format(days=fmt.count(days, *t.DAY_FORMS), count=len(left))]
    lines.extend(
        t.UNCONFIRMED_ITEM.format(
            number=fmt.esc(item.account_number),
            organization=fmt.esc(item.organization),
            amount=fmt.rub(item.amount),
            day=fmt.day(item.paid_at.date()),
            charge=fmt.esc(item.telegram_charge_id),
        )
        for item in left
    )
    return "\n".join(lines)
