"""`python -m bot demo [--accounts N]`: fill an empty database with believable demo data.

The seed's account `00000000` (figure 5, DESIGN.md) is always among them; the rest are generated
(24 months ending March 2020) through the import's bulk path, so `--accounts 100000` is quick.
"""

from __future__ import annotations

import argparse
import time

from bot.cli.common import Subcommands, database
from bot.cli.import_ import make_progress
from bot.config import Settings
from bot.errors import CommandError
from storage.demo import GOLDEN_NUMBER, Contents, DatabaseNotEmpty, contents, fill_demo
from storage.periods import format_period


def register(sub: Subcommands) -> None:
    parser = sub.add_parser(
        "demo",
        help="fill an empty database with demo data (the seed's account 00000000 included)",
    )
    parser.add_argument(
        "--accounts",
        type=int,
        default=200,
        metavar="N",
        help="how many accounts in all, the golden one included (default 200)",
    )
    parser.add_argument(
        "--progress",
        choices=("auto", "bar", "lines", "none"),
        default="auto",
        help=argparse.SUPPRESS,
    )
    parser.set_defaults(func=run)


ALREADY_IN = (
    "The demo data is already in this database ({accounts} accounts, the golden one "
    "{golden}): nothing to do.\n"
    "Start the bot (python -m bot), or try it without Telegram: python -m bot try.\n"
    "For a demo of another size, point DATABASE_URL at a new file."
)


def not_empty(found: Contents) -> str:
    """Why the demo refuses this database, and how to get a demo anyway (say, the samples are
    loaded here: `import samples/` into an empty database is how one gets them)."""
    names = ", ".join(f"{code} ({name})" for code, name in found.organizations) or "no organization"
    return (
        f"the database already has data: {names}, {found.accounts} accounts; the demo fills only "
        "an empty database. Put the demo in a new file:\n"
        "  DATABASE_URL=sqlite+aiosqlite:///demo.sqlite3 python -m bot demo\n"
        "(the samples, too, load into an empty database: python -m bot import samples/)"
    )


async def run(args: argparse.Namespace, settings: Settings) -> int:
    if args.accounts < 1:
        raise CommandError("--accounts must be at least 1 (the golden account)")
    async with database(settings) as (_, session_factory):
        started = time.monotonic()
        async with session_factory() as session:
            try:
                summary = await fill_demo(
                    session, args.accounts, progress=make_progress(args.progress)
                )
            except DatabaseNotEmpty:
                found = await contents(session)
                if not found.has_demo:
                    raise CommandError(not_empty(found)) from None
                print(ALREADY_IN.format(accounts=found.accounts, golden=GOLDEN_NUMBER))
                return 0
            await session.commit()
        elapsed = time.monotonic() - started
    counts = summary.counts
    print(f"Demo data in {elapsed:.1f} s: {summary.organization}")
    print(f"  periods {format_period(summary.first_period)} … {format_period(summary.last_period)}")
    for name in ("houses", "apartments", "accounts", "charges", "payments", "meters", "readings"):
        print(f"  {name}: {counts[name]}")
    print(f"  golden account (figure 5 of the seed): {summary.golden_number}")
    return 0
