"""Indexes the reports read from, so each costs an index range, not the table.

- `sales` reads closed deals by status and close time, with what it sums and groups by
  (currency, value, created time, owner) in the same index: a period is one range of it.
- `segments` and `clv` group won deals by contact: in contact order from the index, with the
  currency, close time and value beside it, so no temporary sort of the deals.
- `funnel` walks each deal's stage changes in time order (what the next change was, for the
  days spent in a stage): in index order rather than sorted. It starts with the deal, so it
  replaces the single-column index on `stage_change.deal_id`.

Revision ID: 0010_report_indexes
Revises: 0009_sort_indexes
"""

from __future__ import annotations

from alembic import op

revision = "0010_report_indexes"
down_revision = "0009_sort_indexes"
branch_labels = None
depends_on = None

INDEXES: dict[str, tuple[str, list[str]]] = {
    "ix_deal_closed": (
        "deal",
        ["status", "closed_at", "deleted_at", "currency", "value_minor", "created_at", "owner_id"],
    ),
    "ix_deal_customer": (
        "deal",
        ["status", "contact_id", "currency", "deleted_at", "closed_at", "value_minor"],
    ),
    "ix_stage_change_deal_at": ("stage_change", ["deal_id", "changed_at", "id", "to_stage_id"]),
}


def upgrade() -> None:
    for name, (table, columns) in INDEXES.items():
        op.create_index(name, table, columns)
    op.drop_index("ix_stage_change_deal_id", table_name="stage_change")


def downgrade() -> None:
    op.create_index("ix_stage_change_deal_id", "stage_change", ["deal_id"])
    for name, (table, _columns) in INDEXES.items():
        op.drop_index(name, table_name=table)
