"""Billing import: CSV/XLSX files → the database, all or nothing.

Pass one (`plan`) reads and validates every file and collects every bad row; only when there is
none does pass two (`load`) apply everything in one transaction, ending with an `ImportRun` row.
See `docs/import-format.md` for the formats.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from storage.importer.dialect import finish_bulk, prepare_bulk
from storage.importer.load import Summary, apply, read_known
from storage.importer.plan import Plan, Problem, Problems, Progress

__all__ = ["ImportFailed", "Problem", "Progress", "Summary", "import_files"]


class ImportFailed(Exception):
    """Bad rows were found; nothing was applied."""

    def __init__(self, problems: Problems, plan: Plan) -> None:
        super().__init__(f"{problems.count} problems")
        self.problems = problems
        self.plan = plan


async def import_files(
    engine: AsyncEngine,
    paths: Sequence[Path],
    progress: Progress | None = None,
    *,
    org: str | None = None,
    dry_run: bool = False,
) -> tuple[Summary | None, Plan]:
    """Validate all files, then (unless `dry_run`) load them in one transaction.

    `org`: the organization (code) of tables without an org column; by default the only one.
    Raises `ImportFailed`; a dry run returns `(None, plan)` with the plan's `preview()`."""
    progress = progress or Progress()
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
        if dry_run:
            plan.preview()
            return None, plan
        async with engine.connect() as conn:
            await prepare_bulk(conn)
            try:
                async with conn.begin():
                    summary = await conn.run_sync(apply, plan, progress)
            finally:
                await finish_bulk(conn)
        return summary, plan
    finally:
        plan.close()
