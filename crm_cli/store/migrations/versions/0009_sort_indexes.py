"""`deal list --sort -value` read from its index on PostgreSQL too.

A listing sorted by a key breaks ties by id, and that tie-break now runs in the direction of
the first key (services/common.py, sort_spec; deal_views._order): the biggest deals first,
and among equal values the newest. With `id` as the index's last column, ORDER BY value DESC,
id DESC is the index read backwards; with id ascending after a descending value, PostgreSQL
sorted every open deal instead (1.41x the default listing at a million deals).

The index also becomes partial (live deals only) instead of starting with `deleted_at`:
PostgreSQL takes an order from an index only past columns fixed by an equality, and
`deleted_at IS NULL` is not one, so it never read (deleted_at, value_minor) in value order.
An index is dropped and created on both databases alike: no table is rebuilt.

Revision ID: 0009_sort_indexes
Revises: 0008_dupes
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_sort_indexes"
down_revision = "0008_dupes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_deal_live_value", table_name="deal")
    live = sa.text("deleted_at IS NULL")
    op.create_index(
        "ix_deal_live_value",
        "deal",
        ["value_minor", "id"],
        sqlite_where=live,
        postgresql_where=live,
    )


def downgrade() -> None:
    op.drop_index("ix_deal_live_value", table_name="deal")
    op.create_index("ix_deal_live_value", "deal", ["deleted_at", "value_minor"])
