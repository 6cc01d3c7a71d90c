"""Indexes for the listings that still read more than their page at a million rows.

- `followup list --done` (open and done, one owner's, by when each is due): with the owner
  first, then the effective due time, a page is the index read in order. The older
  owner index goes through `done_at` first, so with done ones included it could only
  bound the owner: 100,000 follow-ups sorted for a page of 50. Partial on live rows, so
  PostgreSQL reads the order from it too (it orders by an index only past columns fixed by
  an equality, and `deleted_at IS NULL` is none).
- `contact list --sort -created` (and `created`): live contacts by creation time, ties by
  id; every live contact was sorted for a page. Partial for the same reason.

Each new index is analysed at once, in full. Left without statistics, the next `PRAGMA
optimize` (store/engine.py) analyses its table with a row limit, and such sampled figures
count `deleted_at IS NULL` as a few hundred contacts out of 100,000: SQLite then sorted
every live contact by name's index rather than read this one (145 ms for a page).

The effective due time is an expression (store/ddl.py, FOLLOWUP_EFFECTIVE_DUE): SQLAlchemy
cannot reflect it, so a later migration that rebuilds `followup` in batch mode must create
`ix_followup_owner_live_due` again, like the two of 0005_listing_indexes.

Revision ID: 0014_listing_indexes
Revises: 0013_funnel_rollups
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from crm_cli.store.ddl import FOLLOWUP_EFFECTIVE_DUE

revision = "0014_listing_indexes"
down_revision = "0013_funnel_rollups"
branch_labels = None
depends_on = None

LIVE = "deleted_at IS NULL"

INDEXES: dict[str, tuple[str, list[str | sa.TextClause]]] = {
    "ix_followup_owner_live_due": ("followup", ["owner_id", sa.text(FOLLOWUP_EFFECTIVE_DUE), "id"]),
    "ix_contact_live_created": ("contact", ["created_at", "id"]),
}


def upgrade() -> None:
    for name, (table, columns) in INDEXES.items():
        op.create_index(
            name, table, columns, sqlite_where=sa.text(LIVE), postgresql_where=sa.text(LIVE)
        )
    sqlite = op.get_bind().dialect.name == "sqlite"
    for name, (table, _columns) in INDEXES.items():
        # SQLite analyses one index by its name; PostgreSQL samples the whole table.
        op.execute(f"ANALYZE {name if sqlite else table}")


def downgrade() -> None:
    for name, (table, _columns) in INDEXES.items():
        op.drop_index(name, table_name=table)
