"""Indexes on `customer_won_rollup` in each order the RFM scores rank customers by.

The segments report scores customers in quintiles. Rather than three window sorts over every
customer, it reads the four boundary customers of each quintile with a seek at an offset in
these indexes (currency, then the measure, then contact id to break ties), and scores every
customer with comparisons against them in one pass.

Revision ID: 0012_segment_indexes
Revises: 0011_report_rollups
"""

from __future__ import annotations

from alembic import op

revision = "0012_segment_indexes"
down_revision = "0011_report_rollups"
branch_labels = None
depends_on = None

INDEXES: dict[str, list[str]] = {
    # Every column: the pass that scores one currency's customers reads this index alone.
    "ix_customer_won_recency": [
        "currency",
        "last_closed",
        "contact_id",
        "n",
        "value_minor",
        "first_closed",
    ],
    "ix_customer_won_frequency": ["currency", "n", "contact_id"],
    "ix_customer_won_monetary": ["currency", "value_minor", "contact_id"],
}


def upgrade() -> None:
    for name, columns in INDEXES.items():
        op.create_index(name, "customer_won_rollup", columns)


def downgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, table_name="customer_won_rollup")
