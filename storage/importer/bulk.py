"""Bulk writes shared by the import and the demo generator.

The tables here are `sqlalchemy.table()` constructs with plain column types: money, quantities
and periods arrive already as the stored integers (`storage.types`), so no TypeDecorator runs per
row. `insert_rows` compiles a Core `insert()` once for the connection's dialect and hands the
batches of tuples to the driver's `executemany`; for a driver with named parameters it falls back
to SQLAlchemy's own executemany of dictionaries. SQLAlchemy's per-row parameter handling costs
about 3 µs a row, three times sqlite3's insert itself, hence the positional path.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import islice
from operator import itemgetter
from typing import Any

from sqlalchemy import Boolean, Date, DateTime, Integer, String, column, insert, table
from sqlalchemy.engine import Connection
from sqlalchemy.sql.expression import TableClause

BATCH = 10_000

organizations = table(
    "organizations",
    column("id", Integer),
    column("code", String), column("name", String), column("inn", String),
    column("kpp", String), column("address", String), column("phone", String),
    column("branch", String), column("bank_name", String), column("bic", String),
    column("corr_account", String), column("settlement_account", String),
    column("timezone", String), column("readings_day_from", Integer),
    column("readings_day_to", Integer),
)  # fmt: skip
houses = table(
    "houses",
    column("id", Integer), column("organization_id", Integer), column("code", String),
    column("address", String), column("street", String), column("search_text", String),
)  # fmt: skip
apartments = table(
    "apartments",
    column("id", Integer), column("house_id", Integer), column("number", String),
    column("sort_key", Integer), column("area", Integer), column("ownership_type", String),
)  # fmt: skip
accounts = table(
    "accounts",
    column("id", Integer), column("organization_id", Integer), column("apartment_id", Integer),
    column("number", String), column("holder_name", String), column("phone", String),
    column("closed", Boolean),
)  # fmt: skip
services = table(
    "services",
    column("id", Integer), column("organization_id", Integer), column("code", String),
    column("name", String), column("unit", String), column("group_name", String),
    column("resource", String), column("is_common", Boolean), column("sort_order", Integer),
)  # fmt: skip
charges = table(
    "charges",
    column("id", Integer), column("account_id", Integer), column("period", Integer),
    column("service_id", Integer), column("tariff", Integer), column("volume", Integer),
    column("opening", Integer), column("charged", Integer), column("recalculation", Integer),
    column("paid", Integer), column("closing", Integer),
)  # fmt: skip
payments = table(
    "payments",
    column("id", Integer), column("account_id", Integer), column("period", Integer),
    column("paid_on", Date), column("amount", Integer), column("source", String),
)  # fmt: skip
meters = table(
    "meters",
    column("id", Integer), column("account_id", Integer), column("code", String),
    column("resource", String), column("serial", String), column("zone", String),
    column("digits", Integer), column("decimals", Integer), column("verification_due", Date),
    column("archived", Boolean),
)  # fmt: skip
readings = table(
    "readings",
    column("id", Integer), column("meter_id", Integer), column("period", Integer),
    column("value", Integer), column("taken_on", Date), column("source", String),
    column("version", Integer), column("created_at", DateTime), column("needs_review", Boolean),
    column("review_reason", String),
)  # fmt: skip

CHARGE_COLUMNS = (
    "account_id", "period", "service_id", "tariff", "volume",
    "opening", "charged", "recalculation", "paid", "closing",
)  # fmt: skip
PAYMENT_COLUMNS = ("account_id", "period", "paid_on", "amount", "source")
READING_COLUMNS = (
    "meter_id", "period", "value", "taken_on", "source", "version", "created_at",
    "needs_review", "review_reason",
)  # fmt: skip


def batches(rows: Iterable[Any], size: int = BATCH) -> Iterable[list[Any]]:
    iterator = iter(rows)
    while batch := list(islice(iterator, size)):
        yield batch


class Inserter:
    """`Inserter(conn, table, columns)(rows)`: executemany of tuples in the columns' order."""

    def __init__(self, conn: Connection, target: TableClause, names: Sequence[str]) -> None:
        self.conn = conn
        self.names = tuple(names)
        dialect = conn.dialect
        cols = [target.c[name] for name in self.names]
        self.statement = insert(target)
        compiled = self.statement.compile(dialect=dialect, column_keys=list(self.names))
        order = [self.names.index(name) for name in compiled.positiontup or []]
        self.positional = bool(dialect.positional) and sorted(order) == list(range(len(cols)))
        # the statement lists columns in the table's order; rows come in `names` order
        identity = list(range(len(cols)))
        self.reorder = itemgetter(*order) if order != identity and len(order) > 1 else None
        self.sql = str(compiled)
        self.processors = [
            (i, p)
            for i, c in enumerate(cols)
            if (p := c.type.dialect_impl(dialect).bind_processor(dialect)) is not None
        ]

    def __call__(self, rows: Sequence[tuple]) -> None:
        if not rows:
            return
        if self.positional:
            if self.processors:
                rows = [self._process(row) for row in rows]
            if self.reorder is not None:
                rows = list(map(self.reorder, rows))
            self.conn.exec_driver_sql(self.sql, rows)  # type: ignore[arg-type]
        else:
            names = self.names
            self.conn.execute(self.statement, [dict(zip(names, row, strict=True)) for row in rows])

    def _process(self, row: tuple) -> tuple:
        values = list(row)
        for index, processor in self.processors:
            values[index] = processor(values[index])
        return tuple(values)


def insert_rows(
    conn: Connection, target: TableClause, names: Sequence[str], rows: Iterable[tuple]
) -> int:
    """Insert tuples in batches; the count inserted."""
    inserter = Inserter(conn, target, names)
    count = 0
    for batch in batches(rows):
        inserter(batch)
        count += len(batch)
    return count
