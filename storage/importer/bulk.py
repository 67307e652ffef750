"""Bulk writes shared by the import and the demo generator.

The tables here are `sqlalchemy.table()` constructs derived from `storage.models`' metadata with
the TypeDecorators replaced by their stored types: money, quantities and periods arrive already as
the stored integers (`storage.types`), so no TypeDecorator runs per row. `insert_rows` compiles a Core `insert()` once for the connection's dialect and hands the
batches of tuples to the driver's `executemany`; for a driver with named parameters it falls back
to SQLAlchemy's own executemany of dictionaries. SQLAlchemy's per-row parameter handling costs
about 3 µs a row, three times sqlite3's insert itself, hence the positional path.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import islice
from operator import itemgetter
from typing import Any

from sqlalchemy import Table, column, insert, literal_column, table
from sqlalchemy.engine import Connection
from sqlalchemy.sql.expression import TableClause
from sqlalchemy.types import TypeDecorator

from storage.models import Base

BATCH = 10_000


def _plain(model_table: Table) -> TableClause:
    """A model's table as a lightweight `table()` of the stored types: each TypeDecorator
    (`Money`, `Quantity`, `Period`) replaced by its implementation type, so the integers that
    pass one produced go to the driver as they are."""
    columns = []
    for col in model_table.columns:
        kind = col.type
        if isinstance(kind, TypeDecorator):
            kind = kind.impl_instance
        columns.append(column(col.name, kind))
    return table(model_table.name, *columns)


# The import writes these tables; the schema is `storage.models`, once.
TABLES = {
    name: _plain(Base.metadata.tables[name])
    for name in (
        "organizations", "houses", "apartments", "accounts", "services",
        "charges", "payments", "meters", "readings", "published_periods", "import_versions",
    )
}  # fmt: skip
organizations = TABLES["organizations"]
houses = TABLES["houses"]
apartments = TABLES["apartments"]
accounts = TABLES["accounts"]
services = TABLES["services"]
charges = TABLES["charges"]
payments = TABLES["payments"]
meters = TABLES["meters"]
readings = TABLES["readings"]

CHARGE_COLUMNS = (
    "account_id", "period", "service_id", "tariff", "volume",
    "opening", "charged", "recalculation", "paid", "closing",
)  # fmt: skip
# a recalculation's reason and months: set on the few rows that have them, carried over with
# the rest of a row
CHARGE_NOTE_COLUMNS = ("recalc_reason", "recalc_from", "recalc_to")
PAYMENT_COLUMNS = ("account_id", "period", "paid_on", "amount", "source", "charge_id")
READING_COLUMNS = (
    "meter_id", "period", "value", "taken_on", "source", "version", "created_at",
    "needs_review", "review_reason",
)  # fmt: skip


def batches(rows: Iterable[Any], size: int = BATCH) -> Iterable[list[Any]]:
    iterator = iter(rows)
    while batch := list(islice(iterator, size)):
        yield batch


class Inserter:
    """`Inserter(conn, table, columns)(rows)`: executemany of tuples in the columns' order.

    `fixed`: integer columns with the same value in every row (an import's version), written
    into the statement itself, so that the rows need not be copied to carry them."""

    def __init__(
        self,
        conn: Connection,
        target: TableClause,
        names: Sequence[str],
        fixed: dict[str, int] | None = None,
    ) -> None:
        self.conn = conn
        self.names = tuple(names)
        dialect = conn.dialect
        cols = [target.c[name] for name in self.names]
        self.statement = insert(target)
        if fixed:
            # an int rendered as SQL text: nothing of the files' text gets there
            self.statement = self.statement.values(
                {name: literal_column(str(int(value))) for name, value in fixed.items()}
            )
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

    def __call__(self, rows: Sequence[Sequence[Any]]) -> None:
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

    def _process(self, row: Sequence[Any]) -> tuple:
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
