"""The feedback report reads an index that holds every column it counts by.

`ix_feedback_report` (deleted_at, kind, score, status, resolved_at, created_at, category): the
report counts live answers per kind, score and status (and category or month when asked), so
both databases answer it from the index alone instead of reading every answer's row with its
text; over all time SQLite groups the answers in the index's order without sorting them.

Revision ID: 0020_feedback_report
Revises: 0019_customer_dates
"""

from __future__ import annotations

from alembic import op

revision = "0020_feedback_report"
down_revision = "0019_customer_dates"
branch_labels = None
depends_on = None

COLUMNS = ["deleted_at", "kind", "score", "status", "resolved_at", "created_at", "category"]


def upgrade() -> None:
    op.create_index("ix_feedback_report", "feedback", COLUMNS, unique=False)


def downgrade() -> None:
    op.drop_index("ix_feedback_report", table_name="feedback")
