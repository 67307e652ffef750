"""Billing imports as operators' use cases: preview, apply, list, undo.

A thin adapter over `storage.importer` as main has it today, with the names and shapes of the
versioned imports (branch `publish`: load as a new version, publish, undo within a window), which
replace this module. Until they land, `undo` only says it cannot restore anything: this build keeps
no earlier version of the data an import replaced.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import distinct, func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bot.config import Settings
from storage.importer import ImportFailed, Progress, import_files
from storage.importer.formats import KINDS_BY_NAME
from storage.importer.load import read_known
from storage.importer.plan import FileInfo, Plan, Problem
from storage.models import Account, Charge, ImportRun, Organization, ReceiptDelivery
from storage.periods import int_to_period, period_to_int

__all__ = [
    "Applied",
    "FileSummary",
    "ImportFailed",
    "ImportInfo",
    "PeriodChange",
    "Preview",
    "Problem",
    "Progress",
    "Undone",
    "apply",
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
    """The batch's charges of a period against what residents see now."""

    period: int  # YYYYMM
    accounts_before: int
    accounts_after: int
    accounts_added: int
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
    import_id: int
    rows: int
    periods: list[str]  # "MM.YYYY" of the charges
    counts: dict[str, dict[str, int]]
    files: list[FileSummary]
    created_at: dt.datetime  # UTC, naive
    published_periods: list[int]  # YYYYMM of charges that are new to residents (none before)


@dataclass
class ImportInfo:
    id: int
    created_at: dt.datetime
    operator_id: int | None
    files: str
    periods: list[str]
    rows: int
    status: str
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


# --- preview ----------------------------------------------------------------------------------


def _file_charges(plan: Plan) -> dict[int, tuple[set[int], int]]:
    """Per charge period of the files: their accounts (plan indexes) and total charged."""
    width = plan.charges.width
    out: dict[int, tuple[set[int], int]] = {}
    for batch in plan.charges.batches():
        for start in range(0, len(batch), width):
            accounts, charged = out.get(batch[start + 1], (set(), 0))
            accounts.add(batch[start])
            out[batch[start + 1]] = (accounts, charged + batch[start + 6])
    return out


async def _published(engine: AsyncEngine, plan: Plan, period: int) -> dict[int, int]:
    """What is published now for a period: charged (kopecks) per account, keyed by plan index
    (accounts the plan does not know get negative keys, so that they still count)."""
    query = (
        select(Organization.code, Account.number, func.sum(Charge.charged))
        .join(Account, Account.id == Charge.account_id)
        .join(Organization, Organization.id == Account.organization_id)
        .where(Charge.period == int_to_period(period))
        .group_by(Organization.code, Account.number)
    )
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    out: dict[int, int] = {}
    for n, (org, number, charged) in enumerate(rows):
        index = plan.known.accounts.get(org, {}).get(number, -1 - n)
        out[index] = round((charged or 0) * 100)
    return out


async def _changes(engine: AsyncEngine, plan: Plan) -> list[PeriodChange]:
    changes = []
    for period, (accounts, charged) in sorted(_file_charges(plan).items()):
        before = await _published(engine, plan, period)
        kept = {index: value for index, value in before.items() if index not in accounts}
        after = set(before) | accounts
        changes.append(
            PeriodChange(
                period=period,
                accounts_before=len(before),
                accounts_after=len(after),
                accounts_added=len(after - set(before)),
                accounts_removed=len(set(before) - after),
                charged_before=sum(before.values()),
                charged_after=sum(kept.values()) + charged,
            )
        )
    return changes


async def _plan(engine: AsyncEngine, paths: Sequence[Path], org: str | None) -> Plan:
    """Pass one of the import (read and check everything) without loading; the caller closes
    the plan. The same steps `import_files` takes before it loads."""
    plan = Plan(org)
    opened = await asyncio.to_thread(plan.open, list(paths))
    kinds = {layout.kind.name for _, layout in opened}
    async with engine.connect() as conn:
        await conn.run_sync(read_known, plan.known, kinds)
    await asyncio.to_thread(plan.scan, opened, Progress())
    if not plan.problems and not plan.files:
        plan.problems.add(", ".join(str(p) for p in paths), 0, "нет ни одной таблицы")
    return plan


async def preview(
    engine: AsyncEngine, paths: Sequence[Path], *, organization: str | None = None
) -> Preview:
    """Validate every file without applying anything; with the change against the published data."""
    plan = await _plan(engine, paths, organization)
    try:
        if plan.problems:
            return Preview(
                ok=False,
                rows=plan.rows,
                files=[_file_summary(info, plan) for info in plan.files],
                problems=list(plan.problems.items),
                problem_count=plan.problems.count,
                problem_files=len(plan.problems.files),
            )
        await asyncio.to_thread(plan.preview)
        return Preview(
            ok=True,
            rows=plan.rows,
            files=[_file_summary(info, plan) for info in plan.files],
            changes=await _changes(engine, plan),
        )
    finally:
        plan.close()


# --- apply ------------------------------------------------------------------------------------


async def _periods_with_charges(engine: AsyncEngine) -> set[int]:
    async with engine.connect() as conn:
        found = (await conn.execute(select(distinct(Charge.period)))).scalars().all()
    return {period_to_int(value) for value in found}


async def apply(
    engine: AsyncEngine,
    paths: Sequence[Path],
    *,
    operator_id: int | None = None,
    organization: str | None = None,
    progress: Progress | None = None,
) -> Applied:
    """Check and load the files in one transaction (all or nothing).

    Raises `storage.importer.ImportFailed` (nothing applied) on bad rows."""
    before = await _periods_with_charges(engine)
    summary, plan = await import_files(engine, paths, progress, org=organization)
    assert summary is not None  # not a dry run
    periods = sorted(plan.charge_periods)
    async with engine.connect() as conn:
        created = await conn.scalar(
            select(ImportRun.created_at).where(ImportRun.id == summary.import_run_id)
        )
    return Applied(
        import_id=summary.import_run_id,
        rows=summary.rows,
        periods=[f"{p % 100:02d}.{p // 100}" for p in periods],
        counts=summary.counts,
        files=[_file_summary(info, plan) for info in plan.files],
        created_at=created or dt.datetime.min,
        published_periods=[p for p in periods if p not in before],
    )


# --- past imports, undo -----------------------------------------------------------------------


async def list_imports(session: AsyncSession, limit: int = 20) -> list[ImportInfo]:
    """The most recent imports, newest first."""
    runs = await session.scalars(select(ImportRun).order_by(ImportRun.id.desc()).limit(limit))
    return [
        ImportInfo(
            id=run.id,
            created_at=run.created_at,
            operator_id=None,  # this build does not record who imported
            files=run.files or "",
            periods=list(run.periods or []),
            rows=run.rows,
            status="published",
            published_at=run.created_at,
            undone_at=None,
        )
        for run in runs
    ]


def _dates(periods: Sequence[str]) -> list[dt.date]:
    out = []
    for value in periods:
        digits = "".join(ch for ch in str(value) if ch.isdigit())
        if len(digits) == 6:  # 2020-03 or 03.2020
            year, month = (
                (digits[:4], digits[4:]) if "-" in str(value) else (digits[2:], digits[:2])
            )
            out.append(dt.date(int(year), int(month), 1))
    return out


async def undo(
    engine: AsyncEngine,
    import_id: int,
    *,
    operator_id: int | None = None,
    settings: Settings | None = None,
    dry_run: bool = False,
) -> Undone:
    """Whether the import can be undone and how many residents got receipts of its periods; this
    build cannot restore the data (no earlier version is kept): `ok` is False unless `dry_run`."""
    async with AsyncSession(engine) as session:
        run = await session.get(ImportRun, import_id)
        if run is None:
            return Undone(import_id, ok=False, reason="такой загрузки нет")
        periods = list(run.periods or [])
        dates = _dates(periods)
        residents = 0
        if dates:
            residents = await session.scalar(
                select(func.count(distinct(ReceiptDelivery.resident_id))).where(
                    ReceiptDelivery.period.in_(dates), ReceiptDelivery.status == "sent"
                )
            )
    return Undone(
        import_id,
        ok=dry_run,
        reason="" if dry_run else "эта версия бота не хранит прежние данные периодов",
        periods=periods,
        residents_with_receipts=int(residents or 0),
    )
