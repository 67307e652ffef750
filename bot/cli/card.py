"""`python -m bot card ACCOUNT [--period YYYY-MM] [--detail]`: the account card and a month's
charges as the bot sends them, in plain text (for support staff and tests): the month's summary
(the chat's «Начисления» screen), or with `--detail` its per-service detail («Подробно»). The same
text builders as the bot."""

from __future__ import annotations

import argparse

from bot.cli.common import Subcommands, database
from bot.config import Settings
from bot.errors import CommandError
from handlers.views import card as view
from handlers.views import plain
from storage.periods import parse_period
from storage.repo import billing
from texts import fmt


def register(sub: Subcommands) -> None:
    parser = sub.add_parser(
        "card", help="print an account's card and a month's charges as the bot shows them"
    )
    parser.add_argument("account", help="account number (Л/С), e.g. 00000000")
    parser.add_argument(
        "--period", help="month as YYYY-MM (default: the latest month with charges)"
    )
    parser.add_argument("--org", help="organization code, when several have this number")
    parser.add_argument(
        "--detail",
        action="store_true",
        help="the month's per-service detail (the chat's «Подробно») instead of its summary",
    )
    parser.set_defaults(func=print_card)


async def print_card(args: argparse.Namespace, settings: Settings) -> int:
    try:
        period = parse_period(args.period) if args.period else None
    except ValueError:
        raise CommandError(
            f"bad --period {args.period!r}: expected YYYY-MM, e.g. 2020-03"
        ) from None
    async with database(settings) as (_engine, session_factory), session_factory() as session:
        accounts = await billing.accounts_by_number(session, args.account, args.org)
        if not accounts:
            where = f" in organization {args.org!r}" if args.org else ""
            raise CommandError(f"account {args.account!r} not found{where}")
        if len(accounts) > 1:
            codes = ", ".join(a.organization.code for a in accounts)
            raise CommandError(
                f"account {args.account!r} exists in several organizations ({codes}): add --org CODE"
            )
        account = accounts[0]
        balance = await billing.balance(session, account.id)
        month = await billing.month_charges(session, account.id, period)
    print(plain(view.card_text(account, balance)))
    print()
    if month is not None:
        shown = view.month_text if args.detail else view.month_summary_text
        print(plain(shown(account.number, month, account.organization.due_day)))
    elif period is not None:
        print(plain(view.no_month_text(fmt.month(period))))
    else:
        print(plain(view.no_month_text(None)))
    return 0
