"""money lines: a service's kind (пени, льгота, субсидия), a recalculation's reason and period

Revision ID: 0005_moneylines
Revises: 0005_uxnav
Create Date: 2026-12-01 16:20:00

Existing services are ordinary ("" kind) and existing charges have no recalculation reason, so
nothing readers see changes.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = "0005_moneylines"
down_revision: str | None = "0005_uxnav"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("services") as batch:
        batch.add_column(sa.Column("kind", sa.String(length=16), server_default="", nullable=False))
    with op.batch_alter_table("charges") as batch:
        batch.add_column(
            sa.Column("recalc_reason", sa.String(length=500), server_default="", nullable=False)
        )
        batch.add_column(sa.Column("recalc_from", storage.types.Period(), nullable=True))
        batch.add_column(sa.Column("recalc_to", storage.types.Period(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("charges") as batch:
        batch.drop_column("recalc_to")
        batch.drop_column("recalc_from")
        batch.drop_column("recalc_reason")
    with op.batch_alter_table("services") as batch:
        batch.drop_column("kind")
