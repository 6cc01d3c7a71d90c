"""Pairs of records kept separate: `crm dupes ignore A B` remembers that two contacts (or two
companies) are not duplicates, so `crm dupes` stops listing them.

A new table only, with no foreign keys (the kind says which table the ids are in): nothing
existing is rebuilt, on either dialect.

Revision ID: 0008_dupes
Revises: 0007_import
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from crm_cli.store.types import UTCDateTime

revision = "0008_dupes"
down_revision = "0007_import"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dupe_ignore",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        sa.Column("kind", sa.String, nullable=False),
        sa.Column("first_id", sa.Integer, nullable=False),
        sa.Column("second_id", sa.Integer, nullable=False),
        sa.Column(
            "user_id",
            sa.Integer,
            sa.ForeignKey("user.id", ondelete="SET NULL", name="fk_dupe_ignore_user_id_user"),
        ),
        sa.PrimaryKeyConstraint("id", name="pk_dupe_ignore"),
        sa.UniqueConstraint(
            "kind", "first_id", "second_id", name="uq_dupe_ignore_kind_first_id_second_id"
        ),
    )


def downgrade() -> None:
    op.drop_table("dupe_ignore")
