"""a reading's photo (evidence for operators); residents' requests to be reminded when the
readings window opens

Revision ID: 0005_uxnav
Revises: 0005_importbench
Create Date: 2026-12-01 16:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = "0005_uxnav"
down_revision: str | None = "0005_importbench"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("readings") as batch:
        batch.add_column(sa.Column("photo_file_id", sa.String(length=255), nullable=True))
    op.create_table(
        "reminder_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("resident_id", sa.Integer(), nullable=False),
        sa.Column("period", storage.types.Period(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["resident_id"],
            ["residents.id"],
            name=op.f("fk_reminder_requests_resident_id_residents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminder_requests")),
        sa.UniqueConstraint(
            "resident_id", "period", name=op.f("uq_reminder_requests_resident_id_period")
        ),
    )


def downgrade() -> None:
    op.drop_table("reminder_requests")
    with op.batch_alter_table("readings") as batch:
        batch.drop_column("photo_file_id")
