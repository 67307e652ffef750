"""appeals without an account: «Не нашли свой счёт?» writes to an organization

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 14:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("appeals", schema=None) as batch_op:
        batch_op.alter_column("account_id", existing_type=sa.Integer(), nullable=True)
        batch_op.add_column(sa.Column("organization_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("address", sa.String(length=500), nullable=False, server_default="")
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_appeals_organization_id_organizations"),
            "organizations",
            ["organization_id"],
            ["id"],
        )
        batch_op.create_index(
            batch_op.f("ix_appeals_organization_id"), ["organization_id"], unique=False
        )
    # the appeals written so far are about an account: their organization is the account's
    op.execute(
        "UPDATE appeals SET organization_id = (SELECT accounts.organization_id FROM accounts "
        "WHERE accounts.id = appeals.account_id)"
    )


def downgrade() -> None:
    op.execute("DELETE FROM appeals WHERE account_id IS NULL")
    with op.batch_alter_table("appeals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_appeals_organization_id"))
        batch_op.drop_constraint(
            batch_op.f("fk_appeals_organization_id_organizations"), type_="foreignkey"
        )
        batch_op.drop_column("address")
        batch_op.drop_column("organization_id")
        batch_op.alter_column("account_id", existing_type=sa.Integer(), nullable=False)
