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

Revision ID: 0005_listing_indexes
Revises: 0004_search_deals
"""

from __future__ import annotations

from alembic import op

revision = "0005_listing_indexes"
down_revision = "0004_search_deals"
branch_labels = None
depends_on = None

INDEXES = {
    "ix_contact_live_name": ("contact", ["deleted_at", "name"]),
    "ix_company_live_name": ("company", ["deleted_at", "name"]),
    "ix_interaction_live_at": ("interaction", ["deleted_at", "occurred_at"]),
    "ix_feedback_live_created": ("feedback", ["deleted_at", "created_at"]),
    "ix_deal_owner_live": ("deal", ["owner_id", "deleted_at", "stage_id"]),
    "ix_deal_live_value": ("deal", ["deleted_at", "value_minor"]),
    "ix_followup_owner_open": ("followup", ["owner_id", "done_at", "deleted_at", "due_at"]),
    "ix_interaction_owner_at": ("interaction", ["owner_id", "deleted_at", "occurred_at"]),
}


def upgrade() -> None:
    for name, (table, columns) in INDEXES.items():
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, (table, _columns) in INDEXES.items():
        op.drop_index(name, table_name=table)
