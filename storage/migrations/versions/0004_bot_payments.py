"""payments made through the bot; the charge id of imported payments; the organizations' due day

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 14:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "bot_payments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("resident_id", sa.Integer(), nullable=True),
        sa.Column("period", storage.types.Period(), nullable=False),
        sa.Column("amount", storage.types.Money(), nullable=False),
        sa.Column("telegram_charge_id", sa.String(length=200), nullable=False),
        sa.Column("provider_charge_id", sa.String(length=200), nullable=False),
        sa.Column("paid_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_bot_payments_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["resident_id"],
            ["residents.id"],
            name=op.f("fk_bot_payments_resident_id_residents"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bot_payments")),
        sa.UniqueConstraint("telegram_charge_id", name=op.f("uq_bot_payments_telegram_charge_id")),
    )
    op.create_index(
        "ix_bot_payments_account_paid", "bot_payments", ["account_id", "paid_at"], unique=False
    )
    with op.batch_alter_table("payments") as batch:
        batch.add_column(sa.Column("charge_id", sa.String(length=200), nullable=True))
    with op.batch_alter_table("organizations") as batch:
        batch.add_column(sa.Column("due_day", sa.Integer(), server_default="10", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("organizations") as batch:
        batch.drop_column("due_day")
    with op.batch_alter_table("payments") as batch:
        batch.drop_column("charge_id")
    op.drop_index("ix_bot_payments_account_paid", table_name="bot_payments")
    op.drop_table("bot_payments")
