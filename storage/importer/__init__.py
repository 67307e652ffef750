"""Billing import: CSV/XLSX files → the database, all or nothing.

Pass one (`plan`) reads and validates every file and collects every bad row; only when there is
none does pass two (`load`) write everything as a new version of the periods, invisible, in short
transactions, and publish it in one small one (`versions`).
See `docs/import-format.md` for the formats.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from storage.importer.dialect import finish_bulk, prepare_bulk
from storage.importer.load import Summary, changes, load, read_known
from storage.importer.plan import Plan, Problem, Problems, Progress
from storage.importer.versions import PublishConflict, clean

__all__ = [
    "ImportFailed",
    "Problem",
    "Progress",
    "PublishConflict",
    "Summary",
    "clean_versions",
    "import_files",
    "validate",
]


class ImportFailed(Exception):
    """Bad rows were found; nothing was applied."""

    def __init__(self, problems: Problems, plan: Plan) -> None:
        super().__init__(f"{problems.count} problems")
        self.problems = problems
        self.plan = plan


async def _plan(
    engine: AsyncEngine, paths: Sequence[Path], progress: Progress, org: str | None
) -> Plan:
    """Pass one; the plan (the caller closes it). Raises `ImportFailed` (the plan closed)."""
    plan = Plan(org)
    try:
        opened = await asyncio.to_thread(plan.open, list(paths))
        kinds = {layout.kind.name for _, layout in opened}
        async with engine.connect() as conn:
            await conn.run_sync(read_known, plan.known, kinds)
        await asyncio.to_thread(plan.scan, opened, progress)
        if not plan.problems and not plan.files:
            plan.problems.add(", ".join(str(p) for p in paths), 0, "нет ни одной таблицы")
        if plan.problems:
            raise ImportFailed(plan.problems, plan)
    except BaseException:
        plan.close()
        raise
    return plan


async def validate(
    engine: AsyncEngine, paths: Sequence[Path], *, org: str | None = None
) -> tuple[Plan, list[dict[str, int]]]:
    """Pass one without applying: the plan (closed) with its `preview()` figures and, per period of its charges, the change against the published data (`load.changes`).
    Raises `ImportFailed`."""
    plan = await _plan(engine, paths, Progress(), org)
    try:
        await asyncio.to_thread(plan.preview)
        async with engine.connect() as conn:
            found = await conn.run_sync(changes, plan)
    finally:
        plan.close()
    return plan, found


async def import_files(
    engine: AsyncEngine,
    paths: Sequence[Path],
    progress: Progress | None = None,
    *,
    org: str | None = None,
    operator_id: int | None = None,
) -> tuple[Summary, Plan]:
    """Validate all files, then load them as a new version and publish it (all or nothing:
    until it is published nobody sees any of it; `versions.clean` removes a killed load).

    `org`: the organization (code) of tables without an org column; by default the only one.
    Raises `ImportFailed`. The plan comes back closed, with its `preview()` figures."""
    progress = progress or Progress()
    plan = await _plan(engine, paths, progress, org)
    try:
        await asyncio.to_thread(plan.preview)
        async with engine.connect() as conn:
            await prepare_bulk(conn)
            try:
                summary = await conn.run_sync(load, plan, progress, operator_id)
            finally:
                await finish_bulk(conn)
    finally:
        plan.close()
    return summary, plan


async def clean_versions(engine: AsyncEngine, window: dt.timedelta) -> int:
    """Delete unpublished loads of dead processes, undone imports' rows and the versions
    replaced longer than `window` ago (short batches); rows deleted."""
    async with engine.connect() as conn:
        return await conn.run_sync(clean, window)
