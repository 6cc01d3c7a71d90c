"""External ids on contacts and companies, so a re-import finds the records it made.

Imports match rows to existing records by the id the other system gave them before anything
else (services/importing.py): deals had `external_id` from the start; contacts and companies
get it here, indexed, since every import of a file looks all of its ids up at once.

Adding a nullable column needs no table rebuild on SQLite, so no batch mode here: children
are untouched.

Revision ID: 0007_import
Revises: 0006_reminders
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_import"
down_revision = "0006_reminders"
branch_labels = None
depends_on = None

TABLES = ("contact", "company")


def upgrade() -> None:
    for table in TABLES:
        op.add_column(table, sa.Column("external_id", sa.String(), nullable=True))
        op.create_index(f"ix_{table}_external_id", table, ["external_id"])


def downgrade() -> None:
    for table in TABLES:
        op.drop_index(f"ix_{table}_external_id", table_name=table)
        with op.batch_alter_table(table) as batch:
            batch.drop_column("external_id")
