"""`python -m bot export-readings --period 2020-04 [--org CODE|ID] -o readings.csv`

The current (latest version) reading of every meter for a period, for the billing system, in the
layout of the import's readings file (docs/import-format.md): `;`-separated UTF-8 with a BOM and a
Russian header by default (so that Excel opens it as it is; `--header en` for the English one),
decimal comma, so the same file loads back with `import` (services/readings/export.py, shared with
the operators' /export_readings).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from bot.cli.common import Subcommands, database
from bot.config import Settings
from bot.errors import CommandError
from services.readings.export import HEADER, HEADER_RU, export
from storage.periods import format_period, parse_period
from storage.repo import readings as repo


def register(sub: Subcommands) -> None:
    parser = sub.add_parser(
        "export-readings",
        help="export a period's meter readings for the billing system (CSV)",
        description="Write the current readings of a period (the latest correction of each "
        "meter) as a readings CSV of the import format; readings to check are flagged in the "
        "'review' column.",
    )
    parser.add_argument("--period", required=True, help="the month, YYYY-MM")
    parser.add_argument("--org", help="only this organization (code or id)")
    parser.add_argument(
        "-o", "--output", required=True, help="the CSV file to write ('-' for standard output)"
    )
    parser.add_argument(
        "--header",
        choices=("ru", "en"),
        default="ru",
        help="column names: Russian (default) or English; the import reads both",
    )
    parser.add_argument(
        "--no-bom", action="store_true", help="UTF-8 without the BOM (for programs, not Excel)"
    )
    parser.set_defaults(func=export_readings)


async def export_readings(args: argparse.Namespace, settings: Settings) -> int:
    try:
        period = parse_period(args.period)
    except ValueError:
        raise CommandError(f"--period {args.period!r}: expected YYYY-MM, e.g. 2020-04") from None
    async with database(settings) as (_engine, session_factory), session_factory() as session:
        organization_id = None
        if args.org:
            org = await repo.find_organization(session, args.org)
            if org is None:
                raise CommandError(f"--org {args.org!r}: no such organization (code or id)")
            organization_id = org.id
        exported = await export(
            session, period, organization_id, HEADER_RU if args.header == "ru" else HEADER
        )
    text = exported.text
    if args.output == "-":
        sys.stdout.write(text)
    else:
        path = Path(args.output)
        try:
            encoding = "utf-8" if args.no_bom else "utf-8-sig"
            await asyncio.to_thread(path.write_text, text, encoding=encoding, newline="")
        except OSError as error:
            raise CommandError(f"cannot write {path}: {error.strerror}") from None
    print(
        f"exported {exported.readings} readings of {format_period(period)} "
        f"({exported.to_review} to review)" + ("" if args.output == "-" else f" to {args.output}"),
        file=sys.stderr,
    )
    return 0
