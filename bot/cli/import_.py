"""`python -m bot import PATH...`: load billing data from CSV/TXT/XLSX/ZIP files, all or nothing.

Every problem is printed as `file:line: reason` (in Russian, for the accountant) and then nothing
is applied (exit code 1). `--dry-run` checks and shows what would be loaded. Times are the
organization's local time. Formats: docs/import-format.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
import zoneinfo
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bot.cli.common import Subcommands, database
from bot.config import Settings
from bot.errors import CommandError
from storage.importer import ImportFailed, Progress, import_files
from storage.importer.formats import KINDS_BY_NAME
from storage.importer.plan import FileInfo, Plan, Problems
from storage.models import ImportRun, Organization
from texts import fmt

# what a directory contributes; files given by name: any
SUFFIXES = (".csv", ".txt", ".tsv", ".xlsx", ".xlsm", ".zip")


def register(sub: Subcommands) -> None:
    parser = sub.add_parser(
        "import",
        help="загрузить данные биллинга из файлов CSV/TXT/XLSX/ZIP (всё или ничего)",
        description="Загрузка организаций, домов, помещений, лицевых счетов, услуг, начислений "
        "(в том числе плоским реестром, как его выгружает 1С), оплат, счетчиков и показаний. "
        "Каталог — все файлы CSV/TXT/XLSX/ZIP в нём. Форматы: docs/import-format.md.",
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="файлы или каталоги")
    parser.add_argument(
        "--org",
        metavar="CODE",
        help="код организации для таблиц без столбца «Организация» (по умолчанию — "
        "единственная организация в базе)",
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="только проверить и показать, что будет загружено; ничего не менять",
    )
    parser.add_argument(
        "--progress",
        choices=("auto", "bar", "lines", "none"),
        default="auto",
        help="ход работы в stderr: полоса на терминале (auto), строки для журналов, или нет",
    )
    parser.set_defaults(func=run)


def expand(paths: list[str]) -> list[Path]:
    files: list[Path] = []
    for text in paths:
        path = Path(text)
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.suffix.lower() in SUFFIXES)
            if not found:
                raise CommandError(f"{path}: в каталоге нет файлов CSV, TXT, XLSX или ZIP")
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            raise CommandError(f"{path}: нет такого файла или каталога")
    unique = list(dict.fromkeys(files))
    return unique


class BarProgress(Progress):
    """tqdm on stderr, one bar per stage."""

    def __init__(self) -> None:
        self._bar: Any = None

    def start(self, stage: str, total: int | None, unit: str) -> None:
        from tqdm import tqdm

        self.finish()
        self._bar = tqdm(
            total=total, desc=stage, unit=unit, unit_scale=True, leave=False, file=sys.stderr
        )

    def advance(self, amount: int) -> None:
        if self._bar is not None:
            self._bar.update(amount)

    def finish(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


class LinesProgress(Progress):
    """`load: 50000/1000000 rows` lines on stderr, at most one per stage step (for logs)."""

    def __init__(self) -> None:
        self.stage, self.total, self.unit, self.done = "", None, "", 0

    def start(self, stage: str, total: int | None, unit: str) -> None:
        self.stage, self.total, self.unit, self.done = stage, total, unit, 0
        print(f"{stage}: начато", file=sys.stderr, flush=True)

    def advance(self, amount: int) -> None:
        self.done += amount
        total = f"/{self.total}" if self.total else ""
        print(f"{self.stage}: {self.done}{total} {self.unit}", file=sys.stderr, flush=True)


def rows(count: int) -> str:
    return fmt.count(count, "строка", "строки", "строк")


def make_progress(mode: str) -> Progress:
    if mode == "auto":
        mode = "bar" if sys.stderr.isatty() else "none"
    return {"bar": BarProgress, "lines": LinesProgress}.get(mode, Progress)()


def _decimal(kopecks: int) -> Decimal:
    return Decimal(kopecks).scaleb(-2)


def _period(period: int) -> str:
    return f"{period % 100:02d}.{period // 100}"


def describe(info: FileInfo, plan: Plan) -> list[str]:
    kind = KINDS_BY_NAME[info.kind].title
    lines = [f"  {info.name}: {kind}, {rows(info.rows)} ({info.description})"]
    details = []
    if info.periods:
        details.append("периоды " + ", ".join(_period(p) for p in sorted(info.periods)))
    if info.accounts:
        new = sum(1 for index in info.accounts if plan.is_new_account(index))
        details.append(
            f"лицевых счетов {len(info.accounts)} (новых {new}, известных {len(info.accounts) - new})"
        )
    if info.kind in ("charges", "registry"):
        details.append(
            f"начислено {fmt.money(_decimal(info.charged))}, перерасчет "
            f"{fmt.money(_decimal(info.recalculated))}, оплачено {fmt.money(_decimal(info.paid))}"
        )
    elif info.kind == "payments":
        details.append(f"оплат на {fmt.money(_decimal(info.paid))}")
    if info.skipped:
        details.append(f"пропущено строк «Итого»: {info.skipped}")
    if details:
        lines.append("    " + "; ".join(details))
    if info.ignored:
        lines.append(f"    не загружаются столбцы: {', '.join(info.ignored)}")
    return lines


async def _zone(session_factory: Any, plan: Plan) -> zoneinfo.ZoneInfo:
    """The organization's zone (the import's, or the only one); Moscow otherwise."""
    codes = {plan.default_org} if plan.default_org else set()
    codes |= {r["code"] for r in plan.records["organizations"]}
    async with session_factory() as session:
        query = select(Organization.timezone)
        if len(codes) == 1:
            query = query.where(Organization.code == codes.pop())
        zones = set((await session.scalars(query)).all())
    try:
        return zoneinfo.ZoneInfo(zones.pop() if len(zones) == 1 else "Europe/Moscow")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("Europe/Moscow")


def report_problems(problems: Problems) -> None:
    for problem in problems.items:
        print(problem, file=sys.stderr)
    if problems.count > len(problems.items):
        print(f"… и ещё {problems.count - len(problems.items)}", file=sys.stderr)
    files = len(problems.files)
    print(
        f"Не загружено: {fmt.count(problems.count, 'ошибка', 'ошибки', 'ошибок')} "
        f"в {fmt.count(files, 'файле', 'файлах', 'файлах')}; в базе ничего не изменилось.",
        file=sys.stderr,
    )


async def run(args: argparse.Namespace, settings: Settings) -> int:
    paths = expand(args.paths)
    async with database(settings) as (engine, session_factory):
        started = time.monotonic()
        try:
            summary, plan = await import_files(
                engine, paths, make_progress(args.progress), org=args.org, dry_run=args.dry_run
            )
        except ImportFailed as failed:
            report_problems(failed.problems)
            return 1
        elapsed = f"{time.monotonic() - started:.1f}".replace(".", ",")
        zone = await _zone(session_factory, plan)
        created = None
        if summary is not None:
            async with session_factory() as session:
                created = await session.scalar(
                    select(ImportRun.created_at).where(ImportRun.id == summary.import_run_id)
                )
    tables = fmt.count(len(plan.files), "таблицы", "таблиц", "таблиц")
    if summary is None:
        print(f"Проверка без загрузки: {rows(plan.rows)} из {tables} — ошибок нет.")
    else:
        print(f"Загружено {rows(summary.rows)} из {tables} за {elapsed} с.")
    for info in plan.files:
        for line in describe(info, plan):
            print(line)
    if summary is None:
        print("Ничего не изменено (--dry-run).")
        return 0
    names = {
        "new": "новых",
        "updated": "обновлено",
        "replaced": "заменено",
        "unchanged": "без изменений",
    }
    for kind, counts in summary.counts.items():
        if any(counts.values()):
            detail = ", ".join(f"{names.get(name, name)} {value}" for name, value in counts.items())
            print(f"  {KINDS_BY_NAME[kind].title}: {detail}")
    if summary.periods:
        print(f"  периоды начислений: {', '.join(summary.periods)}")
    if created is not None:
        local = created.replace(tzinfo=dt.UTC).astimezone(zone)
        print(f"Загрузка № {summary.import_run_id}: {local:%d.%m.%Y %H:%M} ({zone.key})")
    return 0
