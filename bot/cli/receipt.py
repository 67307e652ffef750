"""`python -m bot receipt ACCOUNT --period YYYY-MM -o FILE.pdf`: one receipt PDF, for operators."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from sqlalchemy import select

from bot.cli.common import Subcommands, database
from bot.config import Settings
from bot.errors import CommandError
from receipts.data import load_receipt, receipt_filename, receipt_periods
from storage.models import Account, Organization
from storage.periods import format_period, parse_period
from texts import fmt


def register(sub: Subcommands) -> None:
    parser = sub.add_parser("receipt", help="render an account's receipt PDF for a period")
    parser.add_argument("account", help="the account number (лицевой счёт), e.g. 00000000")
    parser.add_argument("--period", help="YYYY-MM (default: the latest period with charges)")
    parser.add_argument(
        "-o", "--output", help="the PDF file (default: receipt_<account>_<period>.pdf)"
    )
    parser.add_argument("--org", help="the organization's code, when the number is not unique")
    parser.set_defaults(func=receipt_command)


async def receipt_command(args: argparse.Namespace, settings: Settings) -> int:
    try:
        period = parse_period(args.period) if args.period else None
    except ValueError:
        raise CommandError(f"bad period {args.period!r}: expected YYYY-MM, e.g. 2020-03") from None
    async with database(settings) as (_engine, session_factory):
        async with session_factory() as session:
            query = select(Account.id).where(Account.number == args.account.strip())
            if args.org:
                query = query.join(Organization).where(Organization.code == args.org)
            ids = list(await session.scalars(query.limit(2)))
            if not ids:
                raise CommandError(f"no account {args.account!r}")
            if len(ids) > 1:
                raise CommandError(
                    f"account {args.account!r} exists in several organizations: add --org CODE"
                )
            if period is None:
                periods = await receipt_periods(session, ids[0])
                if not periods:
                    raise CommandError(f"account {args.account!r} has no charges")
                period = periods[0]
            data = await load_receipt(session, ids[0], period)
    if data is None:
        raise CommandError(f"account {args.account!r} has no charges for {format_period(period)}")
    from receipts.pdf import render_receipt  # fpdf and fontTools: a second to load

    pdf = await asyncio.to_thread(render_receipt, data)
    output = Path(args.output or receipt_filename(data.account_number, period))
    await asyncio.to_thread(_save, output, pdf)
    print(
        f"{output}: receipt of account {data.account_number} for {format_period(period)}, "
        f"total to pay {fmt.rub(data.to_pay)}"
    )
    return 0


def _save(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
