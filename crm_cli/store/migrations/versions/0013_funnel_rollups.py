"""Rollups the funnel report reads instead of a million deals' stage histories.

`funnel_reach_rollup`: live deals by pipeline, UTC creation day and the set of stages they
visited; `funnel_stay_rollup`: their completed stays by pipeline, creation day, stage and whole
days (crm_cli/store/rollups.py says how the triggers keep them). Filled here from the deals and
stage changes already stored. `ix_deal_pipeline_created` finds a pipeline's deals created in
the hours of a day a period's local bound splits.

`activity_rollup`: live interactions by UTC day, owner and kind, and completed follow-ups by
day and owner, for the activity report; `ix_interaction_live_deal` gives the deals touched
since a cutoff (its idle deals) from the index alone.

Revision ID: 0013_funnel_rollups
Revises: 0012_segment_indexes
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from crm_cli.store import rollups

revision = "0013_funnel_rollups"
down_revision = "0012_segment_indexes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "funnel_reach_rollup",
        sa.Column("pipeline_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("created_day", sa.Date(), nullable=False),
        sa.Column("stages", sa.String(), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(*rollups.FUNNEL_REACH_KEY, name="pk_funnel_reach_rollup"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "funnel_stay_rollup",
        sa.Column("pipeline_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("created_day", sa.Date(), nullable=False),
        sa.Column("stage_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("days", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(*rollups.FUNNEL_STAY_KEY, name="pk_funnel_stay_rollup"),
        sqlite_with_rowid=False,
    )
    op.create_index(
        "ix_deal_pipeline_created",
        "deal",
        ["pipeline_id", "created_at", "deleted_at", "stage_id"],
    )
    op.create_table(
        "activity_rollup",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("owner_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(*rollups.ACTIVITY_KEY, name="pk_activity_rollup"),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_activity_owner", "activity_rollup", ["owner_id", "kind", "day", "n"])
    op.create_index(
        "ix_interaction_live_deal", "interaction", ["deleted_at", "occurred_at", "deal_id"]
    )
    dialect = op.get_bind().dialect.name
    for statement in [
        *rollups.funnel_fill_statements(dialect),
        *rollups.funnel_create_statements(dialect),
        *rollups.activity_fill_statements(dialect),
        *rollups.activity_create_statements(dialect),
    ]:
        op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for statement in rollups.funnel_drop_statements(dialect) + rollups.activity_drop_statements(
        dialect
    ):
        op.execute(statement)
    op.drop_index("ix_interaction_live_deal", table_name="interaction")
    op.drop_index("ix_activity_owner", table_name="activity_rollup")
    op.drop_table("activity_rollup")
    op.drop_index("ix_deal_pipeline_created", table_name="deal")
    op.drop_table("funnel_stay_rollup")
    op.drop_table("funnel_reach_rollup")
