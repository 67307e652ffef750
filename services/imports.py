"""Billing imports as operators' use cases: preview, apply (load a version and publish), list, undo.

The CLI (`bot/cli/import_.py`, `imports`, `undo-import`) and the operators' Telegram flow call these;
the storage side is `storage.importer` (reading and validating files, loading a version) and
`storage.repo.imports` (versions, publishing, undo, clean-up). Every operator action is logged with
the operator's Telegram id when given; no resident's personal data is logged.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.config import Settings
from storage.db import create_engine
from storage.importer import (
    ImportFailed,
    Progress,
    Summary,
    clean_versions,
    import_files,
    validate,
)
from storage.importer.formats import KINDS_BY_NAME
from storage.importer.plan import FileInfo, Plan, Problem
from storage.repo import imports as repo

log = logging.getLogger(__name__)
T = TypeVar("T")

__all__ = [
    "Applied",
    "FileSummary",
    "ImportInfo",
    "PeriodChange",
    "Preview",
    "Undone",
    "apply",
    "cleanup",
    "list_imports",
    "preview",
    "undo",
]


@dataclass
class FileSummary:
    """One table of the batch as detected: kind, encoding/separator (`description`), its figures."""

    name: str
    kind: str  # storage.importer.formats kind name: "charges", "registry", "payments", ...
    title: str  # the kind in Russian
    description: str  # encoding and separator or sheet, as detected
    rows: int
    periods: list[int]  # YYYYMM
    accounts: int
    new_accounts: int
    charged: int  # kopecks
    recalculated: int
    paid: int
    skipped: int  # «Итого» and subtotal rows
    ignored: list[str]


@dataclass
class PeriodChange:
    """The batch's charges of a period against what residents see now (the published version)."""

    period: int  # YYYYMM
    accounts_before: int
    accounts_after: int
    accounts_added: int  # accounts that get charges of this period and had none
    accounts_removed: int  # always 0: a file replaces the accounts it lists, keeps the others
    charged_before: int  # kopecks
    charged_after: int


@dataclass
class Preview:
    """What `apply` would do; `ok` is False when there are bad rows (then nothing can be applied)."""

    ok: bool
    rows: int
    files: list[FileSummary] = field(default_factory=list)
    changes: list[PeriodChange] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)  # the first ones, `file:line: reason`
    problem_count: int = 0
    problem_files: int = 0


@dataclass
class Applied:
    """A published import."""

    import_id: int
    rows: int
    periods: list[str]  # "MM.YYYY" of the charges
    counts: dict[str, dict[str, int]]
    files: list[FileSummary]
    created_at: dt.datetime  # UTC, naive
    published_periods: list[int]  # YYYYMM of charges that are new to residents (none before)


@dataclass
class ImportInfo:
    """A row of `imports`: when (UTC, naive), who, files, periods, rows, state."""

    id: int
    created_at: dt.datetime
    operator_id: int | None
    files: str
    periods: list[str]
    rows: int
    status: str  # loading / published / undone / failed
    published_at: dt.datetime | None
    undone_at: dt.datetime | None


@dataclass
class Undone:
    import_id: int
    ok: bool
    reason: str = ""  # why not, in Russian, when not ok
    periods: list[str] = field(default_factory=list)
    residents_with_receipts: int = 0  # residents already sent receipts of those periods


def _file_summary(info: FileInfo, plan: Plan) -> FileSummary:
    return FileSummary(
        name=info.name,
        kind=info.kind,
        title=KINDS_BY_NAME[info.kind].title,
        description=info.description,
        rows=info.rows,
        periods=sorted(info.periods),
        accounts=len(info.accounts),
        new_accounts=sum(1 for index in info.accounts if plan.is_new_account(index)),
        charged=info.charged,
        recalculated=info.recalculated,
        paid=info.paid,
        skipped=info.skipped,
        ignored=list(info.ignored),
    )


async def preview(
    engine: AsyncEngine, paths: Sequence[Path], *, organization: str | None = None
) -> Preview:
    """Validate every file without applying anything; with the change against the published data."""
    try:
        plan, changes = await validate(engine, paths, org=organization)
    except ImportFailed as failed:
        problems = failed.problems
        return Preview(
            ok=False,
            rows=failed.plan.rows,
            files=[_file_summary(f, failed.plan) for f in failed.plan.files],
            problems=list(problems.items),
            problem_count=problems.count,
            problem_files=len(problems.files),
        )
    return Preview(
        ok=True,
        rows=plan.rows,
        files=[_file_summary(f, plan) for f in plan.files],
        changes=[PeriodChange(**c) for c in changes],
    )


async def apply(
    engine: AsyncEngine,
    paths: Sequence[Path],
    *,
    operator_id: int | None = None,
    organization: str | None = None,
    progress: Progress | None = None,
) -> Applied:
    """Load the files as a new version of the periods they touch and publish it.

    Runs in a worker thread with its own event loop and engine, so the caller's loop (the bot)
    stays responsive; `progress`'s methods are called on the caller's loop. Raises
    `storage.importer.ImportFailed` (nothing applied) on bad rows, `PublishConflict` when another
    import published the same periods meanwhile (nothing visible changed)."""
    log.info("import started: operator=%s files=%d", operator_id, len(paths))
    loop = asyncio.get_running_loop()
    forward = _Forward(progress, loop) if progress is not None else None

    async def load(own: AsyncEngine) -> tuple[Summary, Plan]:
        return await import_files(own, paths, forward, org=organization, operator_id=operator_id)

    try:
        summary, plan = await _in_own_thread(engine, load)
    except ImportFailed as failed:
        log.info("import refused: operator=%s problems=%d", operator_id, failed.problems.count)
        raise
    files = [_file_summary(f, plan) for f in plan.files]
    log.info(
        "import published: id=%d operator=%s rows=%d periods=%s",
        summary.import_run_id,
        operator_id,
        summary.rows,
        ",".join(summary.periods),
    )
    return _applied(summary, files)


class _Forward(Progress):
    """The import's progress, reported from its thread, run on the caller's event loop."""

    def __init__(self, target: Progress, loop: asyncio.AbstractEventLoop) -> None:
        self.target, self.loop = target, loop

    def start(self, stage: str, total: int | None, unit: str) -> None:
        self.loop.call_soon_threadsafe(self.target.start, stage, total, unit)

    def advance(self, amount: int) -> None:
        self.loop.call_soon_threadsafe(self.target.advance, amount)

    def finish(self) -> None:
        self.loop.call_soon_threadsafe(self.target.finish)


async def _in_own_thread(engine: AsyncEngine, work: Callable[[AsyncEngine], Awaitable[T]]) -> T:
    """Run `work` in a thread with its own event loop and engine on the same database: the
    import's CPU-bound passes never stall the caller's loop (the bot keeps answering)."""
    url = engine.url.render_as_string(hide_password=False)

    def run() -> T:
        async def main() -> T:
            own = create_engine(url)
            try:
                return await work(own)
            finally:
                await own.dispose()

        return asyncio.run(main())

    return await asyncio.to_thread(run)


def _applied(summary: Summary, files: list[FileSummary]) -> Applied:
    return Applied(
        import_id=summary.import_run_id,
        rows=summary.rows,
        periods=summary.periods,
        counts=summary.counts,
        files=files,
        created_at=summary.created_at or dt.datetime.min,
        published_periods=summary.new_periods,
    )


async def list_imports(session: AsyncSession, limit: int = 20) -> list[ImportInfo]:
    """The most recent imports, newest first."""
    runs = await repo.recent(session, limit)
    return [
        ImportInfo(
            id=r.id,
            created_at=r.created_at,
            operator_id=r.operator_id,
            files=r.files,
            periods=list(r.periods or []),
            rows=r.rows,
            status=r.status,
            published_at=r.published_at,
            undone_at=r.undone_at,
        )
        for r in runs
    ]


async def undo(
    engine: AsyncEngine,
    import_id: int,
    *,
    operator_id: int | None = None,
    settings: Settings | None = None,
    dry_run: bool = False,
) -> Undone:
    """Restore the data of the periods the import touched as they were before it.

    `dry_run`: only say whether it can be undone and how many residents got receipts."""
    settings = settings or Settings()
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    async with sessions() as session:
        outcome = await repo.undo(
            session, import_id, window=dt.timedelta(days=settings.import_undo_days), dry_run=dry_run
        )
        if not dry_run and outcome.ok:
            await session.commit()
    if outcome.ok and not dry_run:
        log.info("import undone: id=%d operator=%s", import_id, operator_id)
        await cleanup(engine, settings)
    return Undone(
        import_id=import_id,
        ok=outcome.ok,
        reason=outcome.reason,
        periods=outcome.periods,
        residents_with_receipts=outcome.residents_with_receipts,
    )


async def cleanup(engine: AsyncEngine, settings: Settings | None = None) -> int:
    """Delete versions nobody can see or undo to any more (an unpublished load of a killed
    process, undone imports, versions older than the undo window), in short batches.
    The count of rows deleted."""
    settings = settings or Settings()
    deleted = await clean_versions(engine, dt.timedelta(days=settings.import_undo_days))
    if deleted:
        log.info("import versions cleaned up: rows=%d", deleted)
    return deleted
