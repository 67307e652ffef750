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
        super().__init__(f"{problems.count} bad rows")
        self.problems = problems
        self.plan = plan


async def import_files(
    engine: AsyncEngine, paths: Sequence[Path], progress: Progress | None = None
) -> tuple[Summary, Plan]:
    """Validate all files, then load them in one transaction. Raises `ImportFailed`."""
    progress = progress or Progress()
    plan = Plan()
    try:
        opened = plan.open(list(paths))
        kinds = {layout.kind.name for _, layout in opened}
        async with engine.connect() as conn:
            await conn.run_sync(read_known, plan.known, kinds)
        await asyncio.to_thread(plan.scan, opened, progress)
        if plan.problems:
            raise ImportFailed(plan.problems, plan)
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
