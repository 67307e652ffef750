"""`python -m bot imports` lists recent imports; `python -m bot undo-import N` undoes one.

Times are the organization's local time. Undo asks for confirmation (or `--yes`) after saying how
many residents already got receipts of the periods it restores. Exit codes: 0 done, 1 refused or
not confirmed, 2 a bad argument.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import zoneinfo

from bot.cli.common import Subcommands, database
from bot.cli.import_ import local_zone
from bot.config import Settings
from services import imports
from services.imports import ImportInfo
from texts import fmt

STATUS = {
    "loading": "загружается",
    "published": "опубликована",
    "undone": "отменена",
    "failed": "прервана",
}


def register(sub: Subcommands) -> None:
    listing = sub.add_parser(
        "imports",
        help="последние загрузки данных биллинга",
        description="Последние загрузки: когда (местное время), кто, файлы, периоды, строки.",
    )
    listing.add_argument("--limit", type=int, default=20, help="сколько показать (20)")
    listing.set_defaults(func=run_list)
    undo = sub.add_parser(
        "undo-import",
        help="отменить загрузку: вернуть данные ее периодов, какими они были до нее",
        description="Возвращает начисления и оплаты периодов, которые затронула загрузка N, "
        "какими они были до нее, и удаляет загруженные ею показания.",
    )
    undo.add_argument("import_id", type=int, metavar="N", help="номер загрузки (см. imports)")
    undo.add_argument("--yes", action="store_true", help="не спрашивать подтверждения")
    undo.set_defaults(func=run_undo)


def _when(moment: dt.datetime | None, zone: zoneinfo.ZoneInfo) -> str:
    if moment is None:
        return "—"
    return f"{moment.replace(tzinfo=dt.UTC).astimezone(zone):%d.%m.%Y %H:%M}"


def describe(info: ImportInfo, zone: zoneinfo.ZoneInfo) -> list[str]:
    who = f"оператор {info.operator_id}" if info.operator_id else "командная строка"
    periods = ", ".join(_period(p) for p in info.periods) or "без начислений"
    lines = [
        f"№ {info.id}  {_when(info.created_at, zone)}  {who}  {STATUS.get(info.status, info.status)}",
        f"    периоды: {periods}; {fmt.count(info.rows, 'строка', 'строки', 'строк')}",
        f"    файлы: {info.files}",
    ]
    if info.undone_at is not None:
        lines.append(f"    отменена {_when(info.undone_at, zone)}")
    return lines


def _period(text: str) -> str:
    """`2020-03` → `03.2020`."""
    year, _, month = text.partition("-")
    return f"{month}.{year}" if month else text


async def run_list(args: argparse.Namespace, settings: Settings) -> int:
    async with database(settings) as (_engine, session_factory):
        zone = await local_zone(session_factory)
        async with session_factory() as session:
            found = await imports.list_imports(session, max(1, args.limit))
    if not found:
        print("Загрузок еще не было.")
        return 0
    print(f"Последние загрузки (время — {zone.key}):")
    for info in found:
        for line in describe(info, zone):
            print(line)
    return 0


def _confirmed(import_id: int) -> bool:
    try:
        answer = input(f"Отменить загрузку № {import_id}? [да/нет] ")
    except EOFError:
        return False
    return answer.strip().lower() in ("да", "д", "yes", "y")


async def run_undo(args: argparse.Namespace, settings: Settings) -> int:
    async with database(settings) as (engine, _session_factory):
        await imports.cleanup(engine, settings)
        check = await imports.undo(engine, args.import_id, settings=settings, dry_run=True)
        if not check.ok:
            print(f"Загрузку № {args.import_id} отменить нельзя: {check.reason}.", file=sys.stderr)
            return 1
        periods = ", ".join(_period(p) for p in check.periods) or "—"
        got = fmt.count(check.residents_with_receipts, "житель", "жителя", "жителей")
        print(f"Загрузка № {args.import_id}: периоды {periods}.")
        print(f"Квитанции за эти периоды уже получили {got}.")
        if not args.yes and not _confirmed(args.import_id):
            print("Ничего не изменено.")
            return 1
        done = await imports.undo(engine, args.import_id, settings=settings)
    if not done.ok:
        print(f"Загрузку № {args.import_id} отменить нельзя: {done.reason}.", file=sys.stderr)
        return 1
    print(f"Загрузка № {args.import_id} отменена: данные периодов {periods} возвращены.")
    return 0
