"""`python -m bot export-readings --period 2020-04 [--org CODE|ID] -o readings.csv`

The current (latest version) reading of every meter for a period, for the billing system, in the
layout of the import's readings file (docs/import-format.md): `;`-separated UTF-8 with a BOM and a
Russian header by default (so that Excel opens it as it is; `--header en` for the English one),
decimal comma, so the same file loads back with `import`. Extra columns tell the billing system more: `review`
(1 when the reading awaits the operators' check: a spike or a meter rollover), its reason, the
meter's serial and resource, and the version (corrections made within the window).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import sys
from decimal import Decimal
from pathlib import Path

from bot.cli.common import Subcommands, database
from bot.config import Settings
from bot.errors import CommandError
from storage.periods import format_period, parse_period
from storage.repo import readings as repo

HEADER_RU = (
    "Организация",
    "Лицевой счет",
    "Код ПУ",
    "Период",
    "Показание",
    "Дата",
    "Источник",
    "На проверку",
    "Причина проверки",
    "Заводской номер",
    "Ресурс",
    "Зона",
    "Версия",
)
HEADER = (
    "org",
    "account",
    "meter",
    "period",
    "value",
    "date",
    "source",
    "review",
    "review_reason",
    "serial",
    "resource",
    "zone",
    "version",
)


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


def _number(value: Decimal) -> str:
    text = f"{value.normalize():f}" if value != value.to_integral() else f"{int(value)}"
    return text.replace(".", ",")


def render_csv(rows: list[repo.ExportRow], header: tuple[str, ...] = HEADER_RU) -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(
            (
                row.organization,
                row.account,
                row.meter,
                format_period(row.period),
                _number(row.value),
                row.taken_on.strftime("%d.%m.%Y") if row.taken_on else "",
                row.source,
                "1" if row.needs_review else "0",
                row.review_reason,
                row.serial,
                row.resource,
                row.zone,
                row.version,
            )
        )
    return out.getvalue()


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
        rows = await repo.export_rows(session, period, organization_id)
    text = render_csv(rows, HEADER_RU if args.header == "ru" else HEADER)
    if args.output == "-":
        sys.stdout.write(text)
    else:
        path = Path(args.output)
        try:
            encoding = "utf-8" if args.no_bom else "utf-8-sig"
            await asyncio.to_thread(path.write_text, text, encoding=encoding, newline="")
        except OSError as error:
            raise CommandError(f"cannot write {path}: {error.strerror}") from None
    review = sum(1 for row in rows if row.needs_review)
    print(
        f"exported {len(rows)} readings of {format_period(period)} ({review} to review)"
        + ("" if args.output == "-" else f" to {args.output}"),
        file=sys.stderr,
    )
    return 0
