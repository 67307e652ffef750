"""organizations' contacts and answer time; appeals' answer day and pin; household invites;
residents' registered name

Revision ID: 0005_uxcontacts
Revises: 0005_uxnav
Create Date: 2026-12-01 16:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_uxcontacts"
down_revision: str | None = "0005_moneylines"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("organizations") as batch:
        batch.add_column(
            sa.Column("email", sa.String(length=254), server_default="", nullable=False)
        )
        batch.add_column(
            sa.Column("office_hours", sa.String(length=300), server_default="", nullable=False)
        )
        batch.add_column(
            sa.Column("emergency_phone", sa.String(length=64), server_default="", nullable=False)
        )
        batch.add_column(sa.Column("answer_days", sa.Integer(), server_default="2", nullable=False))
    with op.batch_alter_table("appeals") as batch:
        batch.add_column(sa.Column("answer_due", sa.Date(), nullable=True))
        batch.add_column(
            sa.Column("pinned", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    with op.batch_alter_table("residents") as batch:
        batch.add_column(
            sa.Column("name", sa.String(length=200), server_default="", nullable=False)
        )
    op.create_table(
        "household_invites",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("inviter_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=True),
        sa.Column("invitee_id", sa.Integer(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_household_invites_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["inviter_id"],
            ["residents.id"],
            name=op.f("fk_household_invites_inviter_id_residents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["invitee_id"],
            ["residents.id"],
            name=op.f("fk_household_invites_invitee_id_residents"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_household_invites")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_household_invites_token_hash")),
    )
    for column in ("account_id", "inviter_id", "invitee_id"):
        op.create_index(
            op.f(f"ix_household_invites_{column}"), "household_invites", [column], unique=False
        )


def downgrade() -> None:
    for column in ("invitee_id", "inviter_id", "account_id"):
        op.drop_index(op.f(f"ix_household_invites_{column}"), table_name="household_invites")
    op.drop_table("household_invites")
    with op.batch_alter_table("residents") as batch:
        batch.drop_column("name")
    with op.batch_alter_table("appeals") as batch:
        batch.drop_column("pinned")
        batch.drop_column("answer_due")
    with op.batch_alter_table("organizations") as batch:
        batch.drop_column("answer_days")
        batch.drop_column("emergency_phone")
        batch.drop_column("office_hours")
        batch.drop_column("email")
