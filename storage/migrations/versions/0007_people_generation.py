"""people generation: a counter that every change of residents, links and bot payments bumps

A bot process on SQLite keeps residents, their linked accounts and "paid through the bot" flags
in memory (`services.people_cache`). Its own commits drop what they change at once; this counter,
bumped by triggers in the same transaction as any change (whichever process makes it: the CLI, a
script), tells it within a second about the rest. Only SQLite gets the triggers: PostgreSQL
deployments serve updates from several processes and read people from the database every time
(a shared counter row would also serialize their writers).

Revision ID: 0007_people_generation
Revises: 0006_version_index
Create Date: 2026-12-01 22:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_people_generation"
down_revision: str | None = "0006_version_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("residents", "account_links", "bot_payments")
OPERATIONS = ("INSERT", "UPDATE", "DELETE")


def upgrade() -> None:
    generations = op.create_table(
        "generations",
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("value", sa.BigInteger(), nullable=False, server_default="0"),
    )
    op.bulk_insert(generations, [{"name": "people", "value": 0}])
    if op.get_bind().dialect.name != "sqlite":
        return
    for table in TABLES:
        for operation in OPERATIONS:
            op.execute(
                f"CREATE TRIGGER people_{table}_{operation.lower()} AFTER {operation} ON {table} "
                "BEGIN UPDATE generations SET value = value + 1 WHERE name = 'people'; END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for table in TABLES:
            for operation in OPERATIONS:
                op.execute(f"DROP TRIGGER people_{table}_{operation.lower()}")
    op.drop_table("generations")
