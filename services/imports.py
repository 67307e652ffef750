"""Billing imports as a use case, for the operators' chat and the command line: check files
without applying them (`preview`), apply them all or nothing (`apply`), list past imports
(`list_imports`), undo one (`undo`).

A thin adapter over `storage.importer` as main has it today. The versioned imports (load as a new
version, publish, undo within a window) replace this module with the same names; until they land,
`undo` says it is not available rather than pretending.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import distinct, func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from storage.importer import ImportFailed, Problem, Progress, import_files
from storage.importer.formats import KINDS_BY_NAME
from storage.importer.load import read_known
from storage.importer.plan import FileInfo, Plan
from storage.models import (
    Account,
    AccountLink,
    Charge,
    ImportRun,
    Organization,
    ReceiptDelivery,
    Resident,
)
from storage.periods import int_to_period, period_to_int

__all__ = [
    "SUFFIXES",
    "Applied",
    "FileReport",
    "ImportItem",
    "PeriodChange",
    "Preview",
    "Problem",
    "Progress",
    "Refused",
    "UndoUnavailable",
    "Undone",
    "apply",
    "display_name",
    "get_import",
    "list_imports",
    "preview",
    "push_audience",
    "receipts_delivered",
    "undo",
]

SUFFIXES = (".csv", ".txt", ".tsv", ".xlsx", ".xlsm", ".zip")  # what billing files may be
MONEY_KINDS = ("charges", "registry")


@dataclass(frozen=True)
class FileReport:
    """One table as read: its kind, how it was decoded, what it holds (sums in kopecks)."""

    name: str
    kind: str  # Russian, for the operator
    description: str  # encoding and separator as detected, or the sheet
    rows: int
    periods: list[int]  # YYYYMM
    accounts_new: int
    accounts_known: int
    charged: int
    recalculated: int
    paid: int
    has_charges: bool
    has_payments: bool
    skipped: int  # «Итого» and subtotal rows
    ignored: list[str]


@dataclass(frozen=True)
class PeriodChange:
    """A charge period against what is published now (sums in kopecks)."""

    period: int  # YYYYMM
    accounts_before: int
    accounts_after: int
    added: int
    removed: int
    charged_before: int
    charged_after: int

    @property
    def is_new(self) -> bool:
        return self.accounts_before == 0


@dataclass
class Preview:
    files: list[FileReport] = field(default_factory=list)
    changes: list[PeriodChange] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    problem_count: int = 0
    rows: int = 0

    @property
    def ok(self) -> bool:
        return self.problem_count == 0


class Refused(Exception):
    """The files have bad rows: nothing was applied."""

    def __init__(self, preview: Preview) -> None:
        super().__init__(f"{preview.problem_count} problems")
        self.preview = preview


@dataclass(frozen=True)
class Applied:
    import_id: int
    rows: int
    periods: list[int]  # the charge periods it loaded, YYYYMM
    published: list[int]  # of them, those that had no data before (new months)
    counts: dict[str, dict[str, int]]


@dataclass(frozen=True)
class ImportItem:
    id: int
    created_at: dt.datetime  # naive UTC
    operator_id: int | None
    files: list[str]
    periods: list[str]
    rows: int


@dataclass(frozen=True)
class Undone:
    import_id: int
    periods: list[str]


class UndoUnavailable(Exception):
    """This build keeps no earlier version of the data an import replaced."""


# --- preview ----------------------------------------------------------------------------------


def _file_report(info: FileInfo, plan: Plan) -> FileReport:
    new = sum(1 for index in info.accounts if plan.is_new_account(index))
    return FileReport(
        name=info.name,
        kind=KINDS_BY_NAME[info.kind].title,
        description=info.description,
        rows=info.rows,
        periods=sorted(info.periods),
        accounts_new=new,
        accounts_known=len(info.accounts) - new,
        charged=info.charged,
        recalculated=info.recalculated,
        paid=info.paid,
        has_charges=info.kind in MONEY_KINDS,
        has_payments=info.kind == "payments",
        skipped=info.skipped,
        ignored=list(info.ignored),
    )


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
                added=len(after - set(before)),
                removed=len(set(before) - after),
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
    """Check the files without applying anything: per file what it holds, per charge period the
    change against the published data, or the problems (`file:line: reason`)."""
    plan = await _plan(engine, paths, organization)
    try:
        if plan.problems:
            return Preview(problems=list(plan.problems.items), problem_count=plan.problems.count)
        await asyncio.to_thread(plan.preview)
        return Preview(
            files=[_file_report(info, plan) for info in plan.files],
            changes=await _changes(engine, plan),
            rows=plan.rows,
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
    """Check and load the files in one transaction (all or nothing). Raises `Refused`."""
    before = await _periods_with_charges(engine)
    try:
        summary, plan = await import_files(engine, paths, progress, org=organization)
    except ImportFailed as failed:
        problems = failed.problems
        raise Refused(
            Preview(problems=list(problems.items), problem_count=problems.count)
        ) from None
    assert summary is not None  # not a dry run
    periods = sorted(plan.charge_periods)
    return Applied(
        import_id=summary.import_run_id,
        rows=summary.rows,
        periods=periods,
        published=[p for p in periods if p not in before],
        counts=summary.counts,
    )


# --- past imports, undo -----------------------------------------------------------------------


TEMP_PREFIX = "tg-import-"  # the bot's download directories: not part of a file's name
_TEMP_PART = re.compile(rf"^.*?{TEMP_PREFIX}[^/\\]*[/\\]\d+[/\\]")


def display_name(name: str) -> str:
    """A file's name as the operator sent it (without the bot's download directory)."""
    return _TEMP_PART.sub("", name)


def _item(run: ImportRun) -> ImportItem:
    return ImportItem(
        id=run.id,
        created_at=run.created_at,
        operator_id=None,  # this build does not record who imported
        files=[display_name(name) for name in (run.files or "").split(", ") if name],
        periods=list(run.periods or []),
        rows=run.rows,
    )


async def list_imports(session: AsyncSession, limit: int = 20) -> list[ImportItem]:
    runs = await session.scalars(select(ImportRun).order_by(ImportRun.id.desc()).limit(limit))
    return [_item(run) for run in runs]


async def get_import(session: AsyncSession, import_id: int) -> ImportItem | None:
    run = await session.get(ImportRun, import_id)
    return _item(run) if run is not None else None


async def undo(engine: AsyncEngine, import_id: int, *, operator_id: int | None = None) -> Undone:
    raise UndoUnavailable(import_id)


# --- who receives what ------------------------------------------------------------------------


def _periods(values: Sequence[str | int]) -> list[dt.date]:
    out = []
    for value in values:
        text = str(value).replace("-", "")
        if text.isdigit() and len(text) == 6:
            out.append(int_to_period(int(text)))
    return out


async def push_audience(session: AsyncSession, period: int) -> int:
    """Residents the receipt push of a period would reach (by Telegram or e-mail)."""
    has_charges = (
        select(Charge.id)
        .where(Charge.account_id == AccountLink.account_id)
        .where(Charge.period == int_to_period(period))
        .exists()
    )
    telegram = Resident.push_telegram.is_(True) & Resident.unreachable_at.is_(None)
    email = Resident.push_email.is_(True) & Resident.email_confirmed_at.is_not(None)
    query = (
        select(func.count(distinct(Resident.id)))
        .join(AccountLink, AccountLink.resident_id == Resident.id)
        .where(Resident.registered_at.is_not(None), has_charges, telegram | email)
    )
    return int(await session.scalar(query) or 0)


async def receipts_delivered(session: AsyncSession, periods: Sequence[str | int]) -> int:
    """Residents who already got a receipt of these periods."""
    dates = _periods(periods)
    if not dates:
        return 0
    query = select(func.count(distinct(ReceiptDelivery.resident_id))).where(
        ReceiptDelivery.period.in_(dates), ReceiptDelivery.status == "sent"
    )
    return int(await session.scalar(query) or 0)
