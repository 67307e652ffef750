"""The one dialect-specific corner of the import: SQLite's per-connection bulk-load setting.

The import resolves and checks every reference itself before it writes (pass one), so SQLite's
per-row foreign-key look-ups during the load only repeat that work (about a quarter of the cost
of inserting a charge row). SQLite can switch them off only outside a transaction, per
connection; they are switched back on before the connection returns to the pool. A killed
process takes its connection, and the setting, with it. PostgreSQL keeps its checks.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection


async def prepare_bulk(conn: AsyncConnection) -> None:
    if conn.dialect.name == "sqlite":
        await conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
        await conn.commit()


async def finish_bulk(conn: AsyncConnection) -> None:
    if conn.dialect.name == "sqlite":
        if conn.in_transaction():
            await conn.rollback()
        await conn.exec_driver_sql("PRAGMA foreign_keys=ON")
        await conn.commit()
