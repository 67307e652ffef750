"""`python -m bot import PATH...`: load billing data from CSV/XLSX files, all or nothing.

Every bad row is printed as `file:line: reason` and then nothing is applied (exit code 1).
Formats: docs/import-format.md.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from bot.cli import CommandError
from bot.cli.common import database
from bot.config import Settings
from storage.importer import ImportFailed, Progress, import_files

SUFFIXES = (".csv", ".xlsx", ".xlsm")  # what a directory contributes; files given by name: any


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "import",
        help="load billing data from CSV/XLSX files (all or nothing)",
        description="Load organizations, houses, apartments, accounts, services, charges, "
        "payments, meters and readings. A directory means every CSV/XLSX file in it. "
        "Formats: docs/import-format.md.",
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="files or directories")
    parser.add_argument(
        "--progress",
        choices=("auto", "bar", "lines", "none"),
        default="auto",
        help="progress on stderr: a bar on a terminal (auto), plain lines for logs, or none",
    )
    parser.set_defaults(func=run)


def expand(paths: list[str]) -> list[Path]:
    files: list[Path] = []
    for text in paths:
        path = Path(text)
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.suffix.lower() in SUFFIXES)
            if not found:
                raise CommandError(f"{path}: no CSV or XLSX files in this directory")
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            raise CommandError(f"{path}: no such file or directory")
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
        print(f"{stage}: started", file=sys.stderr, flush=True)

    def advance(self, amount: int) -> None:
        self.done += amount
        total = f"/{self.total}" if self.total else ""
        print(f"{self.stage}: {self.done}{total} {self.unit}", file=sys.stderr, flush=True)


def rows(count: int) -> str:
    return f"{count} {'row' if count == 1 else 'rows'}"


def make_progress(mode: str) -> Progress:
    if mode == "auto":
        mode = "bar" if sys.stderr.isatty() else "none"
    return {"bar": BarProgress, "lines": LinesProgress}.get(mode, Progress)()


async def run(args: argparse.Namespace, settings: Settings) -> int:
    paths = expand(args.paths)
    async with database(settings) as (engine, _):
        started = time.monotonic()
        try:
            summary, plan = await import_files(engine, paths, make_progress(args.progress))
        except ImportFailed as failed:
            problems = failed.problems
            for problem in problems.items:
                print(problem, file=sys.stderr)
            if problems.count > len(problems.items):
                print(f"... and {problems.count - len(problems.items)} more", file=sys.stderr)
            files = len(problems.files)
            print(
                f"Import failed: {problems.count} bad {'row' if problems.count == 1 else 'rows'} "
                f"in {files} {'file' if files == 1 else 'files'}; nothing was imported.",
                file=sys.stderr,
            )
            return 1
        elapsed = time.monotonic() - started
    print(
        f"Imported {rows(summary.rows)} from {len(plan.files)} "
        f"{'file' if len(plan.files) == 1 else 'files'} in {elapsed:.1f} s."
    )
    for info in plan.files:
        ignored = f"; ignored columns: {', '.join(info.ignored)}" if info.ignored else ""
        print(f"  {info.name}: {info.kind}, {rows(info.rows)} ({info.description}){ignored}")
    for kind, counts in summary.counts.items():
        if any(counts.values()):
            detail = ", ".join(f"{value} {name}" for name, value in counts.items())
            print(f"  {kind}: {detail}")
    if summary.periods:
        print(f"  charge periods: {', '.join(summary.periods)}")
    return 0
