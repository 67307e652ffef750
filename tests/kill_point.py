"""`python -m tests.kill_point POINT ARGS...`: `python -m bot ARGS`, stopped (SIGSTOP) at a known
point of an import, so that a SIGKILL test kills it exactly there, not somewhere near:

- `before-publish-commit`: every statement of the publishing transaction has run (the periods
  point at the new version, its readings are written), its COMMIT has not;
- `after-publish-commit`: the publishing transaction is committed, the process has not yet
  said so (the next statement or connection check-in after that COMMIT).

The points are found through SQLAlchemy's public engine events: the publishing transaction is
the one that sets the import's run to `published`. The process prints `KILL POINT <point>` to
stderr right before stopping itself; the test then kills it (a stopped process dies of SIGKILL).
"""

from __future__ import annotations

import os
import signal
import sys
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.pool import Pool

from bot.cli import main as cli_main

POINTS = ("before-publish-commit", "after-publish-commit")
MARK = "KILL POINT"


def _values(parameters: Any) -> list[Any]:
    if isinstance(parameters, dict):
        return list(parameters.values())
    if isinstance(parameters, list | tuple):
        return list(parameters)
    return []


def install(point: str) -> None:
    state = {"publishing": False, "committed": False}

    def stop() -> None:
        print(f"{MARK} {point}", file=sys.stderr, flush=True)
        os.kill(os.getpid(), signal.SIGSTOP)

    @event.listens_for(Engine, "before_cursor_execute")
    def statement(conn, cursor, sql, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        if state["committed"]:
            stop()
        if sql.lstrip().upper().startswith("UPDATE IMPORT_RUNS") and "published" in _values(
            parameters
        ):
            state["publishing"] = True

    @event.listens_for(Engine, "commit")
    def commit(conn) -> None:  # type: ignore[no-untyped-def]
        if not state["publishing"]:
            return
        if point == "before-publish-commit":
            stop()
        state["publishing"], state["committed"] = False, True

    @event.listens_for(Pool, "checkin")
    def checkin(dbapi_connection, record) -> None:  # type: ignore[no-untyped-def]
        if state["committed"]:
            stop()


if __name__ == "__main__":
    chosen = sys.argv[1]
    if chosen not in POINTS:
        raise SystemExit(f"POINT: one of {', '.join(POINTS)}")
    install(chosen)
    cli_main(sys.argv[2:])
