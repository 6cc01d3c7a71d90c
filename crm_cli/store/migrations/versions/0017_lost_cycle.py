"""Lost deals share their day's rows of `deal_close_rollup`.

The rollup keyed every closed deal by its sales cycle in whole days, but only won deals'
cycles are reported. With cycles spread over months (a million deals, cycles of 0-180 days), a
day's lost deals each took a row of their own: 644,524 rows for 800,426 closed deals, which the
sales report read whole. Lost deals now keep a cycle of 0: 343,032 rows, and the lost half
of them 21,184.

The triggers are created again with the new key and the rollup refilled from the deals.

Revision ID: 0017_lost_cycle
Revises: 0016_idle_rollup
"""

from __future__ import annotations

from alembic import op

from crm_cli.store import rollups

revision = "0017_lost_cycle"
down_revision = "0016_idle_rollup"
branch_labels = None
depends_on = None


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    for statement in [
        *rollups.drop_statements(dialect),
        *rollups.create_statements(dialect),
        *rollups.close_fill_statements(dialect),
        "ANALYZE deal_close_rollup",
    ]:
        op.execute(statement)


def downgrade() -> None:
    # The rows an earlier version reads are the same for won deals, and it never reads a lost
    # deal's cycle: nothing to take back.
    pass
