"""The customer rollup's triggers survive removing all of a contact's won deals at once.

PostgreSQL runs a statement's row triggers once the statement is done. When one statement
removed every won deal of a contact (`crm undo` of an import of won deals does, by id ranges),
the first row's trigger looked for the contact's first and last won dates among the deals
left, found none and wrote NULL, which the table refuses: the undo failed. The dates now stay
as they are when no deal is left; the last row's trigger removes the contact's row.

The triggers are created again (on SQLite too, where each row's trigger runs before the next
row goes and the change makes no difference, so that both keep the same text). The rollup's
rows were right and are kept.

Revision ID: 0019_customer_dates
Revises: 0018_sales_order
"""

from __future__ import annotations

from alembic import op

from crm_cli.store import rollups

revision = "0019_customer_dates"
down_revision = "0018_sales_order"
branch_labels = None
depends_on = None


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    for statement in [*rollups.drop_statements(dialect), *rollups.create_statements(dialect)]:
        op.execute(statement)


def downgrade() -> None:
    # The earlier triggers keep the same rows, failing only where these succeed.
    pass
