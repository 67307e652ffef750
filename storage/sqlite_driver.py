"""SQLAlchemy's aiosqlite dialect with cheaper round trips (`storage.db.create_engine` uses it for
every `sqlite+aiosqlite://` URL).

aiosqlite runs every sqlite3 call in its connection's worker thread and hands the result back to
the event loop. A hop costs about 80 µs of CPU, much more than an indexed SELECT (a few µs), and
with several updates in flight the threads contend for the GIL. SQLAlchemy's adapter makes four
hops per statement (cursor, execute, fetchall, close) and one for every COMMIT and ROLLBACK, also
when no transaction is open (each pool check-in rolls back). This dialect:

- runs a statement in one hop (the same calls, made together in the worker thread);
- skips COMMIT and ROLLBACK when sqlite3 has no transaction open: they would do nothing (sqlite3
  itself checks `sqlite3_get_autocommit` and returns);
- runs statements marked `execution_options(indexed_lookup=True)` on the event loop's thread,
  with no hop at all. Only reads of a few rows through an index are marked (the sender's
  registration, the dialogue state, an account and its card). In WAL mode a reader does not
  wait for a writer (only, briefly, for the recovery of a crashed writer's log), so such a read
  takes microseconds; anything that scans or writes stays in the worker thread and never blocks
  the event loop.

One SQLAlchemy connection runs one statement at a time, so the worker thread is idle whenever
the event loop's thread touches the sqlite3 connection.
"""

from __future__ import annotations

import sqlite3
from collections import deque
from typing import Any

from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
    SQLiteDialect_aiosqlite,
)

DRIVER = "aiosqlite_hopless"
# The execution option that marks a statement as an indexed read of a few rows.
INDEXED_LOOKUP = "indexed_lookup"


def _execute(
    connection: sqlite3.Connection, operation: str, parameters: Any
) -> tuple[Any, list[Any], int, int]:
    """Run one statement and fetch all of its rows (in the worker thread, or inline)."""
    cursor = connection.cursor()
    try:
        if parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        if cursor.description:
            return cursor.description, cursor.fetchall(), -1, -1
        return None, [], cursor.lastrowid, cursor.rowcount
    finally:
        cursor.close()


async def _inline(
    connection: sqlite3.Connection, operation: str, parameters: Any
) -> tuple[Any, list[Any], int, int]:
    """`_execute` on the event loop's thread. A coroutine that never suspends: awaiting it
    costs a greenlet switch, and SQLAlchemy's AsyncConnection insists on one."""
    return _execute(connection, operation, parameters)


def _executemany(
    connection: sqlite3.Connection, operation: str, seq_of_parameters: Any
) -> tuple[int, int]:
    cursor = connection.cursor()
    try:
        cursor.executemany(operation, seq_of_parameters)
        return cursor.lastrowid, cursor.rowcount
    finally:
        cursor.close()


class _Cursor(AsyncAdapt_aiosqlite_cursor):
    __slots__ = ()

    def _set(self, result: tuple[Any, list[Any], int, int]) -> None:
        self.description, rows, self.lastrowid, self.rowcount = result
        self._rows = deque(rows)

    def execute(self, operation: Any, parameters: Any = None) -> Any:
        connection = self._connection
        try:
            result = self.await_(
                connection._execute(_execute, connection._conn, operation, parameters)
            )
        except Exception as error:
            self._adapt_connection._handle_exception(error)
        self._set(result)

    def execute_inline(self, operation: Any, parameters: Any = None) -> Any:
        try:
            result = self.await_(_inline(self._connection._conn, operation, parameters))
        except Exception as error:
            self._adapt_connection._handle_exception(error)
        self._set(result)

    def executemany(self, operation: Any, seq_of_parameters: Any) -> Any:
        connection = self._connection
        try:
            lastrowid, rowcount = self.await_(
                connection._execute(_executemany, connection._conn, operation, seq_of_parameters)
            )
        except Exception as error:
            self._adapt_connection._handle_exception(error)
        self.description = None
        self.lastrowid = lastrowid
        self.rowcount = rowcount


class _Connection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ()

    def cursor(self, server_side: bool = False) -> AsyncAdapt_aiosqlite_cursor:
        if server_side:  # stream(): SQLAlchemy's own, a hop per fetch
            return super().cursor(server_side=True)
        return _Cursor(self)

    def _idle(self) -> bool:
        """No transaction open: COMMIT and ROLLBACK would do nothing."""
        try:
            return not self._connection._conn.in_transaction
        except ValueError:  # closed: let the real call raise what SQLAlchemy expects
            return False

    def rollback(self) -> None:
        if not self._idle():
            super().rollback()

    def commit(self) -> None:
        if not self._idle():
            super().commit()


class _DBAPI(AsyncAdapt_aiosqlite_dbapi):
    def connect(self, *arg: Any, **kw: Any) -> AsyncAdapt_aiosqlite_connection:
        adapted = super().connect(*arg, **kw)  # SQLAlchemy's connect, then our adapter around it
        if type(adapted) is not AsyncAdapt_aiosqlite_connection:  # the sync fallback: as it is
            return adapted
        return _Connection(self, adapted._connection)


class HoplessDialect(SQLiteDialect_aiosqlite):
    supports_statement_cache = True

    @classmethod
    def import_dbapi(cls) -> _DBAPI:
        import aiosqlite

        return _DBAPI(aiosqlite, sqlite3)

    def do_execute(self, cursor: Any, statement: Any, parameters: Any, context: Any = None) -> None:
        if (
            context is not None
            and isinstance(cursor, _Cursor)
            and context.execution_options.get(INDEXED_LOOKUP)
        ):
            cursor.execute_inline(statement, parameters)
        else:
            cursor.execute(statement, parameters)


registry.register(f"sqlite.{DRIVER}", __name__, "HoplessDialect")
