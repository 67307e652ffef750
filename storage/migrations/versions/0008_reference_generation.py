"""people generation: also bumped when an account, its apartment, house or organization changes

A bot process on SQLite keeps each resident's linked accounts with their apartment, house and
organization (`services.people_cache`), and hands them to handlers as if just loaded: the card,
the receipt and the payment QR (the organization's bank details) read them. An import that
updated such rows and then failed, or a fix made by hand, changes them without moving the
billing generation; these triggers bump the people generation then, so that the process reads
them again within a second. Only a real change counts (`WHEN` a column differs): an import's
upsert of unchanged rows writes nothing more. As in 0007, only SQLite gets them.

Revision ID: 0008_reference_generation
Revises: 0007_people_generation
Create Date: 2026-12-01 23:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008_reference_generation"
down_revision: str | None = "0007_people_generation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = {
    "organizations": (
        "id", "code", "name", "inn", "kpp", "address", "phone", "branch", "bank_name", "bic",
        "corr_account", "settlement_account", "timezone", "readings_day_from", "readings_day_to",
        "due_day", "email", "office_hours", "emergency_phone", "answer_days",
    ),
    "houses": ("id", "organization_id", "code", "address", "street", "search_text", "import_id"),
    "apartments": ("id", "house_id", "number", "sort_key", "area", "ownership_type", "import_id"),
    "accounts": (
        "id", "organization_id", "apartment_id", "number", "holder_name", "phone", "closed",
        "import_id",
    ),
}  # fmt: skip
BUMP = "BEGIN UPDATE generations SET value = value + 1 WHERE name = 'people'; END"


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for table, columns in COLUMNS.items():
        changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in columns)
        op.execute(f"CREATE TRIGGER people_{table}_update AFTER UPDATE ON {table} WHEN {changed} {BUMP}")
        op.execute(f"CREATE TRIGGER people_{table}_delete AFTER DELETE ON {table} {BUMP}")


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for table in COLUMNS:
        op.execute(f"DROP TRIGGER people_{table}_update")
        op.execute(f"DROP TRIGGER people_{table}_delete")
