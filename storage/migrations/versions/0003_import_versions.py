"""import versions: charges and payments by version, published periods, undo

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 14:20:00

Rows that exist are version 0: with no `published_periods` row a period shows version 0, so the
data readers see does not change. Existing imports count as published when they were made.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("import_runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("operator_id", sa.BigInteger(), nullable=True))
        batch_op.add_column(
            sa.Column("status", sa.String(length=16), server_default="published", nullable=False)
        )
        batch_op.add_column(
            sa.Column("owner", sa.String(length=100), server_default="", nullable=False)
        )
        batch_op.add_column(sa.Column("heartbeat_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("published_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("undone_at", sa.DateTime(), nullable=True))
    op.execute("UPDATE import_runs SET published_at = created_at")

    op.create_table(
        "published_periods",
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("period", storage.types.Period(), nullable=False),
        sa.Column("import_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("kind", "period", name=op.f("pk_published_periods")),
    )
    op.create_table(
        "import_versions",
        sa.Column("import_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("period", storage.types.Period(), nullable=False),
        sa.Column("previous_import_id", sa.Integer(), nullable=False),
        sa.Column("purged", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["import_id"],
            ["import_runs.id"],
            name=op.f("fk_import_versions_import_id_import_runs"),
        ),
        sa.PrimaryKeyConstraint("import_id", "kind", "period", name=op.f("pk_import_versions")),
    )

    with op.batch_alter_table("charges", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("import_id", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.drop_constraint("uq_charges_account_id_period_service_id", type_="unique")
        batch_op.create_unique_constraint(
            batch_op.f("uq_charges_account_id_period_service_id_import_id"),
            ["account_id", "period", "service_id", "import_id"],
        )
        batch_op.create_index("ix_charges_import_period", ["import_id", "period"], unique=False)
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("import_id", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.create_index("ix_payments_import_period", ["import_id", "period"], unique=False)
    with op.batch_alter_table("readings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("import_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_readings_import_id"), ["import_id"], unique=False)


def downgrade() -> None:
    # Back to one version per period: what readers see now stays, the other versions go.
    for kind in ("charges", "payments"):
        op.execute(
            f"DELETE FROM {kind} WHERE import_id <> COALESCE((SELECT p.import_id FROM "
            f"published_periods p WHERE p.kind = '{kind}' AND p.period = {kind}.period), 0)"
        )
    op.execute(
        "DELETE FROM readings WHERE import_id IN "
        "(SELECT id FROM import_runs WHERE status <> 'published')"
    )
    with op.batch_alter_table("readings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_readings_import_id"))
        batch_op.drop_column("import_id")
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_index("ix_payments_import_period")
        batch_op.drop_column("import_id")
    with op.batch_alter_table("charges", schema=None) as batch_op:
        batch_op.drop_index("ix_charges_import_period")
        batch_op.drop_constraint(
            batch_op.f("uq_charges_account_id_period_service_id_import_id"), type_="unique"
        )
        batch_op.create_unique_constraint(
            "uq_charges_account_id_period_service_id", ["account_id", "period", "service_id"]
        )
        batch_op.drop_column("import_id")
    op.drop_table("import_versions")
    op.drop_table("published_periods")
    op.execute("DELETE FROM import_runs WHERE status <> 'published'")
    with op.batch_alter_table("import_runs", schema=None) as batch_op:
        batch_op.drop_column("undone_at")
        batch_op.drop_column("published_at")
        batch_op.drop_column("heartbeat_at")
        batch_op.drop_column("owner")
        batch_op.drop_column("status")
        batch_op.drop_column("operator_id")
