"""The sales report reads `deal_close_rollup` in the order it groups by, on SQLite.

SQLite groups rows by sorting them. With sales cycles spread over months, a day's won deals
rarely share a row of the rollup (368,343 rows for 800,000 closed deals), and the report's
GROUP BY sorted all of them: 175 of the 195 ms `crm report sales` took at a million deals.
Two covering indexes (crm_cli/store/rollups.py, SQLITE_CLOSE_INDEXES) give the report the
rows in its grouping order, over all time and month by month, so they stream into their
groups. PostgreSQL groups by hashing; it gets no index and no change.

The month index is on an expression, which SQLAlchemy cannot reflect: a later migration that
rebuilds `deal_close_rollup` in batch mode must run `sqlite_close_index_statements` again.

Revision ID: 0018_sales_order
Revises: 0017_lost_cycle
"""

from __future__ import annotations

from alembic import op

from crm_cli.store import rollups

revision = "0018_sales_order"
down_revision = "0017_lost_cycle"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for statement in rollups.sqlite_close_index_statements():
        op.execute(statement)
    # Analysed at once, in full: SQLite weighs a covering index against the primary key's
    # range by these figures.
    for name in rollups.SQLITE_CLOSE_INDEXES:
        op.execute(f"ANALYZE {name}")


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for name in rollups.SQLITE_CLOSE_INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {name}")
