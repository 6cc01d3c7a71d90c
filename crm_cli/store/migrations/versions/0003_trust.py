"""Named constraints, record versions and the change journal.

- Every constraint gets its conventional name (store.models.NAMING_CONVENTION) on both
  dialects, so later migrations can address them. PostgreSQL renames in place; SQLite cannot
  rename a constraint, so each table is rebuilt by Alembic's batch mode (copy, drop, rename),
  which the migration environment runs with foreign keys off and checks before committing.
- Every record gets a `version` (1 for what exists), the guard against lost updates.
- `change_set` and `change_entry` hold the change journal that `crm history` and `crm undo` read.

Revision ID: 0003_trust
Revises: 0002_sales
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from crm_cli.store.ddl import VERSIONED, postgres_constraint_name, sqlite_search_triggers
from crm_cli.store.models import NAMING_CONVENTION
from crm_cli.store.types import UTCDateTime

revision = "0003_trust"
down_revision = "0002_sales"
branch_labels = None
depends_on = None

# Parents before children.
TABLES = (
    "user",
    "tag",
    "company",
    "company_tag",
    "contact",
    "contact_email",
    "contact_phone",
    "contact_tag",
    "pipeline",
    "stage",
    "deal",
    "deal_tag",
    "stage_change",
    "followup",
    "interaction",
    "feedback",
    "event",
)


def _version() -> sa.Column[int]:
    return sa.Column("version", sa.Integer(), nullable=False, server_default="1")


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for table in TABLES:
            with op.batch_alter_table(
                table, recreate="always", naming_convention=NAMING_CONVENTION
            ) as batch:
                if table in VERSIONED:
                    batch.add_column(_version())
        # Dropping the old tables dropped the search triggers with them.
        for table in ("contact", "company"):
            for statement in sqlite_search_triggers(table):
                op.execute(statement)
    else:
        _rename_postgres_constraints(bind)
        for table in VERSIONED:
            op.add_column(table, _version())
    _create_journal()


def _rename_postgres_constraints(bind: sa.engine.Connection) -> None:
    """PostgreSQL named the unnamed constraints `{table}_pkey`, `{table}_{cols}_key` and
    `{table}_{col}_fkey`; those get the conventional names. Names given by hand stay."""
    inspector = sa.inspect(bind)
    for table in TABLES:
        renames: list[tuple[str, str]] = []
        pk_name = inspector.get_pk_constraint(table).get("name") or ""
        if pk_name.endswith("_pkey"):
            renames.append((pk_name, postgres_constraint_name("pk", table, [])))
        for uq in inspector.get_unique_constraints(table):
            if uq["name"] and uq["name"].endswith("_key"):
                target = postgres_constraint_name("uq", table, list(uq["column_names"]))
                renames.append((uq["name"], target))
        for fk in inspector.get_foreign_keys(table):
            if fk["name"] and fk["name"].endswith("_fkey"):
                target = postgres_constraint_name(
                    "fk", table, list(fk["constrained_columns"]), fk["referred_table"]
                )
                renames.append((fk["name"], target))
        for old, new in renames:
            if old != new:
                op.execute(f'ALTER TABLE "{table}" RENAME CONSTRAINT "{old}" TO "{new}"')


def _create_journal() -> None:
    op.create_table(
        "change_set",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("command", sa.String(), nullable=False),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("undoes_id", sa.Integer(), nullable=True),
        sa.Column("undone_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["undoes_id"],
            ["change_set.id"],
            name="fk_change_set_undoes_id_change_set",
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["undone_by_id"],
            ["change_set.id"],
            name="fk_change_set_undone_by_id_change_set",
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user.id"], name="fk_change_set_user_id_user", ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_change_set"),
    )
    op.create_index("ix_change_set_at", "change_set", ["at"])
    op.create_index("ix_change_set_user_id", "change_set", ["user_id"])
    op.create_table(
        "change_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("change_set_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("entity", sa.String(), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(), nullable=False),
        sa.Column("old", sa.JSON(), nullable=True),
        sa.Column("new", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["change_set_id"],
            ["change_set.id"],
            name="fk_change_entry_change_set_id_change_set",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_change_entry"),
    )
    op.create_index("ix_change_entry_change_set_id", "change_entry", ["change_set_id"])
    op.create_index(
        "ix_change_entry_record", "change_entry", ["entity", "record_id", "change_set_id"]
    )


def downgrade() -> None:
    op.drop_table("change_entry")
    op.drop_table("change_set")
    for table in VERSIONED:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("version")
