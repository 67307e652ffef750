"""reference rows remember the import that created them (cleaned up with its version)

Revision ID: 0005_importbench
Revises: 0005_notify
Create Date: 2026-12-01 16:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_importbench"
down_revision: str | None = "0005_notify"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("houses", "apartments", "accounts", "services", "meters")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("import_id", sa.Integer(), nullable=True))
            batch.create_index(batch.f(f"ix_{table}_import_id"), ["import_id"], unique=False)


def downgrade() -> None:
    for table in reversed(TABLES):
        with op.batch_alter_table(table) as batch:
            batch.drop_index(batch.f(f"ix_{table}_import_id"))
            batch.drop_column("import_id")
