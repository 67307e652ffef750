"""`python -m bot export-payments --from ДД.ММ.ГГГГ --to ДД.ММ.ГГГГ -o payments.csv` and
`python -m bot unconfirmed-payments`.

The registry of payments made through the bot, for the billing system: the import's payments
layout (docs/import-format.md) plus Telegram's charge id, UTF-8 with a BOM, so the billing loads it
and an import of the billing's payments file carrying the charge id books each one exactly.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sys
from pathlib import Path

from bot.cli.common import database
from bot.config import Settings
from bot.errors import CommandError
from services import payments


def _day(text: str) -> dt.date:
    try:
        return dt.datetime.strptime(text.strip(), "%d.%m.%Y").date()
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date ДД.ММ.ГГГГ: {text!r}") from None


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "export-payments",
        help="export the payments made through the bot for the billing system (CSV)",
        description="Write the payments made through the bot on the given days (UTC) as a "
        "payments CSV of the import format, with Telegram's charge id.",
    )
    parser.add_argument("--from", dest="first", required=True, type=_day, help="ДД.ММ.ГГГГ")
    parser.add_argument("--to", dest="last", required=True, type=_day, help="ДД.ММ.ГГГГ")
    parser.add_argument("-o", "--output", required=True, help="the CSV file ('-': stdout)")
    parser.set_defaults(func=export_payments)
    unconfirmed = sub.add_parser(
        "unconfirmed-payments",
        help="list the bot payments the billing has not booked within PAYMENTS_UNCONFIRMED_DAYS",
    )
    unconfirmed.set_defaults(func=list_unconfirmed)


async def export_payments(args: argparse.Namespace, settings: Settings) -> int:
    if args.last < args.first:
        raise CommandError("--to is before --from")
    async with database(settings) as (_, session_factory), session_factory() as session:
        count, data = await payments.export(session, args.first, args.last)
    if args.output == "-":
        sys.stdout.buffer.write(data)
    else:
        await asyncio.to_thread(Path(args.output).write_bytes, data)
        print(f"{count} payment(s) written to {args.output}")
    return 0


async def list_unconfirmed(args: argparse.Namespace, settings: Settings) -> int:
    async with database(settings) as (_, session_factory), session_factory() as session:
        left = await payments.unconfirmed(session, settings)
    for item in left:
        print(
            f"{item.paid_at:%d.%m.%Y %H:%M}\t{item.account_number}\t{item.amount:.2f}\t"
            f"{item.telegram_charge_id}"
        )
    print(
        f"{len(left)} payment(s) not booked by the billing after "
        f"{settings.payments_unconfirmed_days} days",
        file=sys.stderr,
    )
    return 0
