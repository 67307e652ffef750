"""notifications: the residents' three switches; the delivery log's subject

Revision ID: 0005_notify
Revises: 0004
Create Date: 2026-12-01 16:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_notify"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SWITCHES = ("notify_payments", "notify_pay_by", "notify_verification")


def upgrade() -> None:
    with op.batch_alter_table("residents") as batch:
        for name in SWITCHES:
            batch.add_column(sa.Column(name, sa.Boolean(), server_default=sa.true(), nullable=False))
    with op.batch_alter_table("reminder_deliveries") as batch:
        batch.add_column(
            sa.Column("subject", sa.String(length=64), server_default="", nullable=False)
        )
        batch.drop_constraint("uq_reminder_deliveries_resident_id_period_kind", type_="unique")
        batch.create_unique_constraint(
            "uq_reminder_deliveries_resident_id_period_kind_subject",
            ["resident_id", "period", "kind", "subject"],
        )


def downgrade() -> None:
    # the notifications' rows have no place in the old log (one row per resident, period, kind)
    op.execute("DELETE FROM reminder_deliveries WHERE subject <> ''")
    with op.batch_alter_table("reminder_deliveries") as batch:
        batch.drop_constraint(
            "uq_reminder_deliveries_resident_id_period_kind_subject", type_="unique"
        )
        batch.create_unique_constraint(
            "uq_reminder_deliveries_resident_id_period_kind", ["resident_id", "period", "kind"]
        )
        batch.drop_column("subject")
    with op.batch_alter_table("residents") as batch:
        for name in reversed(SWITCHES):
            batch.drop_column(name)
