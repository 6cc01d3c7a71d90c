"""Indexes that let a page of a listing cost the same at a hundred rows or a million.

Each listing reads live records (`deleted_at IS NULL`) in its own order, and counts its
matches up to a cap (services/common.py, COUNT_CAP). Without an index that starts with
`deleted_at` and goes on in that order, both read the table: the contact and company lists
(by name), the interaction log (newest first) and feedback (newest first, which had no index
at all and was sorted in full). The same indexes answer `--removed`.

`--owner` (and `--mine`, the default of the follow-up list) needs the owner first: a page's
count of one owner's open deals read 50,000 rows of the single-column owner index at a million
deals to find its 10,000 live ones; with the owner, liveness and stage in one index it reads
the index alone. `deal list --sort -value` (the biggest deals first) reads live deals in value
order instead of sorting all of them.

The follow-up list is ordered by when each comes due, a snooze included: an expression
(store/ddl.py, FOLLOWUP_EFFECTIVE_DUE), indexed as such. SQLAlchemy cannot reflect an index on
an expression, so a later migration that rebuilds `followup` in batch mode must create these
two again.

Revision ID: 0005_listing_indexes
Revises: 0004_search_deals
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from crm_cli.store.ddl import FOLLOWUP_EFFECTIVE_DUE

revision = "0005_listing_indexes"
down_revision = "0004_search_deals"
branch_labels = None
depends_on = None

# The follow-up list's order: when each is due, a snooze included (services/followups.py).
# Indexed as an expression, so a page of open follow-ups is read in order, not sorted.
EFFECTIVE_DUE = sa.text(FOLLOWUP_EFFECTIVE_DUE)

INDEXES: dict[str, tuple[str, list[str | sa.TextClause]]] = {
    "ix_contact_live_name": ("contact", ["deleted_at", "name"]),
    "ix_company_live_name": ("company", ["deleted_at", "name"]),
    "ix_interaction_live_at": ("interaction", ["deleted_at", "occurred_at"]),
    "ix_feedback_live_created": ("feedback", ["deleted_at", "created_at"]),
    "ix_deal_owner_live": ("deal", ["owner_id", "deleted_at", "stage_id"]),
    "ix_deal_live_value": ("deal", ["deleted_at", "value_minor"]),
    "ix_followup_owner_open": ("followup", ["owner_id", "done_at", "deleted_at", EFFECTIVE_DUE]),
    "ix_followup_open_effective": ("followup", ["done_at", "deleted_at", EFFECTIVE_DUE]),
    "ix_interaction_owner_at": ("interaction", ["owner_id", "deleted_at", "occurred_at"]),
}


def upgrade() -> None:
    for name, (table, columns) in INDEXES.items():
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, (table, _columns) in INDEXES.items():
        op.drop_index(name, table_name=table)
