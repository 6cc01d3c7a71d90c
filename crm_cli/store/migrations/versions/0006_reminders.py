"""Reminders that arrive exactly once: a delivery record per occurrence, and a run log.

- `reminder_delivery`: one row per reminder reported, unique on (kind, subject, occurrence).
  `crm remind` claims an occurrence by inserting its row and commits after the output is
  written, so two runs never both report it and a run that dies first leaves it for the next.
- `remind_run`: when each `crm remind` ran and what it reported; `crm remind --status` and
  `crm today` read it to tell the user that the scheduler has stopped.

Two new tables and no change to an existing one, so no batch rebuild on SQLite.

Revision ID: 0006_reminders
Revises: 0005_listing_indexes
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from crm_cli.store.types import UTCDateTime

revision = "0006_reminders"
down_revision = "0005_listing_indexes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "remind_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("reported", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_remind_run_at"), "remind_run", ["at"], unique=False)
    op.create_table(
        "reminder_delivery",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("occurrence", UTCDateTime(), nullable=False),
        sa.Column("delivered_at", UTCDateTime(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["run_id"], ["remind_run.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("kind", "subject_id", "occurrence"),
    )
    op.create_index(
        op.f("ix_reminder_delivery_run_id"), "reminder_delivery", ["run_id"], unique=False
    )


def downgrade() -> None:
    op.drop_table("reminder_delivery")
    op.drop_table("remind_run")
