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
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bot.cli.common import Subcommands, database
from bot.config import Settings
from bot.errors import CommandError
from services import imports
from services.imports import FileSummary, PeriodChange
from storage.demo import DEMO_CODE, contents
from storage.importer import ImportFailed, Problem, Progress, PublishConflict
from storage.importer.formats import KINDS_BY_NAME
from storage.models import Organization
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


def describe(info: FileSummary) -> list[str]:
    lines = [f"  {info.name}: {info.title}, {rows(info.rows)} ({info.description})"]
    details = []
    if info.periods:
        details.append("периоды " + ", ".join(_period(p) for p in info.periods))
    if info.accounts:
        known = info.accounts - info.new_accounts
        details.append(
            f"лицевых счетов {info.accounts} (новых {info.new_accounts}, известных {known})"
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


def describe_change(change: PeriodChange) -> str:
    accounts = fmt.count(change.accounts_added, "новый счет", "новых счета", "новых счетов")
    return (
        f"  {_period(change.period)}: лицевых счетов {change.accounts_before} → "
        f"{change.accounts_after} ({accounts}), начислено "
        f"{fmt.money(_decimal(change.charged_before))} → "
        f"{fmt.money(_decimal(change.charged_after))}"
    )


async def local_zone(session_factory: Any, code: str | None = None) -> zoneinfo.ZoneInfo:
    """The organization's zone (`code`'s, or the only one's); Moscow otherwise."""
    async with session_factory() as session:
        query = select(Organization.timezone)
        if code:
            query = query.where(Organization.code == code)
        zones = set((await session.scalars(query)).all())
    try:
        return zoneinfo.ZoneInfo(zones.pop() if len(zones) == 1 else "Europe/Moscow")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("Europe/Moscow")


def report_problems(problems: Sequence[Problem], count: int, files: int) -> None:
    for problem in problems:
        print(problem, file=sys.stderr)
    if count > len(problems):
        print(f"… и ещё {count - len(problems)}", file=sys.stderr)
    print(
        f"Не загружено: {fmt.count(count, 'ошибка', 'ошибки', 'ошибок')} "
        f"в {fmt.count(files, 'файле', 'файлах', 'файлах')}; в базе ничего не изменилось.",
        file=sys.stderr,
    )


DEMO_HINT = (
    "В этой базе — демонстрационные данные (python -m bot demo, организация {name}, код "
    f"{DEMO_CODE}). Файлы без столбца «Организация» загружаются в единственную организацию "
    "базы; если файлы добавляют другую организацию (как образцы из samples/), загрузите их "
    "в пустую базу:\n"
    "  DATABASE_URL=sqlite+aiosqlite:///samples.sqlite3 python -m bot import samples/\n"
    f"Данные для демонстрационной организации загружайте с --org {DEMO_CODE}."
)


async def explain_demo(session_factory: Any) -> None:
    """A failed import into the demo's database: the samples there fail with «no column
    „Организация“» on every table, which does not say what to do; this does."""
    async with session_factory() as session:
        found = await contents(session)
    if found.has_demo:
        name = dict(found.organizations)[DEMO_CODE]
        print(DEMO_HINT.format(name=name), file=sys.stderr)


async def _dry_run(engine: Any, session_factory: Any, paths: list[Path], org: str | None) -> int:
    found = await imports.preview(engine, paths, organization=org)
    if not found.ok:
        report_problems(found.problems, found.problem_count, found.problem_files)
        await explain_demo(session_factory)
        return 1
    tables = fmt.count(len(found.files), "таблицы", "таблиц", "таблиц")
    print(f"Проверка без загрузки: {rows(found.rows)} из {tables} — ошибок нет.")
    for info in found.files:
        for line in describe(info):
            print(line)
    if found.changes:
        print("Изменения против опубликованных данных:")
        for change in found.changes:
            print(describe_change(change))
    print("Ничего не изменено (--dry-run).")
    return 0


COUNT_NAMES = {"new": "новых", "updated": "обновлено", "replaced": "заменено"}
COUNT_NAMES["unchanged"] = "без изменений"


async def run(args: argparse.Namespace, settings: Settings) -> int:
    paths = expand(args.paths)
    async with database(settings) as (engine, session_factory):
        await imports.cleanup(engine, settings)
        if args.dry_run:
            return await _dry_run(engine, session_factory, paths, args.org)
        started = time.monotonic()
        try:
            done = await imports.apply(
                engine, paths, organization=args.org, progress=make_progress(args.progress)
            )
        except ImportFailed as failed:
            problems = failed.problems
            report_problems(problems.items, problems.count, len(problems.files))
            await explain_demo(session_factory)
            return 1
        except PublishConflict:
            raise CommandError(
                "за это время другая загрузка опубликовала те же периоды; повторите загрузку"
            ) from None
        elapsed = f"{time.monotonic() - started:.1f}".replace(".", ",")
        zone = await local_zone(session_factory, args.org)
    tables = fmt.count(len(done.files), "таблицы", "таблиц", "таблиц")
    print(f"Загружено {rows(done.rows)} из {tables} за {elapsed} с.")
    for info in done.files:
        for line in describe(info):
            print(line)
    for kind, counts in done.counts.items():
        if any(counts.values()):
            detail = ", ".join(f"{COUNT_NAMES.get(k, k)} {value}" for k, value in counts.items())
            print(f"  {KINDS_BY_NAME[kind].title}: {detail}")
    if done.periods:
        print(f"  периоды начислений: {', '.join(done.periods)}")
    local = done.created_at.replace(tzinfo=dt.UTC).astimezone(zone)
    print(f"Загрузка № {done.import_id}: {local:%d.%m.%Y %H:%M} ({zone.key})")
    return 0
