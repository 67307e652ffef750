"""Versions of billing data: load invisibly in short transactions, publish in one small one.

An import's charges and payments are written with `import_id` = its `import_runs.id` while the run
is `loading`; readers see only the version `published_periods` names (`storage.repo.versions`),
so nothing of it is visible until `publish` points the periods at it and marks the run
`published`, in one transaction. A process killed before that leaves a `loading` run whose rows
nobody sees; `cleanup` (at the next start) deletes them. The version an import replaced stays
until the undo window passes, then `cleanup` deletes it too. Deletes go in short batches.

On SQLite the load commits every `Pacer.hold` seconds and pauses `Pacer.gap` after each commit,
and `Pacer.pause` (longer than the 100 ms between the late tries of SQLite's busy handler) every
`Pacer.every` seconds: a concurrent writer (a resident's reading) that misses the short gaps gets
the lock in the next long pause, so it waits at most about `every` + `pause`. The load also
checkpoints the WAL itself every few commits, so that a resident's commit never has to copy the
import's pages into the database file.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import socket
import time
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import delete, exists, func, insert, literal, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.sql.expression import TableClause

from storage.importer import bulk as t
from storage.models import Base, ImportRun, utcnow

CHARGES, PAYMENTS = "charges", "payments"
LOADING, PUBLISHED, UNDONE, FAILED = "loading", "published", "undone", "failed"
HEARTBEAT_SECONDS = 5.0
STALE_AFTER = dt.timedelta(minutes=10)  # a loading run silent this long is dead
DELETE_BATCH = 5_000
CHECKPOINT_EVERY = 5  # commits (~100 ms of writing) between the load's own WAL checkpoints

runs = ImportRun.__table__
published = t.TABLES["published_periods"]  # periods as stored: YYYYMM integers
versions = t.TABLES["import_versions"]


class PublishConflict(Exception):
    """Another import published one of these periods while this one was loading."""


def process_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:100]


class Pacer:
    """Commits the load's transaction every `hold` seconds, renews the run's heartbeat, and on
    SQLite pauses `gap` seconds after each commit so that a waiting writer gets the lock.

    A writer waiting on SQLite's busy handler (`busy_timeout`) tries again after 1, 2, 5, 10 …
    ms, then every 100 ms: the short gaps let most writers in at one of their early tries, but
    one in the 100 ms rhythm can miss gap after gap (a gap is 1/10 of the cycle). So every
    `every` seconds the pause is `pause`, longer than 100 ms: no writer misses that one."""

    def __init__(
        self,
        conn: Connection,
        run_id: int,
        hold: float = 0.02,
        gap: float = 0.002,
        every: float = 0.5,
        pause: float = 0.12,
    ):
        self.conn, self.run_id = conn, run_id
        self.hold, self.every, self.pause = hold, every, pause
        self.gap = gap if conn.dialect.name == "sqlite" else 0.0
        self.started = self.beat = self.paused = time.monotonic()
        self.commits = 0

    def tick(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self.started < self.hold:
            return
        if now - self.beat >= HEARTBEAT_SECONDS:
            self.conn.execute(
                update(runs).where(runs.c.id == self.run_id).values(heartbeat_at=utcnow())
            )
            self.beat = now
        self.conn.commit()
        self.commits += 1
        if self.gap:
            if self.commits % CHECKPOINT_EVERY == 0:
                # keep the WAL short ourselves: otherwise a resident's commit that crosses the
                # auto-checkpoint threshold copies megabytes of the import's pages (and waits)
                self.conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
                self.conn.commit()
            if time.monotonic() - self.paused >= self.every:
                time.sleep(self.pause)
                self.paused = time.monotonic()
            else:
                time.sleep(self.gap)
        self.started = time.monotonic()


def start_run(conn: Connection, files: str, rows: int, periods: list[str], operator: int | None):
    """The run's row, `loading`, committed at once (so a killed load can be found)."""
    now = utcnow()
    result = conn.execute(
        insert(runs).values(
            files=files, rows=rows, periods=periods, created_at=now, operator_id=operator,
            status=LOADING, owner=process_owner(), heartbeat_at=now,
        )
    )  # fmt: skip
    conn.commit()
    return result.inserted_primary_key[0]


def give_up(conn: Connection, run_id: int) -> None:
    """A load that failed in this process: its run is `failed` (its rows go at the next clean-up)."""
    with contextlib.suppress(Exception):  # the connection itself may be what failed
        conn.rollback()
        conn.execute(
            update(runs)
            .where(runs.c.id == run_id, runs.c.status == LOADING)
            .values(status=FAILED, heartbeat_at=None)
        )
        conn.commit()


def current_versions(
    conn: Connection, keys: Iterable[tuple[str, int]]
) -> dict[tuple[str, int], int]:
    """The published version of each (kind, period); 0 when the period has none."""
    keys = set(keys)
    found = {(kind, period): 0 for kind, period in keys}
    for kind, period, import_id in conn.execute(
        select(published.c.kind, published.c.period, published.c.import_id)
    ):
        if (kind, period) in found:
            found[(kind, period)] = import_id
    return found


def carry_over(
    conn: Connection,
    target: TableClause,
    columns: tuple[str, ...],
    period: int,
    base: int,
    run_id: int,
    replaced: set[int],
    pacer: Pacer,
) -> tuple[int, int]:
    """Copy the base version's rows of `period` of the accounts the files do not replace into
    the new version. (rows carried, rows of the base version)."""
    accounts = conn.execute(
        select(target.c.account_id)
        .where(target.c.import_id == base, target.c.period == period)
        .distinct()
    ).scalars()
    keep = sorted(set(accounts) - replaced)
    total = conn.scalar(
        select(func.count()).where(target.c.import_id == base, target.c.period == period)
    )
    carried = 0
    names = [c for c in columns if c != "import_id"]
    for chunk in t.batches(keep, 500):
        source = select(*[target.c[c] for c in names], literal(run_id)).where(
            target.c.import_id == base, target.c.period == period, target.c.account_id.in_(chunk)
        )
        result = conn.execute(insert(target).from_select([*names, "import_id"], source))
        carried += max(result.rowcount, 0)
        pacer.tick()
    return carried, int(total or 0)


def publish(conn: Connection, run_id: int, bases: dict[tuple[str, int], int]) -> None:
    """Point every (kind, period) at the run's version and mark it published; the caller adds
    what else belongs to the same transaction, then commits. Raises `PublishConflict`."""
    now = current_versions(conn, bases)
    moved = [key for key, base in bases.items() if now[key] != base]
    if moved:
        raise PublishConflict(moved)
    for (kind, period), base in sorted(bases.items()):
        conn.execute(
            delete(published).where(published.c.kind == kind, published.c.period == period)
        )
        conn.execute(insert(published).values(kind=kind, period=period, import_id=run_id))
        conn.execute(
            insert(versions).values(
                import_id=run_id, kind=kind, period=period, previous_import_id=base, purged=False
            )
        )
    conn.execute(
        update(runs)
        .where(runs.c.id == run_id)
        .values(status=PUBLISHED, published_at=utcnow(), heartbeat_at=None)
    )


# --- clean-up --------------------------------------------------------------------------------


@dataclass
class Garbage:
    dead_runs: list[int]  # loading runs of a process that is gone: every row of theirs
    gone_runs: list[int]  # undone or failed runs: rows that may be left
    old_versions: list[tuple[int, str, int, int]]  # (run, kind, period, replaced version)


def _alive(owner: str, heartbeat: dt.datetime | None, now: dt.datetime) -> bool:
    if owner == process_owner():
        return True
    host, _, pid = owner.rpartition(":")
    if host == socket.gethostname() and pid.isdigit():
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return heartbeat is not None and now - heartbeat < STALE_AFTER
    return heartbeat is not None and now - heartbeat < STALE_AFTER


def find_garbage(conn: Connection, window: dt.timedelta) -> Garbage:
    now = utcnow()
    dead, gone = [], []
    for run_id, status, owner, heartbeat in conn.execute(
        select(runs.c.id, runs.c.status, runs.c.owner, runs.c.heartbeat_at).where(
            runs.c.status.in_((LOADING, UNDONE, FAILED))
        )
    ):
        if status != LOADING:
            gone.append(run_id)
        elif not _alive(owner, heartbeat, now):
            dead.append(run_id)
    old = conn.execute(
        select(
            versions.c.import_id, versions.c.kind, versions.c.period, versions.c.previous_import_id
        )
        .join_from(versions, runs, runs.c.id == versions.c.import_id)
        .where(
            versions.c.purged.is_(False),
            runs.c.status == PUBLISHED,
            runs.c.published_at < now - window,
        )
    ).all()
    return Garbage(dead, gone, [tuple(row) for row in old])  # type: ignore[misc]


def _delete_batches(conn: Connection, target: TableClause, *where) -> int:  # type: ignore[no-untyped-def]
    deleted = 0
    while True:
        ids = select(target.c.id).where(*where).limit(DELETE_BATCH).scalar_subquery()
        result = conn.execute(delete(target).where(target.c.id.in_(ids)))
        conn.commit()
        deleted += max(result.rowcount, 0)
        if result.rowcount < DELETE_BATCH:
            return deleted


# the reference tables whose new rows belong to the import that created them, dependents first
CREATED = ("meters", "accounts", "apartments", "services", "houses")


def _unreferenced(target: TableClause) -> list:  # type: ignore[type-arg]
    """`target`'s rows that no row of any table refers to (by the schema's foreign keys)."""
    conditions = []
    for table in Base.metadata.sorted_tables:
        for key in table.foreign_keys:
            if key.column.table.name == target.name and key.column.name == "id":
                referring = t.TABLES.get(table.name)
                col = referring.c[key.parent.name] if referring is not None else key.parent
                conditions.append(~exists().where(col == target.c.id))
    return conditions


def _delete_created(conn: Connection, run_id: int) -> int:
    """The reference rows the run created (`import_id`), unless something else refers to them
    now (a later import's charges, a resident's link): they stay then. Commits in batches."""
    deleted = 0
    for name in CREATED:
        target = t.TABLES[name]
        if conn.scalar(select(target.c.id).where(target.c.import_id == run_id).limit(1)) is None:
            continue
        deleted += _delete_batches(
            conn, target, target.c.import_id == run_id, *_unreferenced(target)
        )
    conn.commit()
    return deleted


def clean(conn: Connection, window: dt.timedelta) -> int:
    """Delete what no reader can see nor undo bring back; rows deleted. Commits in batches."""
    garbage = find_garbage(conn, window)
    conn.commit()
    deleted = 0
    for run_id in garbage.dead_runs:
        conn.execute(
            update(runs).where(runs.c.id == run_id).values(status=FAILED, heartbeat_at=None)
        )
        conn.commit()
    for run_id in garbage.dead_runs + garbage.gone_runs:
        for target in (t.charges, t.payments):
            deleted += _delete_batches(conn, target, target.c.import_id == run_id)
        deleted += _delete_batches(conn, t.readings, t.readings.c.import_id == run_id)
        deleted += _delete_created(conn, run_id)
    for run_id, kind, period, previous in garbage.old_versions:
        target = t.charges if kind == CHARGES else t.payments
        deleted += _delete_batches(
            conn, target, target.c.import_id == previous, target.c.period == period
        )
        conn.execute(
            update(versions)
            .where(
                versions.c.import_id == run_id, versions.c.kind == kind, versions.c.period == period
            )
            .values(purged=True)
        )
        conn.commit()
    return deleted
