"""`python -m bot push --period YYYY-MM` (send a period's receipts now) and `push-status`."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import time
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from bot.cli.common import Subcommands, database, require_token
from bot.config import Settings
from bot.errors import CommandError
from receipts import pool
from storage.models import Charge, utcnow
from storage.periods import format_period, parse_period
from storage.repo.versions import visible

if TYPE_CHECKING:
    from receipts.push import ReceiptPush


def register(sub: Subcommands) -> None:
    parser = sub.add_parser("push", help="push a period's receipts to subscribed residents")
    parser.add_argument("--period", help="YYYY-MM (default: the latest period with charges)")
    parser.add_argument(
        "--wait",
        type=float,
        default=0,
        metavar="SECONDS",
        help="when another process holds the period's push (or a killed one's lease has not "
        "expired yet), keep trying this long",
    )
    parser.add_argument(
        "--prepare",
        action="store_true",
        help="only render the period's PDFs into the spool (RECEIPT_SPOOL_DIR), send nothing",
    )
    parser.set_defaults(func=push_command)
    status = sub.add_parser("push-status", help="progress of the receipt pushes")
    status.set_defaults(func=push_status_command)


async def push_command(args: argparse.Namespace, settings: Settings) -> int:
    require_token(settings)
    from bot.app import create_bot  # Telegram: loaded by this command only
    from keyboards.payments import pay_keyboard
    from receipts.push import build_push

    try:
        period = parse_period(args.period) if args.period else None
    except ValueError:
        raise CommandError(f"bad period {args.period!r}: expected YYYY-MM, e.g. 2020-03") from None
    pool.configure(settings.render_workers)
    try:
        async with database(settings) as (_engine, session_factory):
            if period is None:
                async with session_factory() as session:
                    period = await session.scalar(
                        select(func.max(Charge.period)).where(visible(Charge))
                    )
                if period is None:
                    raise CommandError("there are no charges to send receipts for")
            bot = create_bot(settings)
            if args.prepare:
                try:
                    return await _prepare(
                        build_push(bot, session_factory, settings, pay_keyboard), period
                    )
                finally:
                    await bot.session.close()
            deadline = time.monotonic() + max(args.wait, 0)
            try:
                while True:
                    progress = await build_push(bot, session_factory, settings, pay_keyboard).run(
                        period
                    )
                    if progress is not None or time.monotonic() >= deadline:
                        break
                    await asyncio.sleep(1)  # the lease is time-based: nothing to await
            finally:
                await bot.session.close()
    finally:
        pool.shutdown()
    if progress is None:
        raise CommandError(
            f"a push for {format_period(period)} is already running in another process "
            "(see push-status)"
        )
    print(progress.line())
    return 0 if progress.remaining == 0 else 1


async def push_status_command(args: argparse.Namespace, settings: Settings) -> int:
    from receipts.push import push_statuses  # (receipts.push loads aiogram)

    async with database(settings) as (_engine, session_factory):
        async with session_factory() as session:
            statuses = await push_statuses(session)
    if not statuses:
        print("no receipt pushes yet")
        return 0
    now = utcnow()
    print(f"{'period':<8} {'status':<8} {'total':>7} {'sent':>7} {'failed':>7} {'blocked':>7} "
          f"{'remaining':>9} {'rate/s':>7}  heartbeat")  # fmt: skip
    for item in statuses:
        beat = "-"
        if item.heartbeat_at is not None:
            beat = f"{int((now - item.heartbeat_at).total_seconds())} s ago"
        print(
            f"{format_period(item.period):<8} {item.status:<8} {item.total:>7} {item.sent:>7} "
            f"{item.failed:>7} {item.blocked:>7} {item.remaining:>9} {item.recent_rate:>7.1f}  {beat}"
        )
    return 0


async def _prepare(push: ReceiptPush, period: dt.date) -> int:
    if push.spool is None:
        raise CommandError("RECEIPT_SPOOL_DIR is empty: there is nowhere to prepare the PDFs")
    began = time.monotonic()
    rendered, reused = await push.prepare(period)
    elapsed = time.monotonic() - began
    print(
        f"receipts of {format_period(period)} prepared in {push.spool}: {rendered} rendered "
        f"({rendered / elapsed if elapsed else 0:.1f}/s), {reused} were ready"
    )
    return 0
