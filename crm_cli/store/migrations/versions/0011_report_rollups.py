"""Rollups the reports read instead of a million deals, kept by database triggers.

`deal_close_rollup`: closed deals counted and summed by UTC close day, status, pipeline, owner,
source, currency and sales cycle; `deal_open_rollup`: deals in open stages by stage, owner,
currency and expected close, with their weighted value; `customer_won_rollup`: each contact's
won deals per currency (crm_cli/store/rollups.py says how the triggers keep them).
Filled here from the deals already stored.

Revision ID: 0011_report_rollups
Revises: 0010_report_indexes
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from crm_cli.store import rollups
from crm_cli.store.types import UTCDateTime

revision = "0011_report_rollups"
down_revision = "0010_report_indexes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deal_close_rollup",
        sa.Column("close_day", sa.Date(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("pipeline_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("owner_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("currency", sa.String(), nullable=False),
        sa.Column("cycle_days", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.Column("value_minor", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(*rollups.KEY, name="pk_deal_close_rollup"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "deal_open_rollup",
        sa.Column("stage_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("owner_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("currency", sa.String(), nullable=False),
        sa.Column("expected_close", sa.Date(), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.Column("value_minor", sa.BigInteger(), nullable=False),
        sa.Column("worth_minor", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(*rollups.OPEN_KEY, name="pk_deal_open_rollup"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "customer_won_rollup",
        sa.Column("contact_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("currency", sa.String(), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.Column("value_minor", sa.BigInteger(), nullable=False),
        sa.Column("first_closed", UTCDateTime(), nullable=False),
        sa.Column("last_closed", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("contact_id", "currency", name="pk_customer_won_rollup"),
        sqlite_with_rowid=False,
    )
    dialect = op.get_bind().dialect.name
    for statement in rollups.fill_statements(dialect) + rollups.create_statements(dialect):
        op.execute(statement)


def downgrade() -> None:
    for statement in rollups.drop_statements(op.get_bind().dialect.name):
        op.execute(statement)
    op.drop_table("customer_won_rollup")
    op.drop_table("deal_open_rollup")
    op.drop_table("deal_close_rollup")
