"""The import's bulk tables are the models' tables: one schema, in `storage.models`."""

from __future__ import annotations

from sqlalchemy.types import TypeDecorator

from storage.importer import bulk as t
from storage.models import Base


def test_bulk_tables_have_the_models_columns_with_their_stored_types() -> None:
    for name, plain in t.TABLES.items():
        model = Base.metadata.tables[name]
        assert [c.name for c in plain.columns] == [c.name for c in model.columns], name
        for col in model.columns:
            stored = col.type.impl_instance if isinstance(col.type, TypeDecorator) else col.type
            assert type(plain.c[col.name].type) is type(stored), (name, col.name)


def test_bulk_column_lists_name_real_columns() -> None:
    for table, names in (
        (t.charges, t.CHARGE_COLUMNS),
        (t.payments, t.PAYMENT_COLUMNS),
        (t.readings, t.READING_COLUMNS),
    ):
        model = Base.metadata.tables[table.name]
        assert set(names) <= set(model.columns.keys())
        required = {
            c.name
            for c in model.columns
            if not c.nullable and not c.primary_key and c.default is None
        }
        assert required <= set(names), (table.name, required - set(names))
