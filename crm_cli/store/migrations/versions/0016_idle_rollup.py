"""The activity report's idle deals without reading the interactions of the window.

`deal_touch_rollup`: every live open deal with the later of its creation and its latest live
interaction (crm_cli/store/rollups.py says how the triggers keep it). Idle for N days = touched
before now - N days: one range of `ix_deal_touch_at`. Before, the report read every
interaction of the last N days that names a deal (a year of them: ~330 ms at a million).

Filled here from the deals and interactions already stored, then analysed, so the planners
know its size from the first report.

Revision ID: 0016_idle_rollup
Revises: 0015_search_and_board
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from crm_cli.store import rollups
from crm_cli.store.types import UTCDateTime

revision = "0016_idle_rollup"
down_revision = "0015_search_and_board"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deal_touch_rollup",
        sa.Column("deal_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("touched_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("deal_id", name="pk_deal_touch_rollup"),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_deal_touch_at", "deal_touch_rollup", ["touched_at", "deal_id"])
    dialect = op.get_bind().dialect.name
    for statement in [
        *rollups.touch_fill_statements(dialect),
        *rollups.touch_create_statements(dialect),
        "ANALYZE deal_touch_rollup",
    ]:
        op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for statement in rollups.touch_drop_statements(dialect):
        op.execute(statement)
    op.drop_index("ix_deal_touch_at", table_name="deal_touch_rollup")
    op.drop_table("deal_touch_rollup")
